"""Faces at every distance: the short-range BlazeFace run over an image pyramid.

An image (`Detect`, or a stream of independent images) gets the full scan: every level of
the pyramid (tiling.py) as one model call over the whole frame at that scale, merged with
non-maximum suppression in frame pixels. The finest level is the frame at native
resolution, where faces of ~24-96 px are in the model's sweet spot; coarser levels catch
larger faces, the coarsest the whole frame.

A video or camera stream cannot afford the full scan on every frame, so each stream keeps
a `StreamScan`: the neighbourhood of every face found recently is re-checked on every
frame (one small model call per face, saved where the frame's own share of the scan saw
the face), and the levels are cut into tiles that a
`StreamSchedule` spreads over `stream_scan_frames` frames. A face that comes into view is
found within that many frames (one more when its score is marginal and the next frame must
confirm it) and then kept on every frame by its neighbourhood check.
"""

from __future__ import annotations

import cv2
import numpy as np

from services.faces.blazeface import (
    SAME_FACE_IOU,
    BlazeFaceModel,
    SmallFaceScore,
    detect_in_region,
    detect_scaled,
    iou,
    weighted_nms,
)
from services.faces.detection import MIRRORED_KEYPOINTS, DetectedFace
from services.faces.face_mesh import FaceMeshModel
from services.faces.imaging import pyramid
from services.faces.tiling import (
    Region,
    ScanJob,
    StreamSchedule,
    finest_scale,
    pyramid_scales,
)

# The finest level covers at most this many frame pixels: 1280x720 at native resolution,
# 1080p at 0.8, where a stream still fits its frame time (docs/detection.md).
MAX_SCAN_PIXELS = 1536 * 864
# A face's neighbourhood, as a multiple of its box side: room for a frame's motion, and
# the face lands at ~128/2.5 = 51 model pixels, mid sweet spot.
NEIGHBOURHOOD = 2.5
# A candidate is verified by Face Mesh's presence output (>= MIN_PRESENCE), then by three
# views of its neighbourhood, the best two averaged: textures rarely pass both.
VERIFY_VIEWS = ((NEIGHBOURHOOD, False), (1.8, False), (NEIGHBOURHOOD, True))
MIN_PRESENCE = 0.5
# Face Mesh's certainty lifts faces in caps, sunglasses or half turned, which lower the views.
SURE_PRESENCE = 0.99
SURE_FACE_BONUS = 0.1
# Face Mesh is less sure of a small face upscaled to 192: a lower presence will do there
# when the views score higher.
SMALL_FACE_PX = 48
SMALL_MIN_PRESENCE = 0.05
SMALL_FACE_SCORE = 0.7
# A small candidate Face Mesh doubts is asked again, framed by its best view; below this
# floor it is not (the cost stays bounded).
SECOND_LOOK_PRESENCE = 0.001
# Candidates are kept from this score (or the request's min_score, if lower); min_score
# filters the verified score.
CANDIDATE_SCORE = 0.5
# At the finest level a very small candidate is kept from a weaker score, but must then be
# a face to Face Mesh, and stays out of the stronger candidates' averages.
SMALL_CANDIDATE_SCORE = 0.35
SMALL_CANDIDATE_PX = 32
# In a stream, a new face verified with less than min_score + this waits for the next
# frame to verify it again: a texture that passes by luck rarely does twice.
CONFIRM_MARGIN = 0.1
# A face already reported is kept while its neighbourhood check scores at least
# min_score - KEEP_MARGIN: finding a face needs more evidence than keeping it does, so a
# face near the threshold (a turned head, sunglasses) is not reported on one frame and
# lost on the next.
KEEP_MARGIN = 0.1
# Faces larger than this in model pixels are left to the next, coarser level.
MAX_FACE_MODEL_PX = 110
# A view's detection must overlap the candidate this much to count as seeing it, and
# score at least VIEW_FLOOR (a weaker one counts as 0).
VIEW_IOU = 0.3
VIEW_FLOOR = 0.2
# A detection from a frame's scan stands in for a known face's neighbourhood check when
# it overlaps the face's last box this much.
SIGHTING_IOU = 0.5
# Frames a known face is still looked for after its neighbourhood check missed it
# (a blink, a hand passing): its neighbourhood keeps being checked, it is not reported.
KEEP_MISSED_FRAMES = 5
# How far a box may poke past a tile edge before it counts as cut by it.
_BORDER_TOLERANCE_PX = 1.0


