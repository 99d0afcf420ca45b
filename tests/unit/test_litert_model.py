"""The emotion model on LiteRT: the same answers as Keras, a reproducible conversion, and
a batcher whose workers each run it."""

from __future__ import annotations

import hashlib
import threading
import time

import cv2
import numpy as np
import pytest

from devkit.scenes import astronaut_face
from services.classifier.batcher import DynamicBatcher
from services.classifier.catalog import FER2013_LABELS
from services.classifier.conversion import (
    check_conversion,
    convert,
    converted_path,
    load_keras,
    recorded_sha256_path,
    tflite_for,
)
from services.classifier.core import EmotionClassifier, run_model_batch
from services.classifier.litert_model import LiteRTEmotionModel
from services.classifier.model import file_sha256
from services.classifier.runtime import choose_runtime
from services.classifier.tensorflow_model import TensorFlowEmotionModel
from services.common.errors import Expired
from tests.conftest import EMOTION_MODEL, ROOT

LABELS = list(FER2013_LABELS)


def face_crops(count: int, seed: int = 3) -> np.ndarray:
    """48x48 crops of the astronaut's face, shifted, rotated, scaled, lit and mirrored."""
    rng = np.random.default_rng(seed)
    face = astronaut_face()
    crops = []
    for _ in range(count):
        matrix = cv2.getRotationMatrix2D((face.shape[1] / 2, face.shape[0] / 2),
                                         rng.uniform(-25, 25), rng.uniform(0.8, 1.25))
        matrix[:, 2] += rng.uniform(-12, 12, 2)
        warped = cv2.warpAffine(face, matrix, face.shape[::-1], borderMode=cv2.BORDER_REFLECT)
        crop = cv2.resize(warped, (48, 48), interpolation=cv2.INTER_AREA).astype(np.float32)
        crop = np.clip(crop * rng.uniform(0.5, 1.4) + rng.normal(0, 6, crop.shape), 0, 255)
        crops.append(crop[:, ::-1] if rng.random() < 0.5 else crop)
    return np.stack(crops).astype(np.uint8)


@pytest.fixture(scope="module")
def litert_model():
    model = LiteRTEmotionModel(tflite_for(EMOTION_MODEL, ROOT / "models/converted"), LABELS,
                               "minus_one_to_one", max_batch_size=32)
    model.warm_up()
    return model


def test_litert_agrees_with_keras_on_500_crops(litert_model):
    keras_model = TensorFlowEmotionModel(EMOTION_MODEL, LABELS, "minus_one_to_one", max_batch_size=32)
    crops = face_crops(500)
    expected = np.concatenate([keras_model.predict(crops[i:i + 32]) for i in range(0, 500, 32)])
    actual = np.concatenate([litert_model.predict(crops[i:i + 32]) for i in range(0, 500, 32)])
    assert np.abs(actual - expected).max() <= 1e-3
    assert (actual.argmax(axis=1) == expected.argmax(axis=1)).all()
    assert len(set(expected.argmax(axis=1))) >= 2  # the crops are not all one easy case


def test_a_batch_between_bucket_sizes_gets_each_crops_own_scores(litert_model):
    # 3, 5, 7 and 31 crops run as chunks of bucket sizes (5 as 4 + 1), not padded.
    crops = face_crops(31, seed=5)
    one_by_one = np.concatenate([litert_model.predict(crops[i:i + 1]) for i in range(31)])
    for count in (3, 5, 7, 31):
        np.testing.assert_allclose(litert_model.predict(crops[:count]), one_by_one[:count],
                                   atol=1e-5)


def test_conversion_is_reproducible_and_its_sha256_recorded():
    cached = tflite_for(EMOTION_MODEL, ROOT / "models/converted")  # made by `make models`
    data = convert(load_keras(EMOTION_MODEL))
    assert data == cached.read_bytes()
    assert hashlib.sha256(data).hexdigest() == recorded_sha256_path(cached).read_text().strip()


def _dense_model(path, seed: int):
    import keras

    keras.utils.set_random_seed(seed)
    inputs = keras.Input((8, 8, 1))
    outputs = keras.layers.Dense(3, activation="softmax")(keras.layers.Flatten()(inputs))
    keras.Model(inputs, outputs).save(path)
    return path


