"""MediaPipe's Face Landmarker, run with LiteRT from its .task bundle (a zip of .tflite
files): 478 landmarks of a face (the 468 of the face mesh and five per iris), a
face-presence score, and the 52 blendshapes (expression primitives) computed from them.

The landmark model sees the face framed as MediaPipe frames it: the detector's box 1.5x
its larger side about its centre, turned so the eyes are level, resampled to 256x256,
values in [0, 1]. Its landmarks come back in input pixels and are mapped into the frame.
The blendshape model takes 146 of them, x and y in frame pixels, in MediaPipe's order.
"""

from __future__ import annotations

import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from services.faces.models.face_mesh import region_transform
from services.faces.models.litert_pool import InterpreterPool, input_shape, output_sizes

LANDMARKER_INPUT_SIZE = 256
LANDMARKER_ROI_SCALE = 1.5
LANDMARK_COUNT = 478
LANDMARKS_FILE = "face_landmarks_detector.tflite"
BLENDSHAPES_FILE = "face_blendshapes.tflite"
# MediaPipe's canonical face (a GeometryPipelineMetadata protobuf): the mesh's 468 points on
# an upright, frontal head, and the weights of the points its pose fit uses.
GEOMETRY_FILE = "geometry_pipeline_metadata_landmarks.binarypb"
# The landmarks the blendshape model takes, in its input's order (MediaPipe's
# face_blendshapes_graph.cc).
BLENDSHAPE_LANDMARKS = (
    0, 1, 4, 5, 6, 7, 8, 10, 13, 14, 17, 21, 33, 37, 39, 40, 46, 52, 53, 54, 55, 58, 61, 63,
    65, 66, 67, 70, 78, 80, 81, 82, 84, 87, 88, 91, 93, 95, 103, 105, 107, 109, 127, 132,
    133, 136, 144, 145, 146, 148, 149, 150, 152, 153, 154, 155, 157, 158, 159, 160, 161, 162,
    163, 168, 172, 173, 176, 178, 181, 185, 191, 195, 197, 234, 246, 249, 251, 263, 267, 269,
    270, 276, 282, 283, 284, 285, 288, 291, 293, 295, 296, 297, 300, 308, 310, 311, 312, 314,
    317, 318, 321, 323, 324, 332, 334, 336, 338, 356, 361, 362, 365, 373, 374, 375, 377, 378,
    379, 380, 381, 382, 384, 385, 386, 387, 388, 389, 390, 397, 398, 400, 402, 405, 409, 415,
    454, 466, 468, 469, 470, 471, 472, 473, 474, 475, 476, 477)
# The blendshape model's outputs, in its order; "Left" and "Right" are the subject's.
BLENDSHAPE_NAMES = (
    "_neutral", "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft",
    "browOuterUpRight", "cheekPuff", "cheekSquintLeft", "cheekSquintRight", "eyeBlinkLeft",
    "eyeBlinkRight", "eyeLookDownLeft", "eyeLookDownRight", "eyeLookInLeft", "eyeLookInRight",
    "eyeLookOutLeft", "eyeLookOutRight", "eyeLookUpLeft", "eyeLookUpRight", "eyeSquintLeft",
    "eyeSquintRight", "eyeWideLeft", "eyeWideRight", "jawForward", "jawLeft", "jawOpen",
    "jawRight", "mouthClose", "mouthDimpleLeft", "mouthDimpleRight", "mouthFrownLeft",
    "mouthFrownRight", "mouthFunnel", "mouthLeft", "mouthLowerDownLeft", "mouthLowerDownRight",
    "mouthPressLeft", "mouthPressRight", "mouthPucker", "mouthRight", "mouthRollLower",
    "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper", "mouthSmileLeft",
    "mouthSmileRight", "mouthStretchLeft", "mouthStretchRight", "mouthUpperUpLeft",
    "mouthUpperUpRight", "noseSneerLeft", "noseSneerRight")


@dataclass(frozen=True)
class FaceLandmarks:
    points: np.ndarray  # (478, 3): x, y in frame pixels, z (depth) in the same scale
    presence: float  # probability that the region held a face


@dataclass(frozen=True)
class CanonicalFace:
    points: np.ndarray  # (468, 3): x to the picture's right, y up, z towards the camera
    weights: np.ndarray  # (468,): each point's weight in a pose fit (most are 0)


def read_task(path: str | Path) -> dict[str, bytes]:
    """The files of a .task bundle, by name."""
    with zipfile.ZipFile(path) as bundle:
        return {name: bundle.read(name) for name in bundle.namelist()}


