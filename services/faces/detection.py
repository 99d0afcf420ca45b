"""What a detection backend finds, in original-image pixels."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np

# The score a face needs by default: where the verified frontal scan and CenterFace
# (calibrated onto its scale) both stop finding textures.
DEFAULT_MIN_SCORE = 0.65


class Keypoint(IntEnum):
    """A face's six keypoints, in the API's order; "right" is the subject's right (the
    picture's left when unmirrored)."""

    RIGHT_EYE = 0
    LEFT_EYE = 1
    NOSE_TIP = 2
    MOUTH_CENTRE = 3
    RIGHT_EAR = 4
    LEFT_EAR = 5


KEYPOINT_NAMES = tuple(point.name.lower() for point in Keypoint)
# For each keypoint, its twin in the mirror image (right and left swap sides).
MIRRORED_KEYPOINTS = (1, 0, 2, 3, 5, 4)


@dataclass
class DetectedFace:
    box: tuple[float, float, float, float]  # x, y, width, height in image pixels
    score: float
    keypoints: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.float32))  # (6, 2) or (0, 2)


@dataclass
class KnownFace:
    """A face a stream has reported and still follows: its last detection, how many frames
    it has gone unseen since, and (where a second model keeps it) how many frames since
    that model last confirmed it."""

    face: DetectedFace
    missed: int = 0
    unconfirmed_frames: int | None = None  # None: not kept by the second model
    # Pixels (x, y) a frame the face moved between its last two checks: where its box goes
    # on a frame without a check.
    motion: tuple[float, float] = (0.0, 0.0)

    @property
    def box(self) -> tuple[float, float, float, float]:
        return self.face.box

    @property
    def score(self) -> float:
        return self.face.score

    @property
    def checked_face(self) -> DetectedFace:
        """The face where the second model last confirmed it: less the motions it was moved
        by since."""
        steps = (self.unconfirmed_frames or 1) - 1
        if not steps:
            return self.face
        return moved(self.face, -steps * self.motion[0], -steps * self.motion[1])

    @property
    def checked_box(self) -> tuple[float, float, float, float]:
        return self.checked_face.box


def moved(face: DetectedFace, dx: float, dy: float) -> DetectedFace:
    """The face shifted by (dx, dy) pixels, its keypoints with it."""
    x, y, width, height = face.box
    return DetectedFace((x + dx, y + dy, width, height), face.score,
                        face.keypoints + np.float32([dx, dy]))
