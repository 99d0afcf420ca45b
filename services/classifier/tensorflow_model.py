"""The emotion model on TensorFlow: loading, pre-processing exactly as trained, compiled
inference. The runtime for GPUs (litert_model.py is the one for CPUs).

Keras' `predict` is slow for small inputs and not thread-safe, so the model runs through
one `tf.function` over `model(x, training=False)`. Batches are padded up to a few bucket
sizes, which bounds the number of traced graphs; all buckets are traced at warm-up, so
serving never retraces.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from services.classifier.model import (
    ModelInfo,
    bucket_sizes,
    checked_input_shape,
    file_version,
    pad_to_bucket,
    preprocess_crops,
)
from services.common.crop import CROP_SIZE

log = logging.getLogger(__name__)


class TensorFlowEmotionModel:
    """A Keras classifier with an (H, W, C) input and a softmax over `labels`."""

    def __init__(self, path: str | Path, labels: list[str], pixel_scaling: str,
                 max_batch_size: int, jit_compile: bool = False, inference_threads: int = 0,
                 name: str | None = None) -> None:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import keras  # noqa: PLC0415 - TensorFlow loads only in the classifier process
        import tensorflow as tf  # noqa: PLC0415

        # TensorFlow would take every core for one batch; on a small machine that starves
        # the RPC threads feeding it (docs/design-notes.md).
        # Must happen before TensorFlow creates its thread pools (the first op below).
        threads = inference_threads or max(1, (os.cpu_count() or 2) // 2)
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(1)
        except RuntimeError:  # a second model in one process: the pools already exist
            log.warning("TensorFlow already initialized; inference_threads=%d not applied", threads)

        path = Path(path)
        self._model = keras.models.load_model(path, compile=False)
        input_shape = checked_input_shape(path, tuple(self._model.input_shape[1:]),
                                          self._model.output_shape[-1], labels)
        self._pixel_scaling = pixel_scaling
        self.buckets = bucket_sizes(max_batch_size)
        self.traces = 0
        device = "GPU" if tf.config.list_physical_devices("GPU") else "CPU"
        self.info = ModelInfo(name or path.stem, file_version(path), tuple(labels), input_shape, device)

        def infer(batch):
            self.traces += 1  # runs only while tracing
            return self._model(batch, training=False)

        self._infer = tf.function(infer, jit_compile=jit_compile, reduce_retracing=False)

    def preprocess(self, crops: np.ndarray) -> np.ndarray:
        """(N, 48, 48) uint8 grayscale -> (N, H, W, C) float32 as the model was trained."""
        return preprocess_crops(crops, self.info.input_shape, self._pixel_scaling)

    def predict(self, crops: np.ndarray) -> np.ndarray:
        """Scores (N, labels) for (N, 48, 48) uint8 crops, N <= the largest bucket."""
        return self.predict_preprocessed(self.preprocess(crops))

    def predict_preprocessed(self, batch: np.ndarray) -> np.ndarray:
        """Scores (N, labels) for an (N, H, W, C) batch from `preprocess`."""
        return np.asarray(self._infer(pad_to_bucket(batch, self.buckets)))[:len(batch)]

    def warm_up(self) -> None:
        """Trace every bucket once so no request pays for tracing."""
        tf_log = logging.getLogger("tensorflow")
        level = tf_log.level
        tf_log.setLevel(logging.ERROR)  # one trace per bucket is intended, not a warning
        try:
            for size in self.buckets:
                self.predict(np.zeros((size, CROP_SIZE, CROP_SIZE), np.uint8))
        finally:
            tf_log.setLevel(level)
        log.info("model warmed", extra={"buckets": self.buckets, "traces": self.traces,
                                        "device": self.info.device})
