"""What an any-pose stream's frame looks at beyond the frontal scan: policy only, no
model and no pixels.

The first frame of a size gets the full detection. After it, CenterFace's discovery pass
over the downscaled frame runs once every `stream_scan_frames` frames, a large frame's
tiles are looked through one every `tile_period` frames, and the faces only CenterFace
keeps are re-checked every frame, or, in a crowd, every `recheck_frames` frames. A frame
with the discovery pass leaves the frontal scan's share to the others, which spread it over
one frame fewer: no frame pays for both, and the frontal scan still covers its pyramid
within `stream_scan_frames` frames.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.faces.any_pose.tuning import AnyPoseTuning
from services.faces.detection import KnownFace
from services.faces.geometry import Region, scale_within, tile_grid


@dataclass(frozen=True)
class FramePlan:
    first: bool  # the first frame of its size: the full detection, as an image gets
    discovery: bool  # CenterFace's pass over the whole, downscaled frame
    tile: Region | None  # a tile CenterFace looks through at tile_scale
    frame: int = 0  # frames since the first of this size
    frontal_scan: bool = True  # the frontal scan runs its share of the pyramid


class AnyPoseSchedule:
    """One stream's schedule; `plan` is called once per frame, in frame order."""

    def __init__(self, *, stream_scan_frames: int, stream_pixels: int,
                 tuning: AnyPoseTuning) -> None:
        self.stream_scan_frames = stream_scan_frames
        self.stream_pixels = stream_pixels
        self.tuning = tuning
        self._frame_size: tuple[int, int] | None = None
        self._frame = 0
        self._tiles: list[Region] = []

    def tiles_for(self, width: int, height: int) -> list[Region]:
        """The tiles a stream of width x height frames looks through in turn (none when its
        whole-frame pass already sees it at tile_scale)."""
        if scale_within(width, height, self.stream_pixels) >= self.tuning.tile_scale:
            return []
        return tile_grid(width, height, self.tuning.tile_side_px, self.tuning.tile_overlap_px)

    def plan(self, width: int, height: int) -> FramePlan:
        if self._frame_size != (width, height):  # first frame, or the source changed size
            self._frame_size, self._frame = (width, height), 0
            self._tiles = self.tiles_for(width, height)
            return FramePlan(first=True, discovery=True, tile=None, frame=0)
        self._frame += 1
        period = self.tuning.tile_period
        tile = None
        if self._tiles and self._frame % period == 0:
            tile = self._tiles[(self._frame // period) % len(self._tiles)]
        discovery = self._frame % self.stream_scan_frames == 0
        return FramePlan(first=False, discovery=discovery, tile=tile, frame=self._frame,
                         frontal_scan=not discovery or self.stream_scan_frames == 1)

    @property
    def frontal_scan_frames(self) -> int:
        """The frames the frontal scan spreads its pyramid over: those without the
        discovery pass."""
        return max(1, self.stream_scan_frames - 1)

    def checks_due(self, lost: list[KnownFace]) -> list[bool]:
        """For each face the frontal scan lost this frame, whether CenterFace checks it now:
        always, except in a crowd a face CenterFace confirmed under recheck_frames ago,
        whose last box stands in until then."""
        crowd = len(lost) > self.tuning.checks_per_frame
        return [not crowd or known.missed > 0 or known.unconfirmed_frames is None
                or known.unconfirmed_frames >= self.tuning.recheck_frames for known in lost]