def _fields(message: bytes):
    """(field number, value) of a protobuf message: ints for varints, bytes otherwise."""
    at = 0
    while at < len(message):
        key, at = _varint(message, at)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, at = _varint(message, at)
        elif wire == 2:
            size, at = _varint(message, at)
            value, at = message[at:at + size], at + size
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
            value, at = message[at:at + size], at + size
        else:
            raise ValueError(f"protobuf wire type {wire} is not one a geometry file holds")
        yield number, value


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, at


def read_canonical_face(geometry: bytes) -> CanonicalFace:
    """The canonical mesh (field 1: its vertex buffer of x, y, z, u, v per point) and the
    pose fit's landmark weights (field 2: landmark id, weight) of a geometry file."""
    vertices: list[float] = []
    weights = np.zeros(LANDMARK_COUNT - 10, np.float64)
    for number, value in _fields(geometry):
        if number == 1:
            vertices += [struct.unpack("<f", raw)[0] for field, raw in _fields(value)
                         if field == 3]
        elif number == 2:
            entry = dict(_fields(value))
            weights[entry[1]] = struct.unpack("<f", entry[2])[0]
    points = np.array(vertices, np.float64).reshape(-1, 5)[:, :3]
    if points.shape != (len(weights), 3) or not weights.any():
        raise ValueError(f"{GEOMETRY_FILE}: not a 468-point canonical face with pose weights")
    return CanonicalFace(points, weights)


class FaceLandmarker:
    """The bundle's landmark and blendshape models, callable from many threads."""

    def __init__(self, task_path: str | Path, threads: int = 1) -> None:
        files = read_task(task_path)
        missing = {LANDMARKS_FILE, BLENDSHAPES_FILE, GEOMETRY_FILE} - files.keys()
        if missing:
            raise ValueError(f"{task_path}: no {', '.join(sorted(missing))} in the bundle; "
                             "is it MediaPipe's face_landmarker.task?")
        landmarks, blendshapes = files[LANDMARKS_FILE], files[BLENDSHAPES_FILE]
        side = LANDMARKER_INPUT_SIZE
        if (input_shape(landmarks) != [1, side, side, 3]
                or output_sizes(landmarks)[-1] != LANDMARK_COUNT * 3):
            raise ValueError(f"{task_path}: {LANDMARKS_FILE} is not a 256x256 model of 478 "
                             "landmarks")
        if (input_shape(blendshapes) != [1, len(BLENDSHAPE_LANDMARKS), 2]
                or output_sizes(blendshapes) != [len(BLENDSHAPE_NAMES)]):
            raise ValueError(f"{task_path}: {BLENDSHAPES_FILE} does not map 146 landmarks to "
                             "52 blendshapes")
        self.canonical = read_canonical_face(files[GEOMETRY_FILE])
        self._landmarks = InterpreterPool(landmarks, threads)
        self._blendshapes = InterpreterPool(blendshapes, threads)

    def landmarks(self, rgb: np.ndarray, box: tuple[float, float, float, float],
                  keypoints: np.ndarray) -> FaceLandmarks:
        """The face's landmarks, framed by the detector's box and eyes (keypoints 0, 1)."""
        side = LANDMARKER_INPUT_SIZE
        matrix = region_transform(box, keypoints, side, LANDMARKER_ROI_SCALE)
        crop = cv2.warpAffine(rgb, matrix, (side, side), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT)
        outputs = self._landmarks.run((crop.astype(np.float32) / 255.0)[None])
        logit = float(outputs[0].ravel()[0])
        points = outputs[-1].reshape(LANDMARK_COUNT, 3).astype(np.float64)
        inverse = cv2.invertAffineTransform(matrix)
        xy = points[:, :2] @ inverse[:, :2].T + inverse[:, 2]
        depth = points[:, 2:] * np.hypot(*inverse[:, 0])  # input pixels -> frame pixels
        presence = float(1.0 / (1.0 + np.exp(-logit)))
        return FaceLandmarks(np.hstack([xy, depth]).astype(np.float32), presence)

    def blendshapes(self, landmarks: FaceLandmarks) -> np.ndarray:
        """The 52 blendshape scores, in BLENDSHAPE_NAMES' order, each in [0, 1]."""
        subset = landmarks.points[list(BLENDSHAPE_LANDMARKS), :2].astype(np.float32)
        return self._blendshapes.run(subset[None])[0].reshape(-1).astype(np.float32)