def _third_view_needed(views: list[DetectedFace | None], min_score: float) -> bool:
    """After two views: the third can change the verdict only if the two disagree, i.e.
    not both reach min_score, and the better one plus a perfect third still could."""
    first, second = (v.score if v is not None else 0.0 for v in views)
    return min(first, second) < min_score <= (max(first, second) + 1.0) / 2


def _sure_face_bonus(presence: float) -> float:
    return SURE_FACE_BONUS if presence >= SURE_PRESENCE else 0.0


def _best_two_mean(views: list[DetectedFace | None]) -> float:
    scores = sorted(v.score if v is not None else 0.0 for v in views)
    return sum(scores[-2:]) / 2


def _mean_keypoints(views: list[DetectedFace | None], face: DetectedFace) -> np.ndarray:
    """The keypoints of the views that see `face` (their boxes overlap its box as one
    face's do, SAME_FACE_IOU) averaged, weighted by score: each view places the eyes, nose
    and mouth a pixel or two off in its own way, and the crop is aligned on these points."""
    seen = [view for view in views if view is not None and len(view.keypoints)]
    if seen:
        overlaps = iou(np.array(face.box, np.float32), np.array([v.box for v in seen], np.float32))
        seen = [view for view, overlap in zip(seen, overlaps, strict=True)
                if overlap >= SAME_FACE_IOU]
    if not seen:
        return face.keypoints
    weights = np.array([view.score for view in seen], np.float32)
    points = np.stack([view.keypoints for view in seen])
    return (np.tensordot(weights, points, axes=1) / weights.sum()).astype(np.float32)


def mirrored_back(face: DetectedFace, width: int) -> DetectedFace:
    """A face found in the mirror image of a `width`-wide frame, in the frame's own pixels:
    x flipped, and each keypoint's right and left swapped (the mirror's right eye is the
    face's left one)."""
    x, y, w, h = face.box
    points = face.keypoints.copy()
    if len(points):
        points[:, 0] = width - points[:, 0]
        points = points[list(MIRRORED_KEYPOINTS)]
    return DetectedFace((width - x - w, y, w, h), face.score, points)


def _best_unmirrored(views: list[DetectedFace | None]) -> DetectedFace | None:
    return max((v for v, (_, mirrored) in zip(views, VERIFY_VIEWS, strict=False)
                if v is not None and not mirrored), key=lambda v: v.score, default=None)


def views_score_needed(presence: float, side_px: float, min_score: float,
                       weak: bool = False) -> float | None:
    """The score a candidate's views must reach after Face Mesh said `presence` of it:
    min_score, more for a small face Face Mesh doubts, None when it rules the face out
    (a `weak` candidate, one kept below CANDIDATE_SCORE for being small, only passes when
    Face Mesh takes it for a face)."""
    if presence >= MIN_PRESENCE:
        return min_score
    if weak:
        return None
    if side_px < SMALL_FACE_PX and presence >= SMALL_MIN_PRESENCE:
        return max(min_score, SMALL_FACE_SCORE)
    return None


def strong_candidate_score(min_score: float) -> float:
    """The score a candidate needs not to be weak: CANDIDATE_SCORE, or the request's
    min_score if lower."""
    return min(CANDIDATE_SCORE, min_score)


def candidate_scores(scale: float, finest_scale: float,
                     min_score: float) -> tuple[float, SmallFaceScore | None]:
    """The lowest candidate score at a level, and the rule that holds larger faces to
    CANDIDATE_SCORE where small ones may score less (the finest level only)."""
    strong = strong_candidate_score(min_score)
    if scale < finest_scale or strong <= SMALL_CANDIDATE_SCORE:
        return strong, None
    return SMALL_CANDIDATE_SCORE, SmallFaceScore(strong, SMALL_CANDIDATE_PX)


def merge(faces: list[DetectedFace], nms_iou: float,
          average_from: float = 0.0) -> list[DetectedFace]:
    """One face per cluster of overlapping detections from several passes, best first
    (see weighted_nms for `average_from`)."""
    if len(faces) <= 1:
        return faces
    scores = np.array([f.score for f in faces], np.float32)
    boxes = np.array([f.box for f in faces], np.float32)
    keypoints = np.stack([f.keypoints for f in faces])
    return [DetectedFace(tuple(float(v) for v in box), score, points.astype(np.float32))
            for score, box, points in weighted_nms(scores, boxes, keypoints, nms_iou,
                                                   average_from)]


