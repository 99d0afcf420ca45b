"""The training pipeline's smoke test: a few steps on generated faces, never real data.
(`make train-emotion` does the real run; it is not part of `make test`.)"""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import cv2
import numpy as np

from tests.conftest import ROOT
from training.data import LABELS, load_ferplus, split


def write_ferplus(folder, count: int = 96) -> None:
    """Two kinds of generated "faces" FER+-style: a bright upper half voted happy, a bright
    lower half voted sad; plus one face whose majority is not-a-face (to be dropped)."""
    rng = np.random.default_rng(0)
    folder.mkdir()
    with open(folder / "label.csv", "w", newline="") as file:
        rows = csv.writer(file)
        for index in range(count):
            image = rng.integers(0, 60, (48, 48)).astype(np.uint8)
            happy = index % 2 == 0
            image[:24 if happy else 48, :] += 150 if happy else 0
            if not happy:
                image[24:, :] += 150
            name = f"fer{index:07d}.png"
            cv2.imwrite(str(folder / name), image)
            votes = [0, 9, 0, 1, 0, 0, 0, 0, 0, 0] if happy else [1, 0, 0, 9, 0, 0, 0, 0, 0, 0]
            rows.writerow([name, "(0, 0, 48, 48)", *votes])
        cv2.imwrite(str(folder / "noise.png"), rng.integers(0, 255, (48, 48)).astype(np.uint8))
        rows.writerow(["noise.png", "(0, 0, 48, 48)", 1, 0, 0, 0, 0, 0, 0, 0, 0, 9])


def test_votes_become_distributions_and_non_faces_are_dropped(tmp_path):
    write_ferplus(tmp_path / "ferplus", count=4)
    faces = load_ferplus(tmp_path / "ferplus")
    assert faces.images.shape == (4, 48, 48) and "noise.png" not in faces.names
    happy = faces.targets[0]
    assert happy[LABELS.index("happy")] == 0.9 and happy[LABELS.index("sad")] == np.float32(0.1)
    assert np.allclose(faces.targets.sum(axis=1), 1.0)
    train_idx, val_idx = split(100, seed=1)
    assert len(val_idx) == 10 and not set(train_idx) & set(val_idx)
    assert np.array_equal(split(100, seed=1)[1], val_idx)  # fixed by the seed


