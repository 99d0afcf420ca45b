"""CenterFace: faces in any pose (turned, half covered, in a crowd), through onnxruntime.

An anchor-free detector (MobileNetV2 + FPN) on a stride-4 grid. It sees an RGB image of
0-255 values whose sides are multiples of 32 and answers four maps over the grid: a face-
centre heatmap, the log of each box's height and width over 4, the centre's offset within
its cell, and five landmarks (eyes, nose, mouth corners) relative to the box. It finds the
profiles, faces behind hands, caps and sunglasses that BlazeFace (near-frontal) misses.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import onnxruntime

from services.faces.detection import DetectedFace
from services.faces.geometry import Region, padded_shape, weighted_nms
from services.faces.models.cores import CORES

CENTERFACE_STRIDE = 4
CENTERFACE_SIDE_MULTIPLE = 32
# The file's outputs, in its order: heatmap, box size, centre offset, landmarks.
OUTPUT_CHANNELS = (1, 2, 2, 10)
# A face's box side may span at most this many input pixels (exp of the size map's values
# beyond it is noise far outside the frame).
_MAX_LOG_SIZE = float(np.log(8192 / CENTERFACE_STRIDE))


def decode(heatmap: np.ndarray, size: np.ndarray, offset: np.ndarray, landmarks: np.ndarray,
           min_score: float):
    """Raw maps -> (scores (K,), boxes (K, 4) as x, y, w, h, landmarks (K, 5, 2)) in input
    pixels, one per grid cell scoring `min_score` or more."""
    ys, xs = np.nonzero(heatmap[0, 0] >= min_score)
    scores = heatmap[0, 0, ys, xs].astype(np.float32)
    heights = np.exp(np.minimum(size[0, 0, ys, xs], _MAX_LOG_SIZE)) * CENTERFACE_STRIDE
    widths = np.exp(np.minimum(size[0, 1, ys, xs], _MAX_LOG_SIZE)) * CENTERFACE_STRIDE
    centre_x = (xs + offset[0, 1, ys, xs] + 0.5) * CENTERFACE_STRIDE
    centre_y = (ys + offset[0, 0, ys, xs] + 0.5) * CENTERFACE_STRIDE
    left, top = centre_x - widths / 2, centre_y - heights / 2
    boxes = np.stack([left, top, widths, heights], axis=1).astype(np.float32)
    relative = landmarks[0][:, ys, xs].T.reshape(-1, 5, 2)  # (y, x) pairs in box units
    points = np.stack([left[:, None] + relative[:, :, 1] * widths[:, None],
                       top[:, None] + relative[:, :, 0] * heights[:, None]], axis=-1)
    return scores, boxes, points.astype(np.float32)


def six_keypoints(landmarks: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    """CenterFace's five landmarks (the picture's left eye first, then the right one, the nose,
    the mouth corners) as the API's six keypoints: the mouth centre between the corners, the
    ears estimated at the box's sides at the eyes' height (CenterFace does not place them)."""
    right_eye, left_eye, nose, mouth_a, mouth_b = landmarks
    eye_y = float(right_eye[1] + left_eye[1]) / 2
    x, _, width, _ = box
    return np.array([right_eye, left_eye, nose, (mouth_a + mouth_b) / 2,
                     (x, eye_y), (x + width, eye_y)], np.float32)


def resized(bgr: np.ndarray, scale: float) -> np.ndarray:
    """The image as CenterFace sees it at `scale`: area-averaged down, bilinear up."""
    if scale == 1.0:
        return bgr
    size = (max(1, round(bgr.shape[1] * scale)), max(1, round(bgr.shape[0] * scale)))
    return cv2.resize(bgr, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)


class CenterFaceModel:
    """The prepared CenterFace file (tools/fetch_models.py), runnable at any input shape."""

    def __init__(self, model_path: str | Path, threads: int = 2) -> None:
        self.path = str(model_path)
        options = onnxruntime.SessionOptions()
        self.threads = threads
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        # Idle threads sleep rather than spin: between calls the cores belong to LiteRT
        # (the frontal scan), which spinning threads slowed by half.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = onnxruntime.InferenceSession(self.path, options,
                                                     providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0].name
        channels = tuple(output.shape[1] for output in self._run(
            np.zeros((1, 3, CENTERFACE_SIDE_MULTIPLE, CENTERFACE_SIDE_MULTIPLE), np.float32)))
        if channels != OUTPUT_CHANNELS:
            raise ValueError(f"{self.path}: outputs of {channels} channels; a CenterFace file "
                             f"has {OUTPUT_CHANNELS}")

    def _run(self, blob: np.ndarray, cores_held: bool = False) -> list[np.ndarray]:
        """`cores_held`: the caller already holds this session's threads' cores."""
        if not cores_held:
            # The line for the cores bounds the calls at once (each holds its activations).
            with CORES.holding(self.threads):
                return self._run(blob, cores_held=True)
        return self._session.run(None, {self._input: blob})

    @staticmethod
    def input_shape_for(height: int, width: int) -> tuple[int, int]:
        """The input that holds a height x width image: its sides padded to
        CENTERFACE_SIDE_MULTIPLE."""
        return padded_shape(height, width, CENTERFACE_SIDE_MULTIPLE)

    def detect_raw(self, bgr: np.ndarray, min_score: float, cores_held: bool = False):
        """(scores, boxes, landmarks) of a BGR image placed top-left in its padded input, in
        the image's pixels, before non-maximum suppression."""
        height, width = bgr.shape[:2]
        shape = self.input_shape_for(height, width)
        padded = cv2.copyMakeBorder(bgr, 0, shape[0] - height, 0, shape[1] - width,
                                    cv2.BORDER_CONSTANT, value=0)
        blob = cv2.dnn.blobFromImage(padded, 1.0, swapRB=True)
        return decode(*self._run(blob, cores_held), min_score)

    def detect_region(self, bgr: np.ndarray, region: Region, scale: float, min_score: float,
                      nms_iou: float) -> list[DetectedFace]:
        """Faces in the x, y, w, h `region` of a BGR frame seen at `scale`, best first, in
        frame pixels."""
        x, y, w, h = region
        return self.detect_scaled(bgr[y:y + h, x:x + w], scale, min_score, nms_iou, (x, y))

    def detect_scaled(self, bgr: np.ndarray, scale: float, min_score: float, nms_iou: float,
                      origin: tuple[int, int] = (0, 0)) -> list[DetectedFace]:
        """Faces of an image seen resized by `scale`, best first, in the pixels of the frame
        the image was cut from with its corner at `origin`."""
        return self.detect_resized(resized(bgr, scale), scale, min_score, nms_iou, origin)

    def detect_resized(self, image: np.ndarray, scale: float, min_score: float,
                       nms_iou: float, origin: tuple[int, int] = (0, 0),
                       cores_held: bool = False) -> list[DetectedFace]:
        """Faces of `image`, a region of a frame (its corner at `origin`) already resized
        by `scale`, in the frame's pixels (`cores_held`: see _run)."""
        scores, boxes, landmarks = self.detect_raw(image, min_score, cores_held)
        if len(scores) == 0:
            return []
        offset = np.array(origin, np.float32)
        boxes = boxes / scale
        boxes[:, :2] += offset
        faces = []
        for score, box, points in weighted_nms(scores, boxes, landmarks / scale + offset,
                                               nms_iou):
            box = tuple(float(v) for v in box)
            faces.append(DetectedFace(box, score, six_keypoints(points, box)))
        return faces
