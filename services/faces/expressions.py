"""What a face's expression says beyond one label: MediaPipe's 52 blendshapes, where the
eyes look (gaze) and whether that is the camera (looking). No gRPC here.

Gaze is the head's direction plus the eyes' turn within the head:
- the head's direction is the rotation that best maps MediaPipe's canonical face onto the
  mesh's 3D landmarks (a weighted least-squares fit on the points MediaPipe weights for
  its own pose). The landmark model sees the face as its own crop shows it, so this is
  relative to the line from the face to the camera: 0, 0 is looking into the camera;
- each eye's turn is its iris centre's offset from the middle of the eye's outline, in the
  face's own frame (roll removed), read as the rotation of an eyeball whose radius is a
  fixed share of the eye's width; the two eyes are averaged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

import numpy as np

from services.faces.detection import DetectedFace
from services.faces.models.face_landmarker import CanonicalFace, FaceLandmarker
from services.faces.pose import HeadPose

# Each eye's outline on the mesh (its corners first: outer, inner) and its iris centre;
# "right" is the subject's right, the picture's left.
RIGHT_EYE = (33, 133, 7, 163, 144, 145, 153, 154, 155, 173, 157, 158, 159, 160, 161, 246)
LEFT_EYE = (263, 362, 249, 390, 373, 374, 380, 381, 382, 398, 384, 385, 386, 387, 388, 466)
RIGHT_IRIS, LEFT_IRIS = 468, 473
# An eyeball's radius as a share of the eye opening's width (corner to corner): the
# opening spans about 100 degrees of the eyeball's surface.
EYEBALL_RADIUS_PER_WIDTH = 0.65


class ExpressionStatus(Enum):
    OK = "ok"
    NOT_REQUESTED = "not_requested"
    FACE_TOO_SMALL = "face_too_small"
    FACE_TURNED = "face_turned"
    NOT_SEEN = "not_seen"
    OVER_BUDGET = "over_budget"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class Gaze:
    yaw: float  # > 0 towards the picture's right, 0 into the camera
    pitch: float  # > 0 up


@dataclass(frozen=True)
class Expression:
    blendshapes: np.ndarray  # (52,) in face_landmarker.BLENDSHAPE_NAMES' order
    gaze: Gaze
    looking: bool


@dataclass(frozen=True)
class ExpressionSettings:
    min_face_px: float  # smaller faces are not read
    max_yaw: float  # faces turned further (|yaw|, degrees) are not read
    looking_cone_deg: float  # a gaze this close to the camera counts as looking at it
    min_presence: float = 0.5  # the mesh's own face-presence threshold (MediaPipe's)


def mesh_pose(points: np.ndarray, canonical: CanonicalFace) -> HeadPose:
    """The head's pose from its landmarks (x, y down, z away, any scale): the weighted
    least-squares rotation of the canonical face onto them (Umeyama's method)."""
    observed = points[:len(canonical.points)].astype(np.float64) * np.array([1.0, -1.0, -1.0])
    weights = canonical.weights / canonical.weights.sum()
    source = canonical.points - weights @ canonical.points
    target = observed - weights @ observed
    u, _, vt = np.linalg.svd((target * weights[:, None]).T @ source)
    rotation = u @ np.diag([1.0, 1.0, np.sign(np.linalg.det(u @ vt))]) @ vt
    nose = rotation[:, 2]  # where the canonical face's front now points
    across = rotation[:, 0]
    return HeadPose(yaw=math.degrees(math.atan2(nose[0], nose[2])),
                    pitch=math.degrees(math.atan2(nose[1], math.hypot(nose[0], nose[2]))),
                    roll=math.degrees(math.atan2(-across[1], across[0])))


def eye_turn(points: np.ndarray) -> tuple[float, float]:
    """(yaw, pitch) of the eyes within the head, in degrees, the two eyes averaged."""
    turns = []
    for outline, iris in ((RIGHT_EYE, RIGHT_IRIS), (LEFT_EYE, LEFT_IRIS)):
        a, b = points[outline[0], :2], points[outline[1], :2]
        left_to_right = b - a if a[0] < b[0] else a - b
        width = float(np.linalg.norm(left_to_right))
        if width <= 0:
            continue
        along = left_to_right / width
        down = np.array([-along[1], along[0]])  # the face's own "down", roll removed
        offset = points[iris, :2] - points[list(outline), :2].mean(axis=0)
        radius = EYEBALL_RADIUS_PER_WIDTH * width
        turns.append((math.degrees(math.asin(float(np.clip(offset @ along / radius, -1, 1)))),
                      -math.degrees(math.asin(float(np.clip(offset @ down / radius, -1, 1))))))
    if not turns:
        return 0.0, 0.0
    yaw, pitch = np.mean(turns, axis=0)
    return float(yaw), float(pitch)


def gaze_of(points: np.ndarray, canonical: CanonicalFace) -> Gaze:
    pose = mesh_pose(points, canonical)
    eyes_yaw, eyes_pitch = eye_turn(points)
    return Gaze(pose.yaw + eyes_yaw, pose.pitch + eyes_pitch)


class ExpressionReader:
    """Reads faces with a FaceLandmarker, within the settings' limits."""

    def __init__(self, landmarker: FaceLandmarker, settings: ExpressionSettings) -> None:
        self.landmarker = landmarker
        self.settings = settings

    def status_before(self, face: DetectedFace, pose: HeadPose | None) -> ExpressionStatus | None:
        """Why the face is not read, judged before any model runs; None when it is read."""
        if max(face.box[2:]) < self.settings.min_face_px:
            return ExpressionStatus.FACE_TOO_SMALL
        if len(face.keypoints) < 2 or (pose is not None and abs(pose.yaw) > self.settings.max_yaw):
            return ExpressionStatus.FACE_TURNED
        return None

    def read(self, rgb: np.ndarray, face: DetectedFace) -> tuple[ExpressionStatus,
                                                                 Expression | None]:
        landmarks = self.landmarker.landmarks(rgb, face.box, face.keypoints)
        if landmarks.presence < self.settings.min_presence:
            return ExpressionStatus.NOT_SEEN, None
        gaze = gaze_of(landmarks.points, self.landmarker.canonical)
        looking = math.hypot(gaze.yaw, gaze.pitch) <= self.settings.looking_cone_deg
        return ExpressionStatus.OK, Expression(self.landmarker.blendshapes(landmarks), gaze,
                                               looking)

    def read_all(self, rgb: np.ndarray, faces: list[tuple[DetectedFace, HeadPose | None]],
                 budget: int) -> list[tuple[ExpressionStatus, Expression | None]]:
        """Each face's expression, in the order given: the `budget` largest faces that can
        be read are, the others are marked OVER_BUDGET."""
        answers: list[tuple[ExpressionStatus, Expression | None]] = [
            (status, None) if status is not None else (ExpressionStatus.OVER_BUDGET, None)
            for status in (self.status_before(face, pose) for face, pose in faces)]
        readable = [index for index, (status, _) in enumerate(answers)
                    if status is ExpressionStatus.OVER_BUDGET]
        readable.sort(key=lambda index: -max(faces[index][0].box[2:]))
        for index in readable[:budget]:
            answers[index] = self.read(rgb, faces[index][0])
        return answers
