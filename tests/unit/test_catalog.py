"""The named emotion models: each file is the one its checksum names, each converts for
LiteRT to known bytes, and each answers in the project's label vocabulary."""

from __future__ import annotations

import numpy as np
import pytest

from services.classifier.catalog import LABELS, MODELS
from services.classifier.conversion import KNOWN_CONVERSIONS, tflite_for
from services.classifier.litert_model import LiteRTEmotionModel
from services.classifier.model import file_sha256
from tests.conftest import ROOT


@pytest.mark.parametrize("name", sorted(MODELS))
def test_a_named_model_is_its_checksummed_file_and_converts_to_known_bytes(name):
    named = MODELS[name]
    assert file_sha256(ROOT / named.path) == named.sha256
    assert named.sha256 in KNOWN_CONVERSIONS  # `make models` checks what it converts
    converted = tflite_for(ROOT / named.path, ROOT / "models/converted")
    assert file_sha256(converted) == KNOWN_CONVERSIONS[named.sha256]
    model = LiteRTEmotionModel(converted, list(named.labels), "minus_one_to_one", 8)
    crops = np.random.default_rng(0).integers(0, 256, (3, 48, 48), dtype=np.uint8)
    scores = model.predict(crops)
    assert scores.shape == (3, len(named.labels))
    np.testing.assert_allclose(scores.sum(axis=1), 1.0, atol=1e-4)
    assert list(named.labels) == list(LABELS[:len(named.labels)])
