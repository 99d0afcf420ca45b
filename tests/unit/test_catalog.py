"""The named emotion models: each file is the one its checksum names, each converts for
LiteRT to a file whose sha256 is recorded beside it, and each answers in the project's
label vocabulary."""

from __future__ import annotations

import numpy as np
import pytest

from services.classifier.catalog import LABELS, MODELS
from services.classifier.conversion import recorded_sha256_path, tflite_for
from services.classifier.litert_model import LiteRTEmotionModel
from services.classifier.model import file_sha256
from tests.conftest import ROOT


@pytest.mark.parametrize("name", sorted(MODELS))
def test_a_named_model_is_its_checksummed_file_and_converts_to_a_recorded_file(name):
    named = MODELS[name]
    assert file_sha256(ROOT / named.path) == named.sha256
    converted = tflite_for(ROOT / named.path, ROOT / "models/converted")
    assert file_sha256(converted) == recorded_sha256_path(converted).read_text().strip()
    model = LiteRTEmotionModel(converted, list(named.labels), "minus_one_to_one", 8)
    crops = np.random.default_rng(0).integers(0, 256, (3, 48, 48), dtype=np.uint8)
    scores = model.predict(crops)
    assert scores.shape == (3, len(named.labels))
    np.testing.assert_allclose(scores.sum(axis=1), 1.0, atol=1e-4)
    assert list(named.labels) == list(LABELS[:len(named.labels)])
