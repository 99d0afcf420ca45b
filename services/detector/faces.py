"""What a detection backend finds, in original-image pixels."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# BlazeFace keypoint order; "right" is the subject's right (image left when unmirrored).
KEYPOINT_NAMES = ("right_eye", "left_eye", "nose_tip", "mouth_centre", "right_ear", "left_ear")
# For each keypoint, its twin in the mirror image (right and left swap sides).
MIRRORED_KEYPOINTS = (1, 0, 2, 3, 5, 4)


@dataclass
class DetectedFace:
    box: tuple[float, float, float, float]  # x, y, width, height in image pixels
    score: float
    keypoints: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.float32))  # (6, 2) or (0, 2)
