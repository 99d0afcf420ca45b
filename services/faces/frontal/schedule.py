"""Where the frontal scan looks: pyramid levels, tiles within a level, and the order in
which a stream visits them. Policy only: no model, no pixels.

A frame seen at scale s shows faces of ~24/s-96/s frame pixels to BlazeFace; levels
`level_step` apart overlap in what they catch, so every face size from the finest level's
up to the whole frame is someone's sweet spot.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from services.faces.frontal.tuning import FrontalTuning
from services.faces.geometry import Region, even_spans, tile_spans


def pyramid_scales(width: int, height: int, finest: float, input_size: int,
                   level_step: float) -> list[float]:
    """Scales from `finest` down by `level_step`; the last shows the whole frame in one
    input_size square, which catches faces as large as the frame."""
    whole = input_size / max(width, height)
    scales = []
    scale = finest
    while scale > whole * 1.0001:
        scales.append(scale)
        scale /= level_step
    scales.append(min(whole, finest))
    return scales


def finest_scale(width: int, height: int, min_face_px: int, max_scan_pixels: int,
                 smallest_model_face_px: float, over_budget_scale: float = 1.0) -> float:
    """Scale of the finest level: never upsampled, coarse enough that `min_face_px` faces
    are `smallest_model_face_px` model pixels, and within the pixel budget of one frame; a
    frame over that budget is scanned no finer than `over_budget_scale` either."""
    budget_scale = math.sqrt(max_scan_pixels / (width * height))
    if budget_scale < 1.0:
        budget_scale = min(budget_scale, over_budget_scale)
    return min(1.0, smallest_model_face_px / min_face_px, budget_scale)


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


def level_jobs(width: int, height: int, scale: float, tuning: FrontalTuning,
               coarsest: bool = False, grid: tuple[int, int] | None = None) -> list[ScanJob]:
    """A level as tiles of `tuning.tile_model_px` model pixels (one job when it fits in
    one tile), or as a `grid` of columns x rows of equal tiles."""
    side, overlap = tuning.tile_model_px, tuning.tile_overlap_model_px
    scaled_w, scaled_h = round(width * scale), round(height * scale)
    if grid is None:
        columns, rows = tile_spans(scaled_w, side, overlap), tile_spans(scaled_h, side, overlap)
    else:
        columns, rows = even_spans(scaled_w, grid[0], overlap), even_spans(scaled_h, grid[1],
                                                                           overlap)
    if len(columns) == len(rows) == 1:
        return [ScanJob((0, 0, width, height), scale, True, coarsest)]
    jobs = []
    for y, h in rows:
        for x, w in columns:
            x0, y0 = math.floor(x / scale), math.floor(y / scale)
            x1, y1 = min(width, math.ceil((x + w) / scale)), min(height, math.ceil((y + h) / scale))
            jobs.append(ScanJob((x0, y0, x1 - x0, y1 - y0), scale, False, coarsest))
    return jobs


def level_tilings(width: int, height: int, scale: float,
                  tuning: FrontalTuning) -> list[list[ScanJob]]:
    """The ways a stream may cut a level: its tiles of tile_model_px first, then every grid
    of up to one more column or row whose tiles are at most stretched_tile_model_px (a
    level that fits one tile stays whole)."""
    default = level_jobs(width, height, scale, tuning)
    tilings = [default]
    if len(default) == 1:
        return tilings
    overlap, largest = tuning.tile_overlap_model_px, tuning.stretched_tile_model_px
    counts = []
    for length in (round(width * scale), round(height * scale)):
        fewest = 1 if length <= largest else math.ceil((length - overlap) / (largest - overlap))
        usual = len(tile_spans(length, tuning.tile_model_px, overlap))
        counts.append(range(fewest, usual + 2))
    for columns in counts[0]:
        for rows in counts[1]:
            jobs = level_jobs(width, height, scale, tuning, grid=(columns, rows))
            if len(jobs) > 1 and jobs != default:
                tilings.append(jobs)
    return tilings


def dealt(jobs: list[ScanJob], frames: int) -> list[list[ScanJob]]:
    """Jobs dealt into `frames` groups (fewer when there are fewer jobs) of about equal
    cost: largest first, each to the cheapest group so far."""
    groups: list[list[ScanJob]] = [[] for _ in range(max(1, min(frames, len(jobs))))]
    costs = [0.0] * len(groups)
    for job in sorted(jobs, key=lambda j: -j.cost):
        cheapest = costs.index(min(costs))
        groups[cheapest].append(job)
        costs[cheapest] += job.cost
    return groups


def _costliest_then_total(groups: list[list[ScanJob]]) -> tuple[float, float]:
    costs = [sum(job.cost for job in group) for group in groups]
    return max(costs), sum(costs)


class StreamSchedule:
    """Spreads the full scan of a frame size over `frames` frames of a stream.

    The coarsest level (the whole frame in one model input, the cheapest call) runs on
    every frame: a face close to the camera is found at once. The jobs of the other levels
    are dealt into `frames` groups of about equal cost; frame n runs group n mod frames, so
    every tile of every level is visited once per `frames` frames. The finest level (most
    of the tiles) is cut the way whose costliest frame costs least: 640x480 over 9 frames
    gets 8 tiles and its second level, one job a frame, rather than 9 and one frame of two.
    """

    def __init__(self, width: int, height: int, scales: list[float], frames: int,
                 tuning: FrontalTuning) -> None:
        self.every_frame = level_jobs(width, height, scales[-1], tuning, coarsest=True)
        coarser = [job for scale in scales[1:-1] for job in level_jobs(width, height, scale,
                                                                       tuning)]
        tilings = level_tilings(width, height, scales[0], tuning) if len(scales) > 1 else [[]]
        # The first of equal deals wins: the usual tiles unless another cut does better.
        self.groups = min((dealt(finest + coarser, frames) for finest in tilings),
                          key=_costliest_then_total)
        self._next = 0

    @property
    def period(self) -> int:
        """Frames it takes to visit every job once."""
        return len(self.groups)

    def next_jobs(self) -> list[ScanJob]:
        jobs = self.groups[self._next]
        self._next = (self._next + 1) % len(self.groups)
        return self.every_frame + jobs
