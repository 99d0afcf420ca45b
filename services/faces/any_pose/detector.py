"""The auto backend: CenterFace's passes beside the frontal scan. An image gets both full
passes, combined; a stream gets `new_stream()` (stream.py)."""

from __future__ import annotations

import os
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from services.faces.any_pose.combine import combine, raw_threshold, rescored
from services.faces.any_pose.schedule import DiscoveryPart
from services.faces.any_pose.stream import AnyPoseStream
from services.faces.any_pose.tuning import AnyPoseTuning
from services.faces.detection import DetectedFace
from services.faces.frontal.scan import MultiScaleDetector
from services.faces.geometry import (
    Region,
    best_overlapping,
    inside_inner_borders,
    neighbourhood,
    scale_within,
)
from services.faces.models.centerface import CenterFaceModel, resized
from services.faces.models.cores import CORES
from services.faces.settings import FaceFinderSettings


class AnyPoseDetector:
    """The full passes for images, `new_stream()` for videos."""

    def __init__(self, frontal: MultiScaleDetector, centerface: CenterFaceModel,
                 stream_centerface: CenterFaceModel | None = None, *,
                 settings: FaceFinderSettings = FaceFinderSettings(),
                 tuning: AnyPoseTuning = AnyPoseTuning()) -> None:
        """`centerface` serves images (its threads speed one call up); `stream_centerface`,
        on one thread, serves streams, whose many small calls run side by side."""
        self.frontal = frontal
        self.centerface = centerface
        self.stream_centerface = stream_centerface or centerface
        self.max_pixels = settings.centerface_max_pixels
        self.stream_pixels = settings.stream_centerface_pixels
        self.stream_scan_frames = settings.stream_scan_frames
        self.stream_scan_pixels = settings.stream_scan_pixels
        self.nms_iou = frontal.nms_iou
        self.tuning = tuning
        self.discovery_lag_frames = settings.stream_discovery_lag_frames
        # Streams' CenterFace work runs here, beside their frontal scans. More threads than
        # cores, so that a stream's short check need not wait behind other streams' passes.
        self._background = ThreadPoolExecutor(max_workers=4 * (os.cpu_count() or 1),
                                              thread_name_prefix="face-discovery")

    def centerface_pass(self, bgr: np.ndarray, min_score: float, max_pixels: int,
                        model: CenterFaceModel | None = None) -> list[DetectedFace]:
        """CenterFace over the whole frame (downscaled to `max_pixels`), raw scores."""
        height, width = bgr.shape[:2]
        return (model or self.centerface).detect_scaled(
            bgr, scale_within(width, height, max_pixels), self._pass_threshold(min_score),
            self.nms_iou)

    def _pass_threshold(self, min_score: float) -> float:
        """The raw score a whole-frame pass keeps faces from: down to support_score, which
        `combine` needs to judge large frontal faces."""
        return min(raw_threshold(min_score, self.tuning), self.tuning.support_score)

    def discovery_pass(self, bgr: np.ndarray, min_score: float) -> list[DetectedFace]:
        """A stream's pass over its whole frame, downscaled to `stream_pixels`, one thread."""
        return self.centerface_pass(bgr, min_score, self.stream_pixels, self.stream_centerface)

    def discovery_in_background(self, bgr: np.ndarray, part: DiscoveryPart,
                                min_score: float) -> Future:
        """A part of a stream's discovery pass (the whole frame, a band of it), its faces as
        a future: the region is cut and downscaled here, the model runs on a background
        thread (the frame may be reused once this returns)."""
        return self._background.submit(self._discovery_faces,
                                       _region_image(bgr, part.region, part.scale), part,
                                       bgr.shape[:2], self._pass_threshold(min_score))

    def _discovery_faces(self, image: np.ndarray, part: DiscoveryPart,
                         frame_size: tuple[int, int], threshold: float) -> list[DetectedFace]:
        """A discovery part's faces, from its downscaled `image`, on the image model's
        threads while as many cores are idle and no call waits (one stream's frame then
        waits for it alone), on the stream model's one otherwise. The faces are the same
        either way."""
        with CORES.threads(self.centerface.threads) as granted:
            # A grant short of the image model's threads runs the stream model on them.
            model = (self.centerface if granted == self.centerface.threads
                     else self.stream_centerface)
            found = model.detect_resized(image, part.scale, threshold, self.nms_iou,
                                         part.region[:2], cores_held=True)
        height, width = frame_size
        return [face for face in found if max(face.box[2:]) >= part.min_face_px
                and inside_inner_borders(face, part.region, width, height,
                                         part.border_margin_px)]

    def tile_in_background(self, bgr: np.ndarray, tile: Region, min_score: float) -> Future:
        """tile_pass's faces, as a future (see discovery_in_background)."""
        return self._background.submit(self._tile_faces,
                                       _region_image(bgr, tile, self.tuning.tile_scale), tile,
                                       bgr.shape[:2], min_score)

    def tile_pass(self, bgr: np.ndarray, tile: Region, min_score: float) -> list[DetectedFace]:
        """CenterFace over one tile at tile_scale, in frame pixels, raw scores; faces cut by
        an inner tile border left to the neighbour tile."""
        return self._tile_faces(_region_image(bgr, tile, self.tuning.tile_scale), tile,
                                bgr.shape[:2], min_score)

    def _tile_faces(self, image: np.ndarray, tile: Region, frame_size: tuple[int, int],
                    min_score: float) -> list[DetectedFace]:
        """The faces of a tile's resized `image`, in the pixels of a frame of
        `frame_size` (height, width), those cut by an inner tile border left out."""
        height, width = frame_size
        found = self.stream_centerface.detect_resized(
            image, self.tuning.tile_scale, raw_threshold(min_score, self.tuning), self.nms_iou,
            tile[:2])
        return [face for face in found if inside_inner_borders(face, tile, width, height)]

    def detect(self, bgr: np.ndarray, min_score: float) -> list[DetectedFace]:
        return combine(self.frontal.detect(bgr, min_score),
                       self.centerface_pass(bgr, min_score, self.max_pixels), min_score,
                       self.tuning)

    def look_around(self, bgr: np.ndarray, box, min_score: float) -> DetectedFace | None:
        """CenterFace's best face overlapping `box` in its neighbourhood, calibrated, or None
        below `min_score`."""
        return self._best_around(*self._neighbourhood_image(bgr, box), box, min_score)

    def look_around_in_background(self, bgr: np.ndarray, box, min_score: float) -> Future:
        """look_around's answer, as a future: the neighbourhood is cut and resized here."""
        return self._background.submit(self._best_around, *self._neighbourhood_image(bgr, box),
                                       box, min_score)

    def _neighbourhood_image(self, bgr: np.ndarray,
                             box) -> tuple[np.ndarray, float, tuple[int, int]]:
        """The region CenterFace checks for a face at `box`, resized to the scale it sees it
        at: (image, scale, the region's corner)."""
        height, width = bgr.shape[:2]
        region = neighbourhood(box, width, height, self.tuning.neighbourhood)
        scale = self.tuning.neighbourhood_side_px / max(region[2:])
        return _region_image(bgr, region, scale), scale, region[:2]

    def _best_around(self, image: np.ndarray, scale: float, origin: tuple[int, int], box,
                     min_score: float) -> DetectedFace | None:
        found = self.stream_centerface.detect_resized(image, scale,
                                                      raw_threshold(min_score, self.tuning),
                                                      self.nms_iou, origin)
        best = best_overlapping(tuple(box), found, self.tuning.same_face_iou)
        return rescored(best, self.tuning) if best is not None else None

    def new_stream(self) -> AnyPoseStream:
        return AnyPoseStream(self)


def _region_image(bgr: np.ndarray, region: Region, scale: float) -> np.ndarray:
    """An x, y, w, h region of a frame as CenterFace sees it at `scale`."""
    x, y, w, h = region
    return resized(bgr[y:y + h, x:x + w], scale)