def inside_inner_borders(face: DetectedFace, tile: Region, frame_w: int, frame_h: int) -> bool:
    """False when the face's box crosses a tile edge that is not a frame edge: the face is
    cut there, and the overlapping neighbour tile (or a coarser level) sees it whole."""
    x, y, w, h = face.box
    tx, ty, tw, th = tile
    t = _BORDER_TOLERANCE_PX
    return not ((tx > 0 and x < tx - t) or (ty > 0 and y < ty - t)
                or (tx + tw < frame_w and x + w > tx + tw + t)
                or (ty + th < frame_h and y + h > ty + th + t))


class MultiScaleDetector:
    """The full scan for images, and `new_stream()` for the incremental scan of videos."""

    def __init__(self, model: BlazeFaceModel, nms_iou: float = 0.3, min_face_px: int = 24,
                 max_scan_pixels: int = MAX_SCAN_PIXELS, stream_scan_frames: int = 10,
                 face_mesh: FaceMeshModel | None = None) -> None:
        self.model = model
        self.face_mesh = face_mesh  # None: candidates are verified by the views alone
        self.nms_iou = nms_iou
        self.min_face_px = min_face_px
        self.max_scan_pixels = max_scan_pixels
        self.stream_scan_frames = stream_scan_frames

    def scales(self, width: int, height: int) -> list[float]:
        finest = finest_scale(width, height, self.min_face_px, self.max_scan_pixels)
        return pyramid_scales(width, height, finest, self.model.input_size)

    def run_job(self, rgb: np.ndarray, job: ScanJob, min_score: float) -> list[DetectedFace]:
        height, width = rgb.shape[:2]
        lowest, small = candidate_scores(job.scale, self.scales(width, height)[0], min_score)
        faces = detect_in_region(self.model, rgb, job.region, job.scale, lowest, self.nms_iou,
                                 small)
        return self._in_range(job, faces, width, height)

    @staticmethod
    def _in_range(job: ScanJob, faces: list[DetectedFace], width: int,
                  height: int) -> list[DetectedFace]:
        """The faces a job is meant to catch: not too large for its level, not cut by an
        inner tile border."""
        if not job.coarsest:
            # Larger faces are the next level's, in its sweet spot; here they are mostly
            # textures (measured: a third of face-free candidates, no face lost).
            faces = [f for f in faces if max(f.box[2], f.box[3]) * job.scale <= MAX_FACE_MODEL_PX]
        if job.whole_level:
            return faces
        return [f for f in faces if inside_inner_borders(f, job.region, width, height)]

    def detect(self, bgr: np.ndarray, min_score: float) -> list[DetectedFace]:
        """The full scan: every level, each as one call over the whole frame."""
        height, width = bgr.shape[:2]
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        found = []
        scales = self.scales(width, height)
        for scale, level in zip(scales, pyramid(rgb, scales), strict=True):
            job = ScanJob((0, 0, width, height), scale, True, coarsest=scale == scales[-1])
            lowest, small = candidate_scores(scale, scales[0], min_score)
            faces = detect_scaled(self.model, level, scale, (0, 0), lowest, self.nms_iou, small)
            found += self._in_range(job, faces, width, height)
        return self.verify(rgb, merge(found, self.nms_iou, strong_candidate_score(min_score)),
                           min_score)

    def look_around(self, rgb: np.ndarray, box, side_factor: float, min_score: float,
                    mirrored: bool = False) -> DetectedFace | None:
        """The best face overlapping `box` in its neighbourhood of `side_factor` times its
        side, seen at the model's input size (in the mirrored frame when asked, and then
        mapped back into the frame)."""
        height, width = rgb.shape[:2]
        if mirrored:
            rgb = rgb[:, ::-1]
            box = (width - box[0] - box[2], box[1], box[2], box[3])
        region = neighbourhood(box, width, height, side_factor)
        scale = self.model.input_size / max(region[2], region[3])
        seen = detect_in_region(self.model, rgb, region, scale, min_score, self.nms_iou,
                                square=True)
        best = _best_overlapping(box, seen, VIEW_IOU)
        return mirrored_back(best, width) if mirrored and best is not None else best

    def verify(self, rgb: np.ndarray, candidates: list[DetectedFace], min_score: float,
               second_look: bool = True) -> list[DetectedFace]:
        """Candidates that Face Mesh (when given) takes for a face and whose best two
        scores of VERIFY_VIEWS average min_score or more (with SURE_FACE_BONUS where Face
        Mesh is sure), with that score and the box and keypoints of their best unmirrored
        view. `second_look`: small candidates Face Mesh doubts get one (see
        SECOND_LOOK_PRESENCE)."""
        verified = [face for face in (self._verified(rgb, candidate, min_score, second_look)
                                      for candidate in candidates) if face is not None]
        verified.sort(key=lambda face: face.score, reverse=True)
        return verified

    def _verified(self, rgb: np.ndarray, candidate: DetectedFace, min_score: float,
                  second_look: bool) -> DetectedFace | None:
        weak = candidate.score < strong_candidate_score(min_score)
        side = max(candidate.box[2:])
        if self.face_mesh is None:
            if weak:
                return None  # only Face Mesh can vouch for a weak candidate
            return self._scored(self._views(rgb, candidate, min_score), candidate, min_score)
        # The presence check first: one model call that turns away most textures
        # before the two or three of the views.
        presence = self.face_mesh.presence(rgb, candidate.box, candidate.keypoints)
        needed = views_score_needed(presence, side, min_score, weak)
        views = None
        if needed is None:
            if not second_look or side >= SMALL_FACE_PX or presence < SECOND_LOOK_PRESENCE:
                return None
            # A second look at a small face Face Mesh doubted: framed by the views' box
            # and keypoints, found with the face at ~51-71 model pixels rather than
            # ~24-47. The views are taken as far as the lowest bar Face Mesh's verdict
            # could set asks.
            lowest = min_score - SURE_FACE_BONUS
            views = self._views(rgb, candidate, lowest)
            best = _best_unmirrored(views)
            if (best is None or max(best.box[2:]) >= SMALL_FACE_PX
                    or _best_two_mean(views) < lowest):
                return None
            presence = self.face_mesh.presence(rgb, best.box, best.keypoints)
            needed = views_score_needed(presence, side, min_score, weak)
            if needed is None:
                return None
        bonus = _sure_face_bonus(presence)
        return self._scored(self._views(rgb, candidate, needed - bonus, views), candidate,
                            needed, bonus)

    def _views(self, rgb: np.ndarray, candidate: DetectedFace, needed: float,
               seen: list[DetectedFace | None] | None = None) -> list[DetectedFace | None]:
        """The candidate seen in VERIFY_VIEWS (after the views already `seen`); the third
        only when it can change whether the views reach `needed`."""
        views = list(seen or [])
        while len(views) < len(VERIFY_VIEWS):
            if len(views) == 2 and not _third_view_needed(views, needed):
                break
            factor, mirrored = VERIFY_VIEWS[len(views)]
            views.append(self.look_around(rgb, candidate.box, factor, VIEW_FLOOR, mirrored))
        return views

    @staticmethod
    def _scored(views: list[DetectedFace | None], candidate: DetectedFace, needed: float,
                bonus: float = 0.0) -> DetectedFace | None:
        """The face in the box of its best unmirrored view, with the views' keypoints
        averaged (see _mean_keypoints), scored by the best two views (one may cut the face
        at the frame's edge), or None below `needed`."""
        score = min(1.0, _best_two_mean(views) + bonus)
        if score < needed:
            return None
        best = _best_unmirrored(views) or candidate
        return DetectedFace(best.box, score, _mean_keypoints(views, best))

    def new_stream(self) -> StreamScan:
        return StreamScan(self)


