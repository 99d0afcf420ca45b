"""The classifier's core: validated crops in, score vectors out, through the batcher."""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import TimeoutError as FuturesTimeout

import numpy as np

from services.classifier.augmentation import average_views, with_views
from services.classifier.batcher import DynamicBatcher
from services.classifier.model import ModelInfo
from services.common.crop import CROP_SIZE
from services.common.errors import Expired, InvalidInput

MAX_CROPS_PER_REQUEST = 256


class EmotionClassifier:
    def __init__(self, model, batcher: DynamicBatcher, tta: str = "none") -> None:
        """`model`: an EmotionModel (TensorFlow) or a LiteRTEmotionModel; `batcher` runs
        it through run_model_batch(model, tta)."""
        self.model = model
        self.batcher = batcher
        self.tta = tta

    @property
    def info(self) -> ModelInfo:
        return self.model.info

    def classify(self, crops: Sequence[np.ndarray], timeout_s: float | None) -> np.ndarray:
        """Scores (len(crops), labels), in order. Crops are (48, 48) uint8 arrays."""
        if not crops:
            raise InvalidInput("crops is empty: send at least one 48x48 GRAY8 crop")
        if len(crops) > MAX_CROPS_PER_REQUEST:
            raise InvalidInput(f"crops has {len(crops)} entries; at most {MAX_CROPS_PER_REQUEST} "
                               "per request: split the request")
        for index, crop in enumerate(crops):
            if crop.shape != (CROP_SIZE, CROP_SIZE) or crop.dtype != np.uint8:
                raise InvalidInput(f"crops[{index}] is {crop.dtype} {crop.shape}; expected "
                                   f"uint8 ({CROP_SIZE}, {CROP_SIZE})")
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        # Pre-process here, in the caller's thread, in parallel with other callers: the
        # batcher's single inference thread then only stacks and runs the model.
        inputs = self.model.preprocess(np.stack(crops))
        futures = self.batcher.submit(list(inputs), deadline)
        # Each crop's future in turn rather than concurrent.futures.wait: wait() builds and
        # installs a waiter object on every future, and the batcher's thread then runs its
        # bookkeeping under the GIL for every crop (docs/design-notes.md).
        scores = []
        try:
            for future in futures:
                left = None if deadline is None else max(0.0, deadline - time.monotonic())
                scores.append(future.result(timeout=left))
        except FuturesTimeout:
            for future in futures:
                future.cancel()
            raise Expired(f"deadline of {timeout_s:.3f} s passed before all crops were "
                          "scored") from None
        return np.stack(scores)


def run_model_batch(model, tta: str = "none"):
    """The batcher's run function: pre-processed crops -> a list of score vectors, each
    averaged over the crop's test-time views (`tta`), which run in the same model call."""
    def run(inputs: list[np.ndarray]) -> list[np.ndarray]:
        batch = np.stack(inputs)
        scores = model.predict_preprocessed(with_views(batch, tta))
        return list(average_views(scores, len(batch)))
    return run
