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
# Tiles used to spread a level over the frames of a stream: sides in model pixels, and
# their overlap, which must hold the largest face a level is meant to catch whole
# (larger ones belong to the next, coarser level).
TILE_SIZE = 320
TILE_OVERLAP = 96

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


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Starts of tiles of `tile` covering [0, length), neighbours overlapping >= `overlap`;
    the last tile is flush with the end."""
    if length <= tile:
        return [0]
    stride = tile - overlap
    count = math.ceil((length - tile) / stride) + 1
    # Spread the tiles evenly: every overlap is at least `overlap`.
    return [round(i * (length - tile) / (count - 1)) for i in range(count)]


def tile_grid(width: int, height: int, tile: int, overlap: int) -> list[Region]:
    """Overlapping tiles covering a width x height area, row by row."""
    tile_w, tile_h = min(tile, width), min(tile, height)
    return [(x, y, tile_w, tile_h)
            for y in tile_starts(height, tile_h, overlap)
            for x in tile_starts(width, tile_w, overlap)]


@dataclass(frozen=True)
class ScanJob:
    """One model call: a region of the frame, seen at a scale."""

    region: Region
    scale: float
    whole_level: bool  # the region is the whole frame: no inner tile borders

    @property
    def cost(self) -> float:
        """Model pixels, the budget unit (LiteRT's time is nearly linear in them)."""
        return self.region[2] * self.scale * self.region[3] * self.scale


def level_jobs(width: int, height: int, scale: float) -> list[ScanJob]:
    """A level as tiles of TILE_SIZE model pixels (one job when it fits in one tile)."""
    scaled_w, scaled_h = round(width * scale), round(height * scale)
    if scaled_w <= TILE_SIZE and scaled_h <= TILE_SIZE:
        return [ScanJob((0, 0, width, height), scale, True)]
    jobs = []
    for x, y, w, h in tile_grid(scaled_w, scaled_h, TILE_SIZE, TILE_OVERLAP):
        x0, y0 = math.floor(x / scale), math.floor(y / scale)
        x1, y1 = min(width, math.ceil((x + w) / scale)), min(height, math.ceil((y + h) / scale))
        jobs.append(ScanJob((x0, y0, x1 - x0, y1 - y0), scale, False))
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
        self.every_frame = level_jobs(width, height, scales[-1])
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
