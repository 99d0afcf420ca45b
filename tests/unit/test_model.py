"""The real emotion model: pre-processing as trained, buckets, no retracing."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from services.classifier.catalog import FER2013_LABELS
from services.classifier.model import (
    bucket_chunks,
    bucket_for,
    bucket_sizes,
    file_sha256,
)
from services.classifier.tensorflow_model import TensorFlowEmotionModel
from tests.conftest import EMOTION_MODEL

LABELS = list(FER2013_LABELS)


@pytest.fixture(scope="module")
def model():
    loaded = TensorFlowEmotionModel(EMOTION_MODEL, LABELS, "minus_one_to_one", max_batch_size=16)
    loaded.warm_up()
    return loaded


def test_bucket_sizes():
    assert bucket_sizes(64) == [1, 2, 4, 8, 16, 32, 64]
    assert bucket_sizes(48) == [1, 2, 4, 8, 16, 32, 48]
    assert bucket_sizes(1) == [1]
    assert [bucket_for(n, bucket_sizes(48)) for n in (1, 3, 17, 48)] == [1, 4, 32, 48]


def test_a_count_between_buckets_splits_into_buckets_largest_first():
    buckets = bucket_sizes(48)
    assert bucket_chunks(5, buckets) == [4, 1]
    assert bucket_chunks(47, buckets) == [32, 8, 4, 2, 1]
    assert bucket_chunks(48, buckets) == [48]
    assert bucket_chunks(16, buckets) == [16]
    assert all(sum(bucket_chunks(n, buckets)) == n for n in range(1, 49))


def test_model_info(model):
    assert model.info.input_shape == (64, 64, 1)
    assert model.info.labels == tuple(LABELS)
    assert model.info.name == "emotion_model"
    assert model.info.version == "59534287fdfb"
    assert model.info.device in ("CPU", "GPU")


def test_preprocessing_resizes_48_to_64_and_scales_to_minus_one_one(model):
    crops = np.zeros((2, 48, 48), np.uint8)
    crops[1] = 255
    crops[1, :24] = 0  # top half black
    batch = model.preprocess(crops)
    assert batch.shape == (2, 64, 64, 1) and batch.dtype == np.float32
    assert batch[0].min() == batch[0].max() == -1.0
    assert batch[1, 0, 0, 0] == -1.0 and batch[1, -1, -1, 0] == 1.0
    assert batch.min() >= -1.0 and batch.max() <= 1.0


def test_scores_are_probabilities_and_padding_does_not_change_them(model):
    rng = np.random.default_rng(3)
    crops = rng.integers(0, 256, (3, 48, 48), dtype=np.uint8)
    together = model.predict(crops)  # padded to the bucket of 4
    alone = np.concatenate([model.predict(crops[i:i + 1]) for i in range(3)])
    assert together.shape == (3, 7)
    np.testing.assert_allclose(together.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_serving_never_retraces_after_warm_up(model):
    traces = model.traces
    assert traces == len(model.buckets)
    for count in (1, 3, 5, 9, 16, 2, 7):
        model.predict(np.zeros((count, 48, 48), np.uint8))
    assert model.traces == traces


def test_label_count_must_match_the_model():
    with pytest.raises(ValueError, match="7 outputs but 3 labels"):
        TensorFlowEmotionModel(EMOTION_MODEL, ["a", "b", "c"], "minus_one_to_one", max_batch_size=4)


def test_a_rewritten_model_file_is_hashed_afresh(tmp_path):
    # file_sha256 reads a file once per version (start-up asks three times); a file
    # replaced under the same name must not keep the old version's hash.
    path = tmp_path / "model.keras"
    path.write_bytes(b"first")
    assert file_sha256(path) == hashlib.sha256(b"first").hexdigest()
    path.write_bytes(b"second, longer")
    assert file_sha256(path) == hashlib.sha256(b"second, longer").hexdigest()