def test_a_few_steps_lower_the_loss_and_the_saved_model_loads(tmp_path):
    """Trained in its own process, as `make train-emotion` runs it: TensorFlow must start
    with TF_ENABLE_ONEDNN_OPTS=0 (see training/train.py), which this test process, having
    loaded TensorFlow already, cannot give it."""
    import keras

    write_ferplus(tmp_path / "ferplus")
    out = tmp_path / "model" / "tiny.keras"
    done = subprocess.run([sys.executable, "-m", "training.train", "--data", str(tmp_path / "ferplus"),
                           "--out", str(out), "--epochs", "6", "--batch-size", "16",
                           "--widths", "8,16", "--depths", "1", "--seed", "3"], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["loss"][-1] < card["loss"][0]
    assert card["labels"] == list(LABELS) and len(card["confusion_matrix"]) == len(LABELS)
    assert "confusion matrix" in done.stdout
    model = keras.models.load_model(out)
    scores = model.predict(np.zeros((2, 48, 48, 1), np.float32), verbose=0)
    assert scores.shape == (2, len(LABELS)) and np.allclose(scores.sum(axis=1), 1.0, atol=1e-5)


def test_the_widened_mini_xception_keeps_its_seven_emotions():
    """Fine-tuning starts from the model's own predictions: over the seven old labels the
    eight-emotion model gives exactly the old probabilities (the new one only adds to the
    softmax's denominator)."""
    import keras

    from tests.conftest import EMOTION_MODEL
    from training.model import from_mini_xception

    original = keras.models.load_model(EMOTION_MODEL, compile=False)
    widened = from_mini_xception(EMOTION_MODEL, len(LABELS))
    faces = np.random.default_rng(1).uniform(-1, 1, (4, 64, 64, 1)).astype(np.float32)
    old = original.predict(faces, verbose=0)
    new = widened.predict(faces, verbose=0)
    assert new.shape == (4, 8)
    np.testing.assert_allclose(new[:, :7] / new[:, :7].sum(axis=1, keepdims=True), old, atol=1e-5)
    assert LABELS[:7] == ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")


def test_an_erased_patch_is_one_rectangle_of_noise_within_bounds():
    from training.augment import erase_patch

    rng = np.random.default_rng(4)
    face = np.full((48, 48, 1), 5.0, np.float32)  # out of the noise's [-1, 1]
    for _ in range(50):
        erased = erase_patch(face, rng)[..., 0]
        rows, cols = np.nonzero(erased != 5.0)
        height, width = rows.max() - rows.min() + 1, cols.max() - cols.min() + 1
        assert 8 <= height <= 24 and 8 <= width <= 24  # a sixth to a half of each side
        assert len(rows) == height * width and np.all(np.abs(erased[rows, cols]) <= 1.0)
    assert np.all(face == 5.0)  # the input is left alone


def test_augmented_batches_keep_shape_range_and_targets_and_repeat_with_the_seed():
    from training.augment import augment_batch, batches

    rng = np.random.default_rng(0)
    faces = rng.uniform(-1, 1, (10, 48, 48, 1)).astype(np.float32)
    targets = np.eye(8, dtype=np.float32)[np.arange(10) % 8]
    out = augment_batch(faces, np.random.default_rng(1))
    assert out.shape == faces.shape and out.dtype == np.float32
    assert np.all(out >= -1.0) and np.all(out <= 1.0) and not np.array_equal(out, faces)
    first = next(batches(faces, targets, 4, seed=7))
    again = next(batches(faces, targets, 4, seed=7))
    assert np.array_equal(first[0], again[0]) and np.array_equal(first[1], again[1])
    # each target row still belongs to one of the faces (shuffled together)
    assert all(any(np.array_equal(row, t) for t in targets) for row in first[1])


def test_softened_faces_lose_fine_detail_and_keep_the_face():
    from training.augment import soften

    rng = np.random.default_rng(3)
    face = np.zeros((48, 48, 1), np.float32)
    face[12:36, 12:36] = 0.8  # the "face": a large shape
    face[::2, ::2] -= 0.3  # fine detail: a one-pixel grid
    detail = np.abs(np.diff(face[..., 0], axis=1)).mean()
    softened = [soften(face, rng) for _ in range(30)]
    for out in softened:
        assert out.shape == face.shape and out.dtype == np.float32
        assert face.min() - 1e-5 <= out.min() and out.max() <= face.max() + 1e-5
        assert abs(float(out[16:32, 16:32].mean() - face[16:32, 16:32].mean())) < 0.1
        assert np.abs(np.diff(out[..., 0], axis=1)).mean() <= detail + 1e-5
    assert min(np.abs(np.diff(out[..., 0], axis=1)).mean() for out in softened) < 0.6 * detail


def test_without_movement_a_face_is_kept_or_mirrored(monkeypatch):
    from training import augment

    for name in ("MAX_ROTATION_DEG", "MAX_SHIFT", "MAX_ZOOM"):
        monkeypatch.setattr(augment, name, 0.0)
    face = np.random.default_rng(0).uniform(-1, 1, (48, 48, 1)).astype(np.float32)
    rng = np.random.default_rng(2)
    moved = [augment.mirror_and_move(face, rng) for _ in range(20)]
    mirrored = [np.allclose(m, face[:, ::-1], atol=1e-5) for m in moved]
    kept = [np.allclose(m, face, atol=1e-5) for m in moved]
    assert all(a or b for a, b in zip(mirrored, kept)) and any(mirrored) and any(kept)


def test_the_network_takes_the_crop_and_checks_its_shape():
    import pytest

    from training.model import build_model

    model = build_model(len(LABELS), widths=(8, 16, 32), depths=(2, 1))
    assert model.input_shape == (None, 48, 48, 1) and model.output_shape == (None, len(LABELS))
    with pytest.raises(ValueError, match="one entry more"):
        build_model(len(LABELS), widths=(8, 16), depths=(2, 1))


def test_batch_norm_is_recalibrated_on_clean_faces_unless_frozen():
    import keras

    from training.model import build_model
    from training.train import recalibrate_batch_norm

    faces = np.random.default_rng(0).uniform(-1, 1, (64, 48, 48, 1)).astype(np.float32)
    model = build_model(len(LABELS), widths=(4, 8), depths=(1,))
    first = next(layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization))
    first.moving_mean.assign(np.full(4, 50.0, np.float32))  # as if drifted far away
    conv = model.layers[1]
    truth = np.asarray(conv(faces)).mean(axis=(0, 1, 2))  # what the statistics should be
    recalibrate_batch_norm(model, faces, seed=0, batches=80, batch_size=32)
    assert np.allclose(np.asarray(first.moving_mean), truth, atol=0.05)
    first.trainable = False
    first.moving_mean.assign(np.full(4, 50.0, np.float32))
    recalibrate_batch_norm(model, faces, seed=0, batches=5, batch_size=32)
    assert np.all(np.asarray(first.moving_mean) == 50.0)


