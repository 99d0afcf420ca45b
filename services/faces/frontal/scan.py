"""The frontal full scan: every pyramid level as one BlazeFace call over the whole frame,
merged in frame pixels, each candidate verified (Face Mesh's presence, then views of its
neighbourhood). Images get it; a stream gets it on its first frame (stream.py)."""

from __future__ import annotations

import cv2
import numpy as np

from services.faces.detection import DetectedFace
from services.faces.frontal.schedule import ScanJob, finest_scale, pyramid_scales
from services.faces.frontal.stream import StreamScan
from services.faces.frontal.tuning import FrontalTuning
from services.faces.frontal.verification import (
    Views,
    best_two_mean,
    best_unmirrored,
    candidate_scores,
    mean_keypoints,
    strong_candidate_score,
    sure_face_bonus,
    third_view_needed,
    views_score_needed,
)
from services.faces.geometry import (
    best_overlapping,
    inside_inner_borders,
    merge,
    mirrored_back,
    neighbourhood,
)
from services.faces.imaging import pyramid
from services.faces.models.blazeface import BlazeFaceModel
from services.faces.models.face_mesh import FaceMeshModel
from services.faces.settings import FaceFinderSettings


class MultiScaleDetector:
    """The full scan for images, and `new_stream()` for the incremental scan of videos."""

    def __init__(self, model: BlazeFaceModel, face_mesh: FaceMeshModel | None = None, *,
                 settings: FaceFinderSettings = FaceFinderSettings(),
                 tuning: FrontalTuning = FrontalTuning()) -> None:
        self.model = model
        self.face_mesh = face_mesh  # None: candidates are verified by the views alone
        self.nms_iou = settings.nms_iou
        self.min_face_px = settings.min_face_px
        self.max_scan_pixels = settings.max_scan_pixels
        self.stream_scan_frames = settings.stream_scan_frames
        self.tuning = tuning

    def scales(self, width: int, height: int, max_pixels: int | None = None,
               over_budget_scale: float = 1.0) -> list[float]:
        """The pyramid's scales, its finest level within `max_pixels` (max_scan_pixels), and
        no finer than `over_budget_scale` in a frame larger than that."""
        finest = finest_scale(width, height, self.min_face_px, max_pixels or self.max_scan_pixels,
                              self.tuning.smallest_model_face_px, over_budget_scale)
        return pyramid_scales(width, height, finest, self.model.input_size,
                              self.tuning.level_step)

    def run_job(self, rgb: np.ndarray, job: ScanJob, min_score: float) -> list[DetectedFace]:
        height, width = rgb.shape[:2]
        lowest, small = candidate_scores(job.scale, self.scales(width, height)[0], min_score,
                                         self.tuning)
        faces = self.model.detect_region(rgb, job.region, job.scale, lowest, self.nms_iou,
                                         small)
        return self._in_range(job, faces, width, height)

    def _in_range(self, job: ScanJob, faces: list[DetectedFace], width: int,
                  height: int) -> list[DetectedFace]:
        """The faces a job is meant to catch: not too large for its level, not cut by an
        inner tile border."""
        if not job.coarsest:
            # Larger faces are the next level's, in its sweet spot; here they are mostly
            # textures.
            largest = self.tuning.max_face_model_px
            faces = [f for f in faces if max(f.box[2], f.box[3]) * job.scale <= largest]
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
            lowest, small = candidate_scores(scale, scales[0], min_score, self.tuning)
            faces = self.model.detect_scaled(level, scale, lowest, self.nms_iou, (0, 0), small)
            found += self._in_range(job, faces, width, height)
        strong = strong_candidate_score(min_score, self.tuning)
        return self.verify(rgb, merge(found, self.nms_iou, strong), min_score)

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
        seen = self.model.detect_region(rgb, region, scale, min_score, self.nms_iou,
                                        square=True)
        best = best_overlapping(box, seen, self.tuning.view_iou)
        return mirrored_back(best, width) if mirrored and best is not None else best

    def verify(self, rgb: np.ndarray, candidates: list[DetectedFace], min_score: float,
               second_look: bool = True) -> list[DetectedFace]:
        """Candidates that Face Mesh (when given) takes for a face and whose best two
        scores of the verify views average min_score or more (with sure_face_bonus where
        Face Mesh is sure), with that score and the box and keypoints of their best
        unmirrored view. `second_look`: small candidates Face Mesh doubts get one (see
        second_look_presence)."""
        verified = [face for face in (self._verified(rgb, candidate, min_score, second_look)
                                      for candidate in candidates) if face is not None]
        verified.sort(key=lambda face: face.score, reverse=True)
        return verified

    def _verified(self, rgb: np.ndarray, candidate: DetectedFace, min_score: float,
                  second_look: bool) -> DetectedFace | None:
        tuning = self.tuning
        weak = candidate.score < strong_candidate_score(min_score, tuning)
        side = max(candidate.box[2:])
        if self.face_mesh is None:
            if weak:
                return None  # only Face Mesh can vouch for a weak candidate
            return self._scored(self._views(rgb, candidate, min_score), candidate, min_score)
        # The presence check first: one model call that turns away most textures
        # before the two or three of the views.
        presence = self.face_mesh.presence(rgb, candidate.box, candidate.keypoints)
        needed = views_score_needed(presence, side, min_score, tuning, weak)
        views = None
        if needed is None:
            if (not second_look or side >= tuning.small_face_px
                    or presence < tuning.second_look_presence):
                return None
            # A second look at a small face Face Mesh doubted: framed by the views' box
            # and keypoints, found with the face at ~51-71 model pixels rather than
            # ~24-47. The views are taken as far as the lowest bar Face Mesh's verdict
            # could set asks.
            lowest = min_score - tuning.sure_face_bonus
            views = self._views(rgb, candidate, lowest)
            best = best_unmirrored(views, tuning)
            if (best is None or max(best.box[2:]) >= tuning.small_face_px
                    or best_two_mean(views) < lowest):
                return None
            presence = self.face_mesh.presence(rgb, best.box, best.keypoints)
            needed = views_score_needed(presence, side, min_score, tuning, weak)
            if needed is None:
                return None
        bonus = sure_face_bonus(presence, tuning)
        return self._scored(self._views(rgb, candidate, needed - bonus, views), candidate,
                            needed, bonus)

    def _views(self, rgb: np.ndarray, candidate: DetectedFace, needed: float,
               seen: Views | None = None) -> Views:
        """The candidate seen in the verify views (after the views already `seen`); the
        third only when it can change whether the views reach `needed`."""
        views = list(seen or [])
        all_views = self.tuning.verify_views
        while len(views) < len(all_views):
            if len(views) == 2 and not third_view_needed(views, needed):
                break
            factor, mirrored = all_views[len(views)]
            views.append(self.look_around(rgb, candidate.box, factor, self.tuning.view_floor,
                                          mirrored))
        return views

    def _scored(self, views: Views, candidate: DetectedFace, needed: float,
                bonus: float = 0.0) -> DetectedFace | None:
        """The face in the box of its best unmirrored view, with the views' keypoints
        averaged (see mean_keypoints), scored by the best two views (one may cut the face
        at the frame's edge), or None below `needed`."""
        score = min(1.0, best_two_mean(views) + bonus)
        if score < needed:
            return None
        best = best_unmirrored(views, self.tuning) or candidate
        return DetectedFace(best.box, score, mean_keypoints(views, best))

    def new_stream(self, scan_frames: int | None = None, scan_pixels: int | None = None,
                   over_budget_scale: float = 1.0) -> StreamScan:
        return StreamScan(self, scan_frames, scan_pixels, over_budget_scale)
