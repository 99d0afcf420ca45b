"""The rules a frontal candidate must pass, as plain functions of scores: which candidates
are looked at, what Face Mesh's verdict asks of the views, how views become one face."""

from __future__ import annotations

import numpy as np

from services.faces.detection import DetectedFace
from services.faces.frontal.tuning import FrontalTuning
from services.faces.geometry import ONE_FACE_AVERAGING_IOU, overlaps
from services.faces.models.blazeface import SmallFaceScore

Views = list[DetectedFace | None]


def third_view_needed(views: Views, min_score: float) -> bool:
    """After two views: the third can change the verdict only if the two disagree, i.e.
    not both reach min_score, and the better one plus a perfect third still could."""
    first, second = (v.score if v is not None else 0.0 for v in views)
    return min(first, second) < min_score <= (max(first, second) + 1.0) / 2


def sure_face_bonus(presence: float, tuning: FrontalTuning) -> float:
    return tuning.sure_face_bonus if presence >= tuning.sure_presence else 0.0


def best_two_mean(views: Views) -> float:
    scores = sorted(v.score if v is not None else 0.0 for v in views)
    return sum(scores[-2:]) / 2


def mean_keypoints(views: Views, face: DetectedFace) -> np.ndarray:
    """The keypoints of the views that see `face` (their boxes overlap its box as one
    face's do) averaged, weighted by score: each view places the eyes, nose and mouth a
    pixel or two off in its own way, and the crop is aligned on these points."""
    seen = [view for view in views if view is not None and len(view.keypoints)]
    seen = [view for view, overlap in zip(seen, overlaps(face.box, seen), strict=True)
            if overlap >= ONE_FACE_AVERAGING_IOU]
    if not seen:
        return face.keypoints
    weights = np.array([view.score for view in seen], np.float32)
    points = np.stack([view.keypoints for view in seen])
    return (np.tensordot(weights, points, axes=1) / weights.sum()).astype(np.float32)


def best_unmirrored(views: Views, tuning: FrontalTuning) -> DetectedFace | None:
    return max((v for v, (_, mirrored) in zip(views, tuning.verify_views, strict=False)
                if v is not None and not mirrored), key=lambda v: v.score, default=None)


def views_score_needed(presence: float, side_px: float, min_score: float,
                       tuning: FrontalTuning, weak: bool = False) -> float | None:
    """The score a candidate's views must reach after Face Mesh said `presence` of it:
    min_score, more for a small face Face Mesh doubts, None when it rules the face out
    (a `weak` candidate, one kept below candidate_score for being small, only passes when
    Face Mesh takes it for a face)."""
    if presence >= tuning.min_presence:
        return min_score
    if weak:
        return None
    if side_px < tuning.small_face_px and presence >= tuning.small_min_presence:
        return max(min_score, tuning.small_face_score)
    return None


def strong_candidate_score(min_score: float, tuning: FrontalTuning) -> float:
    """The score a candidate needs not to be weak: candidate_score, or the request's
    min_score if lower."""
    return min(tuning.candidate_score, min_score)


def candidate_scores(scale: float, finest_scale: float, min_score: float,
                     tuning: FrontalTuning) -> tuple[float, SmallFaceScore | None]:
    """The lowest candidate score at a level, and the rule that holds larger faces to
    candidate_score where small ones may score less (the finest level only)."""
    strong = strong_candidate_score(min_score, tuning)
    if scale < finest_scale or strong <= tuning.small_candidate_score:
        return strong, None
    return tuning.small_candidate_score, SmallFaceScore(strong, tuning.small_candidate_px)
