"""Faces in any pose: CenterFace for turned, half-covered and crowded faces, combined with
the frontal scan (scanner.py) for the small frontal faces it finds best.

An image gets both full passes, merged in image pixels: a face both see is one face, with
the frontal scan's box and keypoints (what the crops are aligned on); a face only CenterFace
sees is added; a large face only the frontal scan sees must have some CenterFace support
(a dog's face passes the frontal checks, and CenterFace is sure of every large real face).

A stream keeps the frontal scan's incremental schedule and adds CenterFace twice over: a
pass over the downscaled frame once every `stream_scan_frames` frames finds new faces in
any pose, and a face the frontal checks lose (it turned away) is looked for by CenterFace in
its neighbourhood before it is given up. A face confirmed by neither ends.
"""

from __future__ import annotations

import numpy as np

from services.faces.blazeface import iou
from services.faces.centerface import CenterFaceModel, scale_within
from services.faces.detection import DEFAULT_MIN_SCORE, DetectedFace
from services.faces.scanner import (
    KEEP_MARGIN,
    KEEP_MISSED_FRAMES,
    MultiScaleDetector,
    inside_inner_borders,
    neighbourhood,
)
from services.faces.tiling import Region, tile_grid

# An image's CenterFace pass sees at most this many pixels (1024x576): a 1080p frame's pass
# costs ~60 ms instead of ~200; the frontal scan still sees small faces at native resolution.
CENTERFACE_MAX_PIXELS = 1024 * 576
# A stream's discovery pass sees at most this many pixels (320x240), on one thread: eight
# streams at once keep 97% of the frontal scan's frames per second (docs/detection.md).
STREAM_CENTERFACE_PIXELS = 320 * 240
# A stream whose whole-frame pass is coarser than this also gets tiles seen at this scale,
# one tile a frame in turn: a 40 px face of a 1080p stream is 8 px in the 320x240 pass,
# under CenterFace's smallest, and 20 px in a tile.
TILE_SCALE = 0.5
# Tiles are at most this side in frame pixels, overlapping by this much: a face up to the
# overlap lies whole in some tile; larger ones are the whole-frame pass's. One tile every
# TILE_PERIOD frames: 720p and 1080p frames have two, both seen within 6 frames, and the
# frames between keep the frontal scan's cost (docs/detection.md).
TILE_SIDE = 1088
TILE_OVERLAP = 128
TILE_PERIOD = 3
# CenterFace's heatmap score that counts as the frontal scan's DEFAULT_MIN_SCORE: where it
# stops finding textures on real photos (docs/detection.md). Scores are mapped linearly so
# that one min_score means the same for faces from either model.
CENTERFACE_AT_DEFAULT = 0.5
_SLOPE = (1.0 - DEFAULT_MIN_SCORE) / (1.0 - CENTERFACE_AT_DEFAULT)
# Below this raw score a CenterFace peak is never looked at.
CENTERFACE_FLOOR = 0.05
# A frontal face this large (px) that CenterFace does not see at SUPPORT_SCORE is no face.
SUPPORT_FROM_PX = 150
SUPPORT_SCORE = 0.3
# Detections from the two models overlap this much when they are one face (their boxes frame
# a face differently: CenterFace's includes the forehead).
SAME_FACE_IOU = 0.3
# A face's neighbourhood for CenterFace's check, as a multiple of its box side, and the
# side the neighbourhood is resized to (the face at ~64 px, where CenterFace is sure).
NEIGHBOURHOOD = 2.0
NEIGHBOURHOOD_SIDE = 128
# Up to this many faces only CenterFace keeps are checked on every frame; beyond it, in a
# crowd, each is checked every RECHECK_FRAMES frames and its last box stands in between.
CHECKS_PER_FRAME = 4
RECHECK_FRAMES = 3


def calibrated(raw: np.ndarray | float):
    """CenterFace's raw score on the frontal scan's scale (CENTERFACE_AT_DEFAULT -> 0.65)."""
    return 1.0 - (1.0 - raw) * _SLOPE


def raw_threshold(min_score: float) -> float:
    """The raw CenterFace score whose calibrated score is `min_score`."""
    return max(CENTERFACE_FLOOR, 1.0 - (1.0 - min_score) / _SLOPE)


def _overlaps(face: DetectedFace, others: list[DetectedFace]) -> np.ndarray:
    if not others:
        return np.zeros(0, np.float32)
    return iou(np.array(face.box, np.float32), np.array([o.box for o in others], np.float32))