def neighbourhood(box: tuple[float, float, float, float], width: int, height: int,
                  side_factor: float = NEIGHBOURHOOD) -> Region:
    """The square around a face's box, `side_factor` times its side, clipped to the frame."""
    x, y, w, h = box
    side = max(w, h) * side_factor
    x0, y0 = max(0, int(x + w / 2 - side / 2)), max(0, int(y + h / 2 - side / 2))
    x1 = min(width, int(np.ceil(x + w / 2 + side / 2)))
    y1 = min(height, int(np.ceil(y + h / 2 + side / 2)))
    return x0, y0, max(1, x1 - x0), max(1, y1 - y0)


class StreamScan:
    """The per-stream state of the incremental scan; lives and dies with its stream."""

    def __init__(self, detector: MultiScaleDetector) -> None:
        self._detector = detector
        self._frame_size: tuple[int, int] | None = None
        self._schedule: StreamSchedule | None = None
        self._known: list[tuple[DetectedFace, int]] = []  # (face, frames missed)
        self._pending: list[DetectedFace] = []  # verified last frame, not yet reported

    def detect(self, bgr: np.ndarray, min_score: float) -> list[DetectedFace]:
        height, width = bgr.shape[:2]
        if self._frame_size != (width, height):  # first frame, or the source changed size
            self._frame_size = (width, height)
            self._schedule = StreamSchedule(width, height, self._detector.scales(width, height),
                                            self._detector.stream_scan_frames)
            self._known, self._pending = [], []
            # This first frame gets the full scan, as an image does: the faces in view
            # from the start are found at once rather than within stream_scan_frames
            # frames (one frame's ~4x cost); the incremental scan takes over from the next.
            return self._report([], self._detector.detect(bgr, min_score), min_score)
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        detector = self._detector
        scanned = []
        strong = strong_candidate_score(min_score)
        for job in self._schedule.next_jobs():
            scanned += detector.run_job(rgb, job, strong)
        scanned = merge(scanned, detector.nms_iou, strong)
        # Faces verified before need only their neighbourhood checked, unless this frame's
        # scan saw them already (a face close to the camera, in the whole-frame pass of
        # every frame); a pending face that is seen again is confirmed.
        tracked = []
        keep_score = max(0.0, min_score - KEEP_MARGIN)
        for face, _ in self._known:
            seen = _sighting(face, scanned, keep_score)
            if seen is None:
                seen = detector.look_around(rgb, face.box, NEIGHBOURHOOD, keep_score)
            if seen is None:
                # One view's score jumps by 0.1-0.2 with a pixel's shift of the crop; a
                # face the first view missed gets the verification's second view.
                seen = detector.look_around(rgb, face.box, VERIFY_VIEWS[1][0], keep_score)
            if seen is not None:
                tracked.append(seen)
        for face in self._pending:
            seen = _sighting(face, scanned, min_score) or self._confirm(rgb, face, min_score)
            if seen is not None:
                tracked.append(seen)
        new = [face for face in scanned if not _overlaps_any(face, tracked)]
        # No second looks here: on a stream, a texture that passes one is then kept
        # frame after frame (30 generated one-face clips: 88 more boxes away from the
        # face in 4,500 frames), while a face Face Mesh doubts on one frame gets a new
        # chance on each of the next.
        return self._report(tracked, detector.verify(rgb, new, min_score, second_look=False),
                            min_score)

    def _confirm(self, rgb: np.ndarray, face: DetectedFace,
                 min_score: float) -> DetectedFace | None:
        """A pending face verified again on this frame, as on the last (Face Mesh, then the
        views), or None: the same test passed on two frames."""
        verified = self._detector.verify(rgb, [face], min_score, second_look=False)
        return verified[0] if verified else None

    def _report(self, tracked: list[DetectedFace], verified: list[DetectedFace],
                min_score: float) -> list[DetectedFace]:
        """The faces tracked and the new faces verified clearly; the marginal new ones wait
        for the next frame's check."""
        sure = min_score + CONFIRM_MARGIN
        faces = merge(tracked + [f for f in verified if f.score >= sure], self._detector.nms_iou)
        self._pending = [f for f in verified if f.score < sure]
        self._remember(faces)
        return faces

    def _remember(self, faces: list[DetectedFace]) -> None:
        known = [(face, 0) for face in faces]
        for face, missed in self._known:
            if not _overlaps_any(face, faces) and missed < KEEP_MISSED_FRAMES:
                known.append((face, missed + 1))
        self._known = known


def _best_overlapping(box, faces: list[DetectedFace], min_iou: float,
                     min_score: float = 0.0) -> DetectedFace | None:
    """The best-scoring face scoring at least `min_score` whose box overlaps `box` by at
    least `min_iou`, or None."""
    if not faces:
        return None
    overlaps = iou(np.array(box, np.float32), np.array([f.box for f in faces], np.float32))
    return max((face for face, overlap in zip(faces, overlaps, strict=True)
                if overlap >= min_iou and face.score >= min_score),
               key=lambda face: face.score, default=None)


def _sighting(face: DetectedFace, scanned: list[DetectedFace],
              min_score: float) -> DetectedFace | None:
    """The scan's detection of a known face: scoring `min_score` or more and overlapping
    its box as much as a frame's motion lets the same face overlap itself (a looser match
    could be a neighbour's box; its own neighbourhood check decides then)."""
    return _best_overlapping(face.box, scanned, SIGHTING_IOU, min_score)


def _overlaps_any(face: DetectedFace, others: list[DetectedFace]) -> bool:
    if not others:
        return False
    return bool(iou(np.array(face.box, np.float32),
                    np.array([o.box for o in others], np.float32)).max() > 0)
