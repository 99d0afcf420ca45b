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

import os
import queue
import threading
from pathlib import Path

import cv2
import numpy as np
from ai_edge_litert.interpreter import Interpreter

FACE_MESH_INPUT_SIZE = 192
# MediaPipe's face-landmark region: the detection box scaled by this about its centre.
FACE_MESH_ROI_SCALE = 1.5


class FaceMeshModel:
    """One Face Mesh file, callable from many threads (an interpreter per call at once)."""

    def __init__(self, model_path: str | Path, threads: int = 1,
                 max_running: int | None = None) -> None:
        self._path = str(model_path)
        self._threads = threads
        probe = Interpreter(self._path)
        shape = list(probe.get_input_details()[0]["shape"])
        if shape != [1, FACE_MESH_INPUT_SIZE, FACE_MESH_INPUT_SIZE, 3]:
            raise ValueError(f"{self._path}: input shape {shape} is not [1, 192, 192, 3]; "
                             "is it face_landmark.tflite?")
        widths = sorted(int(np.prod(o["shape"])) for o in probe.get_output_details())
        if widths != [1, 468 * 3]:
            raise ValueError(f"{self._path}: outputs of {widths} values; expected the "
                             "presence logit and 468 landmarks")
        if max_running is None:
            max_running = max(1, (os.cpu_count() or 1) // threads)
        self._running = threading.BoundedSemaphore(max_running)
        self._idle: queue.SimpleQueue[_Runner] = queue.SimpleQueue()

    def presence(self, rgb: np.ndarray, box: tuple[float, float, float, float],
                 keypoints: np.ndarray) -> float:
        """Probability that the box (x, y, w, h in frame pixels) holds a face, given the
        detector's keypoints (right eye, left eye first) for the region's rotation."""
        tensor = region_tensor(rgb, box, keypoints)
        with self._running:
            try:
                runner = self._idle.get_nowait()
            except queue.Empty:
                runner = _Runner(self._path, self._threads)
            try:
                logit = runner.run(tensor)
            finally:
                self._idle.put(runner)
        return float(1.0 / (1.0 + np.exp(-logit)))


class _Runner:
    """One interpreter with its tensor indices looked up once."""

    def __init__(self, path: str, threads: int) -> None:
        self.interpreter = Interpreter(path, num_threads=threads)
        self.interpreter.allocate_tensors()
        self.input_index = self.interpreter.get_input_details()[0]["index"]
        self.logit_index = min(self.interpreter.get_output_details(),
                               key=lambda o: int(np.prod(o["shape"])))["index"]

    def run(self, tensor: np.ndarray) -> float:
        self.interpreter.set_tensor(self.input_index, tensor)
        self.interpreter.invoke()
        return float(self.interpreter.get_tensor(self.logit_index).ravel()[0])


def region_tensor(rgb: np.ndarray, box: tuple[float, float, float, float],
                  keypoints: np.ndarray) -> np.ndarray:
    """The model's input: the box's region, FACE_MESH_ROI_SCALE times its larger side, eyes level,
    resampled to 192x192, values in [0, 1] (outside the frame: black)."""
    x, y, w, h = box
    centre = (x + w / 2, y + h / 2)
    eye_right, eye_left = keypoints[0], keypoints[1]
    angle = float(np.degrees(np.arctan2(eye_left[1] - eye_right[1], eye_left[0] - eye_right[0])))
    side = max(w, h) * FACE_MESH_ROI_SCALE
    matrix = cv2.getRotationMatrix2D(centre, angle, FACE_MESH_INPUT_SIZE / side)
    matrix[0, 2] += FACE_MESH_INPUT_SIZE / 2 - centre[0]
    matrix[1, 2] += FACE_MESH_INPUT_SIZE / 2 - centre[1]
    crop = cv2.warpAffine(rgb, matrix, (FACE_MESH_INPUT_SIZE, FACE_MESH_INPUT_SIZE), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT)
    return (crop.astype(np.float32) / 255.0)[None]