def _rescored(face: DetectedFace) -> DetectedFace:
    return DetectedFace(face.box, float(calibrated(face.score)), face.keypoints)


def combine(frontal: list[DetectedFace], centerface: list[DetectedFace],
            min_score: float) -> list[DetectedFace]:
    """One face per face seen by either pass (`centerface` with raw scores, from
    SUPPORT_SCORE or the threshold if lower), best first."""
    threshold = raw_threshold(min_score)
    sure = [face for face in centerface if face.score >= threshold]
    faces = []
    for face in frontal:
        overlaps = _overlaps(face, centerface)
        seen = [other for other, overlap in zip(centerface, overlaps, strict=True)
                if overlap >= SAME_FACE_IOU]
        support = max((other.score for other in seen), default=0.0)
        if max(face.box[2:]) >= SUPPORT_FROM_PX and support < min(SUPPORT_SCORE, threshold):
            continue
        faces.append(DetectedFace(face.box, max(face.score, float(calibrated(support))),
                                  face.keypoints))
    for face in sure:
        if not np.any(_overlaps(face, faces) >= SAME_FACE_IOU):
            faces.append(_rescored(face))
    faces.sort(key=lambda face: face.score, reverse=True)
    return faces


class AnyPoseDetector:
    """The auto backend: the full scans for images, `new_stream()` for videos."""

    def __init__(self, frontal: MultiScaleDetector, centerface: CenterFaceModel,
                 max_pixels: int = CENTERFACE_MAX_PIXELS,
                 stream_pixels: int = STREAM_CENTERFACE_PIXELS,
                 stream_scan_frames: int = 10,
                 stream_centerface: CenterFaceModel | None = None) -> None:
        """`centerface` serves images (its threads speed one call up); `stream_centerface`,
        on one thread, serves streams, whose many small calls run side by side."""
        self.frontal = frontal
        self.centerface = centerface
        self.stream_centerface = stream_centerface or centerface
        self.max_pixels = max_pixels
        self.stream_pixels = stream_pixels
        self.stream_scan_frames = stream_scan_frames
        self.nms_iou = frontal.nms_iou

    def centerface_pass(self, bgr: np.ndarray, min_score: float, max_pixels: int,
                        model: CenterFaceModel | None = None) -> list[DetectedFace]:
        """CenterFace over the whole frame (downscaled to `max_pixels`), raw scores."""
        height, width = bgr.shape[:2]
        lowest = min(raw_threshold(min_score), SUPPORT_SCORE)
        return (model or self.centerface).detect_scaled(
            bgr, scale_within(width, height, max_pixels), lowest, self.nms_iou)

    def detect(self, bgr: np.ndarray, min_score: float) -> list[DetectedFace]:
        return combine(self.frontal.detect(bgr, min_score),
                       self.centerface_pass(bgr, min_score, self.max_pixels), min_score)

    def look_around(self, bgr: np.ndarray, box, min_score: float) -> DetectedFace | None:
        """CenterFace's best face overlapping `box` in its neighbourhood, calibrated, or None
        below `min_score`."""
        height, width = bgr.shape[:2]
        x, y, w, h = neighbourhood(box, width, height, NEIGHBOURHOOD)
        scale = NEIGHBOURHOOD_SIDE / max(w, h)
        found = self.stream_centerface.detect_scaled(bgr[y:y + h, x:x + w], scale,
                                                     raw_threshold(min_score), self.nms_iou,
                                                     (x, y))
        overlaps = _overlaps(DetectedFace(tuple(box), 0.0), found)
        best = max((f for f, overlap in zip(found, overlaps, strict=True)
                    if overlap >= SAME_FACE_IOU), key=lambda f: f.score, default=None)
        return _rescored(best) if best is not None else None

    def tiles_for(self, width: int, height: int) -> list[Region]:
        """The tiles a stream of width x height frames looks through in turn (none when its
        whole-frame pass already sees it at TILE_SCALE)."""
        if scale_within(width, height, self.stream_pixels) >= TILE_SCALE:
            return []
        return tile_grid(width, height, TILE_SIDE, TILE_OVERLAP)

    def tile_pass(self, bgr: np.ndarray, tile: Region, min_score: float) -> list[DetectedFace]:
        """CenterFace over one tile at TILE_SCALE, in frame pixels, raw scores; faces cut by
        an inner tile border left to the neighbour tile."""
        x, y, w, h = tile
        height, width = bgr.shape[:2]
        found = self.stream_centerface.detect_scaled(
            bgr[y:y + h, x:x + w], TILE_SCALE, raw_threshold(min_score), self.nms_iou, (x, y))
        return [face for face in found if inside_inner_borders(face, tile, width, height)]

    def new_stream(self) -> AnyPoseStream:
        return AnyPoseStream(self)


