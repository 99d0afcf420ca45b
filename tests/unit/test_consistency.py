"""The consistency fine-tune: the pipeline's crops of training faces, the loss that makes a
face and its crop read alike, and the stage run as `make train-emotion` runs it."""

from __future__ import annotations

import json
import subprocess
import sys

import cv2
import numpy as np
import pytest

from devkit.scenes import astronaut_face
from tests.conftest import ROOT
from tests.unit.test_training import write_ferplus
from training.data import LABELS, load_ferplus, split
from training.pipeline_crops import pipeline_crops


def test_symmetric_kl_is_zero_for_one_reading_and_grows_as_two_part():
    import tensorflow as tf

    from training.consistency import symmetric_kl

    p = np.array([[0.7, 0.2, 0.1], [0.5, 0.25, 0.25]], np.float32)
    q = np.array([[0.7, 0.2, 0.1], [0.25, 0.25, 0.5]], np.float32)
    value = symmetric_kl(tf.constant(p), tf.constant(q)).numpy()
    assert value[0] == pytest.approx(0.0, abs=1e-6)
    expected = np.sum(p[1] * np.log(p[1] / q[1])) + np.sum(q[1] * np.log(q[1] / p[1]))
    assert value[1] == pytest.approx(expected, rel=1e-4)
    assert value[1] == pytest.approx(symmetric_kl(tf.constant(q), tf.constant(p)).numpy()[1])


def test_the_pipeline_crops_a_pasted_face_back_to_a_face_framed_like_it():
    face = cv2.resize(astronaut_face(), (48, 48), interpolation=cv2.INTER_AREA)
    found, crops = pipeline_crops(np.stack([face] * 4), seed=5)
    assert len(found) >= 3 and crops.shape == (len(found), 48, 48) and crops.dtype == np.uint8
    for crop in crops:  # rolled, relit and blurred in the frame; aligned back upright
        assert np.corrcoef(crop.ravel().astype(float), face.ravel().astype(float))[0, 1] > 0.6


def _train_tiny(folder, out):
    done = subprocess.run([sys.executable, "-m", "training.train", "--data", str(folder),
                           "--out", str(out), "--epochs", "2", "--batch-size", "16",
                           "--widths", "8,16", "--depths", "1", "--seed", "3"], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]


def _fine_tune(folder, crops, model, out):
    return subprocess.run([sys.executable, "-m", "training.consistency", "--data", str(folder),
                           "--crops", str(crops), "--model", str(model), "--out", str(out),
                           "--epochs", "2"], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)


def test_the_fine_tune_records_itself_in_the_card_and_refuses_validation_faces(tmp_path):
    import keras

    folder = tmp_path / "ferplus"
    write_ferplus(folder, count=300)
    model = tmp_path / "tiny.keras"
    _train_tiny(folder, model)
    faces = load_ferplus(folder)
    train_idx, val_idx = split(len(faces.images))
    # Stand-in crops: the training faces moved by a pixel, as a resampled crop would be.
    crops = np.roll(faces.images[train_idx], 1, axis=2)
    np.savez(tmp_path / "crops.npz", index=train_idx, crops=crops)
    out = tmp_path / "tuned.keras"
    done = _fine_tune(folder, tmp_path / "crops.npz", model, out)
    assert done.returncode == 0, done.stderr[-3000:]
    card = json.loads(out.with_suffix(".json").read_text())
    stage = card["consistency_fine_tune"]
    assert [row["epoch"] for row in stage["history"]] == [0, 1] and stage["weight"] == 1.0
    assert card["labels"] == list(LABELS)  # the trained model's card, carried over
    scores = keras.models.load_model(out).predict(np.zeros((2, 48, 48, 1), np.float32), verbose=0)
    assert scores.shape == (2, len(LABELS)) and np.allclose(scores.sum(axis=1), 1.0, atol=1e-5)

    np.savez(tmp_path / "leaky.npz", index=np.concatenate([train_idx, val_idx[:1]]),
             crops=np.concatenate([crops, faces.images[val_idx[:1]]]))
    refused = _fine_tune(folder, tmp_path / "leaky.npz", model, tmp_path / "leaky.keras")
    assert refused.returncode != 0 and "validation faces" in refused.stderr
