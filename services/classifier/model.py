"""The emotion model on TensorFlow: loading, pre-processing exactly as trained, compiled
inference. The runtime for GPUs (litert_model.py is the one for CPUs).

Keras' `predict` is slow for small inputs and not thread-safe, so the model runs through
one `tf.function` over `model(x, training=False)`. Batches are padded up to a few bucket
sizes, which bounds the number of traced graphs; all buckets are traced at warm-up, so
serving never retraces.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from services.common.crop import CROP_SIZE

log = logging.getLogger(__name__)

# FER2013 faces, as the detector sends them.

# How a model expects its 0..255 pixels scaled.
PIXEL_SCALINGS = {
    "minus_one_to_one": lambda x: x / 127.5 - 1.0,  # mini-XCEPTION (fer): x/127.5 - 1
    "zero_to_one": lambda x: x / 255.0,
    "raw": lambda x: x,
}


def bucket_sizes(max_batch_size: int) -> list[int]:
    """Powers of two up to max_batch_size, and max_batch_size itself."""
    sizes, size = [], 1
    while size < max_batch_size:
        sizes.append(size)
        size *= 2
    sizes.append(max_batch_size)
    return sizes


def bucket_for(count: int, buckets: list[int]) -> int:
    return next(size for size in buckets if size >= count)


@dataclass(frozen=True)
class ModelInfo:
    name: str
    version: str
    labels: tuple[str, ...]
    input_shape: tuple[int, int, int]  # height, width, channels
    device: str


def file_sha256(path: Path) -> str:
    """The file's sha256, read once per version of the file: start-up asks for it three
    times (the settings' check of a named model, the conversion cache, the version)."""
    stat = Path(path).stat()
    return _sha256(str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=16)
def _sha256(path: str, size: int, mtime_ns: int) -> str:  # size and mtime: the cache key
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def file_version(path: Path) -> str:
    """A model's version: the start of its file's sha256."""
    return file_sha256(path)[:12]


def checked_input_shape(source: str | Path, input_shape: tuple, outputs: int,
                        labels: list[str]) -> tuple[int, int, int]:
    """The model's (height, width, channels), once its input and output fit a classifier of
    48x48 gray crops into `labels`; ValueError naming the file otherwise."""
    if len(input_shape) != 3 or input_shape[2] not in (1, 3):
        raise ValueError(f"{source}: input shape {input_shape} is not (height, width, 1 or 3)")
    if outputs != len(labels):
        raise ValueError(f"{source} has {outputs} outputs but {len(labels)} labels were given: "
                         f"{','.join(labels)}")
    return int(input_shape[0]), int(input_shape[1]), int(input_shape[2])


def preprocess_crops(crops: np.ndarray, input_shape: tuple[int, int, int],
                     pixel_scaling: str) -> np.ndarray:
    """(N, 48, 48) uint8 grayscale -> (N, H, W, C) float32 as the model was trained."""
    height, width, channels = input_shape
    if crops.shape[1:] != (height, width):
        crops = np.stack([cv2.resize(c, (width, height), interpolation=cv2.INTER_LINEAR)
                          for c in crops])
    batch = PIXEL_SCALINGS[pixel_scaling](crops.astype(np.float32))[..., np.newaxis]
    if channels == 3:
        batch = np.repeat(batch, 3, axis=-1)
    return batch


def bucket_chunks(count: int, buckets: list[int]) -> list[int]:
    """`count` as a sum of bucket sizes, largest first (5 -> [4, 1]); `buckets` holds 1."""
    chunks = []
    while count > 0:
        size = max(size for size in buckets if size <= count)
        chunks.append(size)
        count -= size
    return chunks


def pad_to_bucket(batch: np.ndarray, buckets: list[int]) -> np.ndarray:
    """The batch padded with zeros up to the smallest bucket that holds it."""
    padded = bucket_for(len(batch), buckets)
    if padded == len(batch):
        return batch
    return np.concatenate([batch, np.zeros((padded - len(batch), *batch.shape[1:]), np.float32)])


class EmotionModel:
    """A Keras classifier with an (H, W, C) input and a softmax over `labels`."""

    def __init__(self, path: str | Path, labels: list[str], pixel_scaling: str,
                 max_batch_size: int, jit_compile: bool = False, inference_threads: int = 0,
                 name: str | None = None) -> None:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import keras  # noqa: PLC0415 - TensorFlow loads only in the classifier process
        import tensorflow as tf  # noqa: PLC0415

        # TensorFlow would take every core for one batch; on a small machine that starves
        # the RPC threads feeding it (2 cores: 978 vs 773 faces/s served, 16 callers).
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
