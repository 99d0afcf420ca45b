"""The pipeline's crop of a face pasted into a generated scene, as the detector would make
it: used to measure crops (tools/eval_crops.py) and to train on them
(training/pipeline_crops.py)."""

from __future__ import annotations

import cv2
import numpy as np

from devkit.scenes import matches
from services.faces.alignment import normalize
from services.faces.detection import DEFAULT_MIN_SCORE


def crop_of_pasted(detector, frame: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray | None:
    """The pipeline's 48x48 crop of the face pasted at `box` (x, y, w, h): the best of the
    detector's faces that answer it, aligned; None when none does."""
    detections = [d for d in detector.detect(frame, DEFAULT_MIN_SCORE) if matches(box, d.box)]
    if not detections:
        return None
    best = max(detections, key=lambda d: d.score)
    return normalize(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), best.box, best.keypoints)