class AnyPoseStream:
    """The per-stream state: the frontal scan's own, CenterFace's schedule and the faces
    only CenterFace keeps."""

    def __init__(self, detector: AnyPoseDetector) -> None:
        self._detector = detector
        self._frontal = detector.frontal.new_stream()
        self._frame = 0
        self._frame_size: tuple[int, int] | None = None
        self._last: list[DetectedFace] = []
        self._missed: list[tuple[DetectedFace, int]] = []  # lost faces still looked for
        self._tiles: list[Region] = []
        self._ages: dict[int, int] = {}  # id of a face CenterFace keeps -> frames since checked

    def detect(self, bgr: np.ndarray, min_score: float) -> list[DetectedFace]:
        height, width = bgr.shape[:2]
        detector = self._detector
        if self._frame_size != (width, height):  # first frame, or the source changed size
            self._frame_size, self._frame = (width, height), 0
            self._last, self._missed, self._ages = [], [], {}
            self._tiles = detector.tiles_for(width, height)
            # The frontal full scan (as an image gets), CenterFace as on any discovery frame.
            found = combine(self._frontal.detect(bgr, min_score),
                            detector.centerface_pass(bgr, min_score, detector.stream_pixels,
                                                     detector.stream_centerface), min_score)
            return self._remember(found)
        self._frame += 1
        keep_score = max(0.0, min_score - KEEP_MARGIN)
        faces = []
        for face in self._frontal.detect(bgr, min_score):
            # The frontal checks keep a known face down to keep_score; below min_score it
            # stays only where CenterFace sees a face too (a box drifting onto hair or a
            # pillar does not).
            if face.score < min_score and detector.look_around(bgr, face.box, keep_score) is None:
                continue
            faces.append(face)
        # Faces seen last frame (or lately) that the frontal checks lost: CenterFace looks
        # for each in its neighbourhood.
        lost = [(face, times) for face, times in
                [(face, 0) for face in self._last] + self._missed
                if not np.any(_overlaps(face, faces) >= SAME_FACE_IOU)]
        crowd = len(lost) > CHECKS_PER_FRAME
        missed, ages = [], {}
        for face, times in lost:
            age = self._ages.get(id(face), RECHECK_FRAMES) if times == 0 else RECHECK_FRAMES
            if crowd and age < RECHECK_FRAMES:
                faces.append(face)
                ages[id(face)] = age + 1
                continue
            seen = detector.look_around(bgr, face.box, keep_score)
            if seen is not None:
                faces.append(seen)
                ages[id(seen)] = 1
            elif times < KEEP_MISSED_FRAMES:
                missed.append((face, times + 1))
        found = []
        if self._frame % detector.stream_scan_frames == 0:
            found += detector.centerface_pass(bgr, min_score, detector.stream_pixels,
                                              detector.stream_centerface)
        if self._tiles and self._frame % TILE_PERIOD == 0:
            tile = self._tiles[(self._frame // TILE_PERIOD) % len(self._tiles)]
            found += detector.tile_pass(bgr, tile, min_score)
        if found:
            new = [face for face in combine([], found, min_score)
                   if not np.any(_overlaps(face, faces) >= SAME_FACE_IOU)]
            ages.update((id(face), 1) for face in new)
            faces += new
        faces = self._distinct(faces)
        self._ages = {id(face): ages[id(face)] for face in faces if id(face) in ages}
        self._missed = [(face, times) for face, times in missed
                        if not np.any(_overlaps(face, faces) > 0)]
        return self._remember(faces)

    def _distinct(self, faces: list[DetectedFace]) -> list[DetectedFace]:
        """Best first, a face overlapping a better one as one face does dropped."""
        kept: list[DetectedFace] = []
        for face in sorted(faces, key=lambda f: f.score, reverse=True):
            if not np.any(_overlaps(face, kept) >= SAME_FACE_IOU):
                kept.append(face)
        return kept

    def _remember(self, faces: list[DetectedFace]) -> list[DetectedFace]:
        self._last = faces
        return faces