def test_teacher_scores_follow_the_names_and_soften_with_the_temperature(tmp_path):
    import pytest

    from training.teacher import load_scores, save_scores, soft_targets

    probabilities = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6]], np.float32)
    save_scores(tmp_path / "scores.npz", ["a.png", "b.png", "c.png"], np.log(probabilities))
    loaded = load_scores(tmp_path / "scores.npz", ["c.png", "a.png"])
    np.testing.assert_allclose(soft_targets(loaded, 1.0), probabilities[[2, 0]], atol=1e-6)
    softer = soft_targets(loaded, 4.0)
    np.testing.assert_allclose(softer.sum(axis=1), 1.0, atol=1e-6)
    assert np.all(softer.max(axis=1) < probabilities[[2, 0]].max(axis=1))
    assert np.array_equal(softer.argmax(axis=1), [2, 0])  # flatter, same order
    with pytest.raises(SystemExit, match="no teacher scores for 1 faces"):
        load_scores(tmp_path / "scores.npz", ["a.png", "d.png"])


def test_a_teachers_scores_are_the_same_for_a_face_and_its_mirror():
    from training.model import build_teacher
    from training.teacher import teacher_log_probabilities

    teacher = build_teacher(len(LABELS), widths=(4, 8), depths=(1, 2))
    assert teacher.input_shape == (None, 48, 48, 1) and teacher.output_shape == (None, len(LABELS))
    faces = np.random.default_rng(2).uniform(-1, 1, (3, 48, 48, 1)).astype(np.float32)
    scores = teacher_log_probabilities(teacher, faces)
    np.testing.assert_allclose(scores, teacher_log_probabilities(teacher, faces[:, :, ::-1]), atol=1e-5)
    assert scores.shape == (3, len(LABELS)) and np.all(scores <= 0)


def test_training_targets_blend_the_votes_with_the_teachers_distribution():
    from training.teacher import blended_targets, soft_targets

    votes = np.eye(len(LABELS), dtype=np.float32)[[LABELS.index("happy"), LABELS.index("sad")]]
    teacher = np.log(np.full((2, len(LABELS)), 0.05, np.float32))
    teacher[:, LABELS.index("surprise")] = np.log(0.65)
    np.testing.assert_allclose(blended_targets(votes, teacher, 0.0, 2.0), votes)
    np.testing.assert_allclose(blended_targets(votes, teacher, 1.0, 2.0), soft_targets(teacher, 2.0),
                               atol=1e-6)
    half = blended_targets(votes, teacher, 0.5, 1.0)
    np.testing.assert_allclose(half.sum(axis=1), 1.0, atol=1e-6)
    assert half[0, LABELS.index("happy")] == np.float32(0.5 + 0.5 * 0.05)
    assert abs(half[1, LABELS.index("surprise")] - 0.325) < 1e-6


def test_training_with_a_teachers_scores_records_them_in_the_card(tmp_path):
    import keras

    from training.teacher import save_scores

    write_ferplus(tmp_path / "ferplus")
    faces = load_ferplus(tmp_path / "ferplus")
    save_scores(tmp_path / "scores.npz", faces.names, np.log(0.8 * faces.targets + 0.2 / len(LABELS)))
    out = tmp_path / "model" / "taught.keras"
    done = subprocess.run([sys.executable, "-m", "training.train", "--data", str(tmp_path / "ferplus"),
                           "--out", str(out), "--epochs", "4", "--batch-size", "16",
                           "--widths", "8,16", "--depths", "1", "--seed", "3",
                           "--teacher-scores", str(tmp_path / "scores.npz")], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["teacher"] == {"scores": str(tmp_path / "scores.npz"), "weight": 0.5, "temperature": 2.0}
    assert card["loss"][-1] < card["loss"][0]
    assert keras.models.load_model(out).output_shape == (None, len(LABELS))
