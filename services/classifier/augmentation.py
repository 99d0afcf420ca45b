"""Test-time augmentation: score each crop as several views and average the scores.

A crop's views (its mirror image; 2-pixel shifts) go through the model in the same batch
as the crop itself, so augmentation costs batch size, not extra model calls. Mirroring
suits faces (an expression reads the same mirrored); small shifts absorb the alignment's
last pixel or two of error.
"""

from __future__ import annotations

import numpy as np

TTA_MODES = ("none", "mirror", "mirror+shifts")
SHIFT_PX = 2
# (dy, dx) of the shifted views of "mirror+shifts".
_SHIFTS = ((-SHIFT_PX, 0), (SHIFT_PX, 0), (0, -SHIFT_PX), (0, SHIFT_PX))


def view_count(mode: str) -> int:
    return {"none": 1, "mirror": 2, "mirror+shifts": 2 + len(_SHIFTS)}[mode]


def crops_per_batch(max_batch_size: int, mode: str) -> int:
    """Crops whose views fit in one model call of at most max_batch_size inputs."""
    return max_batch_size // view_count(mode)


def mirrored(batch: np.ndarray) -> np.ndarray:
    """(N, H, W, C) flipped left to right."""
    return batch[:, :, ::-1]


def shifted(batch: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """(N, H, W, C) moved by (dy, dx) pixels, the edge row or column repeated into the gap."""
    height, width = batch.shape[1:3]
    pad = max(abs(dy), abs(dx))
    padded = np.pad(batch, ((0, 0), (pad, pad), (pad, pad), (0, 0)), mode="edge")
    return padded[:, pad - dy:pad - dy + height, pad - dx:pad - dx + width]


def with_views(batch: np.ndarray, mode: str) -> np.ndarray:
    """(N, ...) -> (V*N, ...): the batch, then each view of it in turn."""
    if mode == "none":
        return batch
    views = [batch, mirrored(batch)]
    if mode == "mirror+shifts":
        views += [shifted(batch, dy, dx) for dy, dx in _SHIFTS]
    return np.ascontiguousarray(np.concatenate(views))


def average_views(scores: np.ndarray, crops: int) -> np.ndarray:
    """(V*N, labels) laid out as with_views makes them -> (N, labels), each the mean over
    its crop's views (still a distribution: a mean of distributions)."""
    if len(scores) == crops:  # one view: numpy's mean is a real share of the batcher's time
        return scores
    return scores.reshape(-1, crops, scores.shape[-1]).mean(axis=0)
