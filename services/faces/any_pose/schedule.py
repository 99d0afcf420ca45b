"""What an any-pose stream's frame looks at beyond the frontal scan: policy only, no
model and no pixels.

The first frame of a size gets the full detection. After it, CenterFace's discovery pass
over the downscaled frame runs once every `stream_scan_frames` frames, a large frame's
tiles are looked through one every `tile_period` frames, and the faces only CenterFace
keeps are re-checked every frame, or, in a crowd, every `recheck_frames` frames. A frame
without tiles gets its discovery pass in parts (overlapping bands, and the whole frame at
half the scale for the faces too large for a band's overlap), one a frame, on the last
frames of each period: the first period's parts all look at the frames within
`stream_scan_frames` of the first. A frame with a part of the discovery pass leaves the
frontal scan's share to the others, which spread it over as many frames fewer: no frame
pays for both, and the frontal scan still covers its pyramid within `stream_scan_frames`
frames. A frame over `stream_scan_pixels` gets no share of the frontal scan at all (but for
its coarsest level): that scan would be no finer than the tiles, which find the same faces
in any pose.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.faces.any_pose.tuning import AnyPoseTuning
from services.faces.detection import KnownFace
from services.faces.geometry import Region, even_spans, scale_within, tile_grid


@dataclass(frozen=True)
class DiscoveryPart:
    """A share of the discovery pass: a region of the frame seen at a scale, which keeps
    its faces of at least `min_face_px` that stay `border_margin_px` inside its inner
    borders (frame pixels)."""

    region: Region
    scale: float
    min_face_px: float = 0.0
    border_margin_px: float = 0.0


@dataclass(frozen=True)
class FramePlan:
    first: bool  # the first frame of its size: the full detection, as an image gets
    discovery: DiscoveryPart | None  # CenterFace's pass over the downscaled frame, or a part
    tile: Region | None  # a tile CenterFace looks through at tile_scale
    frame: int = 0  # frames since the first of this size
    frontal_scan: bool = True  # the frontal scan runs its share of the pyramid


class AnyPoseSchedule:
    """One stream's schedule; `plan` is called once per frame, in frame order."""

    def __init__(self, *, stream_scan_frames: int, stream_pixels: int,
                 tuning: AnyPoseTuning, stream_scan_pixels: int | None = None) -> None:
        """`stream_scan_pixels`: the largest frame the frontal scan shares the frames'
        work with the tiles in (None: any)."""
        self.stream_scan_frames = stream_scan_frames
        self.stream_pixels = stream_pixels
        self.stream_scan_pixels = stream_scan_pixels
        self.tuning = tuning
        self._frame_size: tuple[int, int] | None = None
        self._frame = 0
        self._tiles: list[Region] = []
        self._parts: list[DiscoveryPart] = []
        self._frontal_share = True

    def tiles_for(self, width: int, height: int) -> list[Region]:
        """The tiles a stream of width x height frames looks through in turn (none when its
        whole-frame pass already sees it at tile_scale)."""
        if scale_within(width, height, self.stream_pixels) >= self.tuning.tile_scale:
            return []
        return tile_grid(width, height, self.tuning.tile_side_px, self.tuning.tile_overlap_px)

    def discovery_parts(self, width: int, height: int) -> list[DiscoveryPart]:
        """The discovery pass as a period's frames run it: whole where tiles already make
        frames costlier, where the period has no room for the parts and two frames of the
        frontal scan, or where the frame is too small to cut; else discovery_bands bands
        across the longer side and the whole frame at half the scale."""
        whole = self.whole_pass(width, height)
        bands, scale = self.tuning.discovery_bands, whole.scale
        overlap = self.tuning.discovery_band_overlap_px / scale
        if (bands < 2 or self.tiles_for(width, height)
                or self.stream_scan_frames < bands + 1 + 2 or max(width, height) < 2 * overlap):
            return [whole]
        if width >= height:
            regions = [(x, 0, w, height) for x, w in even_spans(width, bands, round(overlap))]
        else:
            regions = [(0, y, width, h) for y, h in even_spans(height, bands, round(overlap))]
        margin = self.tuning.discovery_band_margin_px / scale
        return ([DiscoveryPart(whole.region, scale / 2, overlap / 2)]
                + [DiscoveryPart(region, scale, border_margin_px=margin) for region in regions])

    def whole_pass(self, width: int, height: int) -> DiscoveryPart:
        """The whole frame downscaled to stream_pixels: the first frame's pass."""
        return DiscoveryPart((0, 0, width, height), scale_within(width, height,
                                                                 self.stream_pixels))

    def plan(self, width: int, height: int) -> FramePlan:
        if self._frame_size != (width, height):  # first frame, or the source changed size
            self._frame_size, self._frame = (width, height), 0
            self._tiles = self.tiles_for(width, height)
            self._parts = self.discovery_parts(width, height)
            self._frontal_share = not (self._tiles and self.stream_scan_pixels is not None
                                       and width * height > self.stream_scan_pixels)
            return FramePlan(first=True, discovery=self.whole_pass(width, height), tile=None,
                             frame=0)
        self._frame += 1
        period = self.tuning.tile_period
        tile = None
        if self._tiles and self._frame % period == 0:
            tile = self._tiles[(self._frame // period) % len(self._tiles)]
        # The parts run on the last frames of each period, the last on its frame 0.
        part = (self._frame + len(self._parts) - 1) % self.stream_scan_frames
        discovery = self._parts[part] if part < len(self._parts) else None
        frontal_scan = self._frontal_share and (discovery is None
                                                or self.stream_scan_frames == 1)
        return FramePlan(first=False, discovery=discovery, tile=tile, frame=self._frame,
                         frontal_scan=frontal_scan)

    @property
    def frontal_scan_frames(self) -> int:
        """The frames the frontal scan spreads its pyramid over: those without a part of
        the discovery pass, at the frame size planned last (before one, a pass in one
        part)."""
        return max(1, self.stream_scan_frames - max(1, len(self._parts)))

    def checks_due(self, lost: list[KnownFace]) -> list[bool]:
        """For each face the frontal scan lost this frame, whether CenterFace checks it now:
        always, except in a crowd a face CenterFace confirmed under recheck_frames ago,
        whose last box stands in until then."""
        crowd = len(lost) > self.tuning.checks_per_frame
        return [not crowd or known.missed > 0 or known.unconfirmed_frames is None
                or known.unconfirmed_frames >= self.tuning.recheck_frames for known in lost]