def test_a_conversion_that_answers_otherwise_than_its_keras_model_is_refused(tmp_path):
    model, other = _dense_model(tmp_path / "a.keras", 1), _dense_model(tmp_path / "b.keras", 2)
    data = convert(load_keras(model))
    assert check_conversion(load_keras(model), data, model) <= 1e-5
    with pytest.raises(ValueError, match="differ from the Keras model's by"):
        check_conversion(load_keras(other), data, other)


def test_an_altered_cached_conversion_is_converted_again(tmp_path):
    model = _dense_model(tmp_path / "a.keras", 1)
    converted = tflite_for(model, tmp_path / "cache")
    original = converted.read_bytes()
    converted.write_bytes(original[:-1] + bytes([original[-1] ^ 0xFF]))
    assert tflite_for(model, tmp_path / "cache") == converted_path(file_sha256(model), tmp_path / "cache")
    assert converted.read_bytes() == original


def test_a_tflite_model_is_used_as_it_is(tmp_path, litert_model):
    converted = tflite_for(EMOTION_MODEL, ROOT / "models/converted")
    assert tflite_for(converted, tmp_path) == converted
    assert not any(tmp_path.iterdir())  # nothing converted, nothing cached


def test_auto_is_litert_without_a_gpu():
    assert choose_runtime("auto") == "litert"  # CI machines have no GPU
    assert choose_runtime("tensorflow") == "tensorflow"


def test_workers_each_run_the_model_and_keep_every_callers_order(litert_model):
    batcher = DynamicBatcher(run_model_batch(litert_model), max_batch_size=8,
                             max_queue_delay_ms=1, max_queue_size=1024, workers=2)
    batcher.start()
    try:
        crops = face_crops(200, seed=9)
        inputs = litert_model.preprocess(crops)
        futures = [batcher.submit(list(inputs[i:i + 5])) for i in range(0, 200, 5)]
        results = np.stack([f.result(timeout=30) for request in futures for f in request])
    finally:
        batcher.stop()
    alone = np.concatenate([litert_model.predict_preprocessed(inputs[i:i + 8])
                            for i in range(0, 200, 8)])
    np.testing.assert_allclose(results, alone, atol=1e-5)
    assert len(batcher._threads) == 2 and batcher.stats.items == 200


@pytest.mark.parametrize("runtime", ["litert", "tensorflow"])
def test_mirror_tta_averages_each_crop_with_its_mirror_on_either_runtime(runtime, litert_model):
    model = litert_model if runtime == "litert" else TensorFlowEmotionModel(
        EMOTION_MODEL, LABELS, "minus_one_to_one", max_batch_size=32)
    crops = face_crops(16, seed=11)
    scores = np.stack(run_model_batch(model, "mirror")(list(model.preprocess(crops))))
    expected = (model.predict(crops) + model.predict(crops[:, :, ::-1].copy())) / 2
    np.testing.assert_allclose(scores, expected, atol=1e-5)
    np.testing.assert_allclose(scores.sum(axis=1), 1.0, atol=1e-5)


def test_classify_answers_each_crop_in_order(litert_model):
    batcher = DynamicBatcher(run_model_batch(litert_model), 4, 0.0, 64, workers=2)
    batcher.start()
    try:
        crops = face_crops(9)
        scores = EmotionClassifier(litert_model, batcher).classify(list(crops), 5.0)
        np.testing.assert_allclose(scores, litert_model.predict(crops), atol=1e-6)
    finally:
        batcher.stop()


def test_classify_past_its_deadline_is_expired_and_its_crops_are_not_run(litert_model):
    started = threading.Event()
    release = threading.Event()
    run = run_model_batch(litert_model)

    def held_run(inputs):  # the model, held up until the test lets it go
        started.set()
        release.wait(5)
        return run(inputs)

    batcher = DynamicBatcher(held_run, 1, 0.0, 64)
    batcher.start()
    try:
        classifier = EmotionClassifier(litert_model, batcher)
        blocker = threading.Thread(target=classifier.classify, args=(list(face_crops(1)), 5.0))
        blocker.start()
        assert started.wait(5)
        with pytest.raises(Expired, match="deadline of 0.050 s passed"):
            classifier.classify(list(face_crops(3)), 0.05)
        release.set()
        blocker.join(5)
        deadline = time.monotonic() + 5
        while batcher.stats.cancelled < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert batcher.stats.cancelled == 3 and batcher.stats.items == 1
    finally:
        release.set()
        batcher.stop()
