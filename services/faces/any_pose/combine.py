"""How the frontal scan's faces and CenterFace's become one list: CenterFace's scores
calibrated onto the frontal scale, a face both see kept once with the frontal box and
keypoints (what crops are aligned on), a large frontal face without CenterFace's support
dropped."""

from __future__ import annotations

import numpy as np

from services.faces.any_pose.tuning import AnyPoseTuning
from services.faces.detection import DEFAULT_MIN_SCORE, DetectedFace
from services.faces.geometry import overlaps


def _slope(tuning: AnyPoseTuning) -> float:
    return (1.0 - DEFAULT_MIN_SCORE) / (1.0 - tuning.centerface_at_default)


def calibrated(raw: np.ndarray | float, tuning: AnyPoseTuning = AnyPoseTuning()):
    """CenterFace's raw score on the frontal scan's scale (centerface_at_default ->
    DEFAULT_MIN_SCORE)."""
    return 1.0 - (1.0 - raw) * _slope(tuning)


def raw_threshold(min_score: float, tuning: AnyPoseTuning = AnyPoseTuning()) -> float:
    """The raw CenterFace score whose calibrated score is `min_score`."""
    return max(tuning.centerface_floor, 1.0 - (1.0 - min_score) / _slope(tuning))


def rescored(face: DetectedFace, tuning: AnyPoseTuning) -> DetectedFace:
    return DetectedFace(face.box, float(calibrated(face.score, tuning)), face.keypoints)


def combine(frontal: list[DetectedFace], centerface: list[DetectedFace], min_score: float,
            tuning: AnyPoseTuning = AnyPoseTuning()) -> list[DetectedFace]:
    """One face per face seen by either pass (`centerface` with raw scores, from
    support_score or the threshold if lower), best first."""
    threshold = raw_threshold(min_score, tuning)
    faces = []
    for face in frontal:
        support = max((other.score for other, overlap in
                       zip(centerface, overlaps(face.box, centerface), strict=True)
                       if overlap >= tuning.same_face_iou), default=0.0)
        if (max(face.box[2:]) >= tuning.support_from_px
                and support < min(tuning.support_score, threshold)):
            continue
        faces.append(DetectedFace(face.box, max(face.score, float(calibrated(support, tuning))),
                                  face.keypoints))
    for face in centerface:
        if face.score >= threshold and not np.any(
                overlaps(face.box, faces) >= tuning.same_face_iou):
            faces.append(rescored(face, tuning))
    faces.sort(key=lambda face: face.score, reverse=True)
    return faces
