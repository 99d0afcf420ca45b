"""Head pose from a face's keypoints: yaw, pitch and roll in degrees.

The eyes, nose tip and mouth centre are matched to where they sit on an average adult
head (a perspective-n-point fit, SQPnP, with a camera whose focal length is the image's
longer side: the fit needs no calibration to tell a frontal face from a turned one).
Signs, as a person looking at the picture sees them: yaw > 0 when the nose points to the
picture's right, pitch > 0 when the face looks up, roll > 0 when the head tilts clockwise.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from services.faces.detection import Keypoint

# Millimetres on an average adult head: x to the picture's right, y down, z away from the
# camera, the eyes' midpoint at the origin.
HEAD_MODEL = np.array([
    [-32.0, 0.0, 0.0],  # right eye (the picture's left)
    [32.0, 0.0, 0.0],  # left eye
    [0.0, 38.0, -28.0],  # nose tip
    [0.0, 68.0, -10.0],  # mouth centre
], np.float64)
POSE_KEYPOINTS = (Keypoint.RIGHT_EYE, Keypoint.LEFT_EYE, Keypoint.NOSE_TIP, Keypoint.MOUTH_CENTRE)
# SQPnP refuses points spread too little in the camera's view (a face of ~30 px in a 1080p
# frame); such a face is fitted enlarged about its own centre: the same direction from the
# camera and the same shape, so the same rotation.
MIN_FIT_SPAN_PX = 96.0


@dataclass(frozen=True)
class HeadPose:
    yaw: float
    pitch: float
    roll: float


def head_pose(keypoints: np.ndarray, image_size: tuple[int, int]) -> HeadPose | None:
    """The pose of the face whose keypoints (BlazeFace order) are given, in an image of
    `image_size` (width, height); None without keypoints or when the fit fails."""
    if len(keypoints) < len(HEAD_MODEL):
        return None
    points = keypoints[list(POSE_KEYPOINTS)].astype(np.float64)
    span = float(np.ptp(points, axis=0).max())
    if not np.isfinite(span) or span <= 0:
        return None
    if span < MIN_FIT_SPAN_PX:
        centre = points.mean(axis=0)
        points = centre + (points - centre) * (MIN_FIT_SPAN_PX / span)
    width, height = image_size
    focal = float(max(width, height))
    camera = np.array([[focal, 0, width / 2], [0, focal, height / 2], [0, 0, 1]], np.float64)
    try:
        found, rotation, _ = cv2.solvePnP(HEAD_MODEL, points, camera, None,
                                          flags=cv2.SOLVEPNP_SQPNP)
    except cv2.error:
        return None
    if not found:
        return None
    matrix, _ = cv2.Rodrigues(rotation)
    angles, *_ = cv2.RQDecomp3x3(matrix)
    pitch, yaw, roll = (float(a) for a in angles)
    return HeadPose(yaw=_wrapped(-yaw), pitch=_wrapped(pitch), roll=_wrapped(roll))


def _wrapped(degrees: float) -> float:
    return (degrees + 180.0) % 360.0 - 180.0
