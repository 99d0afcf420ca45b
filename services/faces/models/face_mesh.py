"""MediaPipe's Face Mesh, asked one question: is there a face in this box?

The mesh model (192x192 RGB in [0, 1], from the same wheel as BlazeFace) returns 468
landmarks and a face-presence logit for a region framed the way MediaPipe frames it: the
detector's box enlarged 1.5x about its centre, turned so the eyes are level. The presence
output was trained to tell faces from whatever else a detector hands it, so it is a second
opinion independent of BlazeFace's own scores. Its landmarks are not used: aligning crops
on them instead of BlazeFace's keypoints did not agree better with the emotion model's
label (docs/detection.md).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from services.faces.models.litert_pool import InterpreterPool, input_shape, output_sizes

FACE_MESH_INPUT_SIZE = 192
# MediaPipe's face-landmark region: the detection box scaled by this about its centre.
FACE_MESH_ROI_SCALE = 1.5


class FaceMeshModel:
    """One Face Mesh file, callable from many threads."""

    def __init__(self, model_path: str | Path, threads: int = 1,
                 max_running: int | None = None) -> None:
        path = str(model_path)
        model = Path(path).read_bytes()
        shape = input_shape(model)
        if shape != [1, FACE_MESH_INPUT_SIZE, FACE_MESH_INPUT_SIZE, 3]:
            raise ValueError(f"{path}: input shape {shape} is not [1, 192, 192, 3]; "
                             "is it face_landmark.tflite?")
        widths = output_sizes(model)
        if widths != [1, 468 * 3]:
            raise ValueError(f"{path}: outputs of {widths} values; expected the "
                             "presence logit and 468 landmarks")
        self._pool = InterpreterPool(model, threads, max_running)

    def presence(self, rgb: np.ndarray, box: tuple[float, float, float, float],
                 keypoints: np.ndarray) -> float:
        """Probability that the box (x, y, w, h in frame pixels) holds a face, given the
        detector's keypoints (right eye, left eye first) for the region's rotation."""
        logit = float(self._pool.run(region_tensor(rgb, box, keypoints), outputs=1)[0].ravel()[0])
        return float(1.0 / (1.0 + np.exp(-logit)))


def region_transform(box: tuple[float, float, float, float], keypoints: np.ndarray,
                     size: int, scale: float) -> np.ndarray:
    """The 2x3 affine that maps a face's region (the box `scale` times its larger side
    about its centre, turned so the eyes are level) onto a size x size input: how
    MediaPipe frames a face for its landmark models."""
    x, y, w, h = box
    centre = (x + w / 2, y + h / 2)
    eye_right, eye_left = keypoints[0], keypoints[1]
    angle = float(np.degrees(np.arctan2(eye_left[1] - eye_right[1], eye_left[0] - eye_right[0])))
    matrix = cv2.getRotationMatrix2D(centre, angle, size / (max(w, h) * scale))
    matrix[0, 2] += size / 2 - centre[0]
    matrix[1, 2] += size / 2 - centre[1]
    return matrix


def region_tensor(rgb: np.ndarray, box: tuple[float, float, float, float],
                  keypoints: np.ndarray) -> np.ndarray:
    """The model's input: the box's region, FACE_MESH_ROI_SCALE times its larger side, eyes
    level, resampled to 192x192, values in [0, 1] (outside the frame: black)."""
    matrix = region_transform(box, keypoints, FACE_MESH_INPUT_SIZE, FACE_MESH_ROI_SCALE)
    crop = cv2.warpAffine(rgb, matrix, (FACE_MESH_INPUT_SIZE, FACE_MESH_INPUT_SIZE),
                          flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    return (crop.astype(np.float32) / 255.0)[None]
