"""What every emotion-model runtime shares: the contract (EmotionRuntime), the model's
facts, pre-processing exactly as trained, batch buckets, file versions. The runtimes:
tensorflow_model.py (GPUs) and litert_model.py (CPUs)."""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

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


class EmotionRuntime(Protocol):
    """An emotion model ready to serve, whatever runs it."""

    info: ModelInfo
    buckets: list[int]

    def preprocess(self, crops: np.ndarray) -> np.ndarray:
        """(N, 48, 48) uint8 grayscale -> the model's float32 input (preprocess_crops)."""

    def predict(self, crops: np.ndarray) -> np.ndarray:
        """Scores (N, labels) for (N, 48, 48) uint8 crops."""

    def predict_preprocessed(self, batch: np.ndarray) -> np.ndarray:
        """Scores (N, labels) for a batch from `preprocess`."""

    def warm_up(self) -> None:
        """Run every batch shape once so no request pays for the first run."""
