"""Where the scanner looks: pyramid levels, tiles within a level, and the order in which a
stream visits them. Pure geometry, no model.

A BlazeFace short-range pass finds faces of ~24-96 model pixels. A frame seen at scale s
therefore shows faces of ~32/s-96/s frame pixels; levels a factor LEVEL_STEP apart (less
than 96/32) overlap in what they catch, so every face size from the finest level's up to
the whole frame is someone's sweet spot.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# Scale ratio between neighbouring levels.
LEVEL_STEP = 2.5
# Tiles spreading a level over a stream's frames: at most this side in model pixels (~2 ms
# each, a slice beside the per-frame work), overlapping by TILE_OVERLAP so a face that
# small lies whole in some tile; a larger one cut by a border is the next level's.
TILE_SIZE = 256
TILE_OVERLAP = 64

Region = tuple[int, int, int, int]  # x, y, width, height in frame pixels


def pyramid_scales(width: int, height: int, finest: float, input_size: int) -> list[float]:
    """Scales from `finest` down by LEVEL_STEP; the last shows the whole frame in one
    input_size square, which catches faces as large as the frame."""
    whole = input_size / max(width, height)
    scales = []
    scale = finest
    while scale > whole * 1.0001:
        scales.append(scale)
        scale /= LEVEL_STEP
    scales.append(min(whole, finest))
    return scales


def finest_scale(width: int, height: int, min_face_px: int, max_scan_pixels: int) -> float:
    """Scale of the finest level: never upsampled, coarse enough that `min_face_px` faces
    are ~24 model pixels, and within the pixel budget of one frame."""
    return min(1.0, 24.0 / min_face_px, math.sqrt(max_scan_pixels / (width * height)))


def tile_spans(length: int, max_tile: int, overlap: int) -> list[tuple[int, int]]:
    """(start, length) of the fewest tiles no longer than `max_tile` that cover
    [0, length) with neighbours overlapping by `overlap` (or 1 px more, from rounding):
    all the same length, evenly spread, so no tile overlaps more than it must."""
    if length <= max_tile:
        return [(0, length)]
    count = math.ceil((length - overlap) / (max_tile - overlap))
    tile = math.ceil((length + (count - 1) * overlap) / count)
    return [(round(i * (length - tile) / (count - 1)), tile) for i in range(count)]


def tile_grid(width: int, height: int, max_tile: int, overlap: int) -> list[Region]:
    """Overlapping tiles covering a width x height area, row by row."""
    return [(x, y, w, h)
            for y, h in tile_spans(height, max_tile, overlap)
            for x, w in tile_spans(width, max_tile, overlap)]


@dataclass(frozen=True)
class ScanJob:
    """One model call: a region of the frame, seen at a scale."""

    region: Region
    scale: float
    whole_level: bool  # the region is the whole frame: no inner tile borders
    coarsest: bool = False  # the last level: it keeps faces of any size

    @property
    def cost(self) -> float:
        """Model pixels, the budget unit (LiteRT's time is nearly linear in them)."""
        return self.region[2] * self.scale * self.region[3] * self.scale


def level_jobs(width: int, height: int, scale: float, coarsest: bool = False) -> list[ScanJob]:
    """A level as tiles of TILE_SIZE model pixels (one job when it fits in one tile)."""
    scaled_w, scaled_h = round(width * scale), round(height * scale)
    if scaled_w <= TILE_SIZE and scaled_h <= TILE_SIZE:
        return [ScanJob((0, 0, width, height), scale, True, coarsest)]
    jobs = []
    for x, y, w, h in tile_grid(scaled_w, scaled_h, TILE_SIZE, TILE_OVERLAP):
        x0, y0 = math.floor(x / scale), math.floor(y / scale)
        x1, y1 = min(width, math.ceil((x + w) / scale)), min(height, math.ceil((y + h) / scale))
        jobs.append(ScanJob((x0, y0, x1 - x0, y1 - y0), scale, False, coarsest))
    return jobs


class StreamSchedule:
    """Spreads the full scan of a frame size over `frames` frames of a stream.

    The coarsest level (the whole frame in one model input, <1 ms) runs on every frame:
    a face close to the camera is found at once. The jobs of the other levels are dealt
    into `frames` groups of about equal cost (largest first, each to the cheapest group so
    far); frame n runs group n mod frames, so every tile of every level is visited once
    per `frames` frames.
    """

    def __init__(self, width: int, height: int, scales: list[float], frames: int) -> None:
        self.every_frame = level_jobs(width, height, scales[-1], coarsest=True)
        jobs = [job for scale in scales[:-1] for job in level_jobs(width, height, scale)]
        groups: list[list[ScanJob]] = [[] for _ in range(max(1, min(frames, len(jobs))))]
        costs = [0.0] * len(groups)
        for job in sorted(jobs, key=lambda j: -j.cost):
            cheapest = costs.index(min(costs))
            groups[cheapest].append(job)
            costs[cheapest] += job.cost
        self.groups = groups
        self._next = 0

    @property
    def period(self) -> int:
        """Frames it takes to visit every job once."""
        return len(self.groups)

    def next_jobs(self) -> list[ScanJob]:
        jobs = self.groups[self._next]
        self._next = (self._next + 1) % len(self.groups)
        return self.every_frame + jobs
