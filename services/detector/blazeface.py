"""BlazeFace short-range (MediaPipe) through OpenCV DNN: no TensorFlow needed.

The model sees a 128x128 RGB image scaled to [-1, 1] and scores 896 SSD anchors: a 16x16
grid with 2 anchors per cell (stride 8) and an 8x8 grid with 6 per cell (stride 16), all
of size 1. For each anchor it regresses a box centre offset, box size and 6 keypoints, in
input pixels (so /128 gives anchor-relative units). The frame is letterboxed (aspect kept,
padded) so faces are not squashed, and results are mapped back to frame pixels.
"""

from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np

from services.detector.faces import DetectedFace

INPUT_SIZE = 128
# (stride, anchors per cell) of the short-range model's two SSD layers.
ANCHOR_LAYOUT = ((8, 2), (16, 6))


def make_anchors(input_size: int = INPUT_SIZE, layout=ANCHOR_LAYOUT) -> np.ndarray:
    """(896, 2) anchor centres in [0, 1], row-major over each grid, in output order."""
    centres = []
    for stride, per_cell in layout:
        grid = input_size // stride
        ys, xs = np.meshgrid(np.arange(grid), np.arange(grid), indexing="ij")
        cells = np.stack([(xs + 0.5) / grid, (ys + 0.5) / grid], axis=-1).reshape(-1, 2)
        centres.append(np.repeat(cells, per_cell, axis=0))
    return np.concatenate(centres).astype(np.float32)


def decode(regressors: np.ndarray, logits: np.ndarray, anchors: np.ndarray,
           min_score: float, input_size: int = INPUT_SIZE):
    """Raw outputs -> (scores (K,), boxes (K, 4) as x, y, w, h, keypoints (K, 6, 2)).

    Everything is in [0, 1] units of the model input; only anchors scoring at least
    `min_score` are kept.
    """
    scores = 1.0 / (1.0 + np.exp(-np.clip(logits.reshape(-1), -80.0, 80.0)))
    keep = scores >= min_score
    raw = regressors.reshape(-1, 16)[keep] / input_size
    centres = anchors[keep]
    size = raw[:, 2:4]
    boxes = np.concatenate([centres + raw[:, 0:2] - size / 2, size], axis=1)
    keypoints = centres[:, None, :] + raw[:, 4:16].reshape(-1, 6, 2)
    return scores[keep], boxes, keypoints


def _iou(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    """IoU of one x, y, w, h box with each of `others`."""
    x1 = np.maximum(box[0], others[:, 0])
    y1 = np.maximum(box[1], others[:, 1])
    x2 = np.minimum(box[0] + box[2], others[:, 0] + others[:, 2])
    y2 = np.minimum(box[1] + box[3], others[:, 1] + others[:, 3])
    overlap = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    union = box[2] * box[3] + others[:, 2] * others[:, 3] - overlap
    return overlap / np.maximum(union, 1e-9)


def weighted_nms(scores: np.ndarray, boxes: np.ndarray, keypoints: np.ndarray,
                 iou_threshold: float):
    """MediaPipe's weighted non-maximum suppression.

    BlazeFace fires several neighbouring anchors per face. Plain NMS keeps the best one and
    its noise; this keeps the best score but averages the boxes and keypoints of every
    anchor overlapping it, weighted by score, which steadies them from frame to frame.
    """
    order = np.argsort(-scores)
    remaining = order
    kept = []
    while len(remaining):
        top = remaining[0]
        cluster_mask = _iou(boxes[top], boxes[remaining]) >= iou_threshold
        cluster = remaining[cluster_mask]
        weights = scores[cluster][:, None]
        box = (boxes[cluster] * weights).sum(axis=0) / weights.sum()
        points = (keypoints[cluster] * weights[:, :, None]).sum(axis=0) / weights.sum()
        kept.append((float(scores[top]), box, points))
        remaining = remaining[~cluster_mask]
    return kept


class Letterbox:
    """Fit a frame into a square input keeping its aspect ratio; map points back."""

    def __init__(self, width: int, height: int, size: int = INPUT_SIZE) -> None:
        self.scale = size / max(width, height)
        self.resized = (max(1, round(width * self.scale)), max(1, round(height * self.scale)))
        self.pad_x = (size - self.resized[0]) // 2
        self.pad_y = (size - self.resized[1]) // 2
        self.size = size

    def apply(self, image: np.ndarray) -> np.ndarray:
        resized = cv2.resize(image, self.resized, interpolation=cv2.INTER_AREA)
        return cv2.copyMakeBorder(
            resized, self.pad_y, self.size - self.resized[1] - self.pad_y,
            self.pad_x, self.size - self.resized[0] - self.pad_x, cv2.BORDER_CONSTANT, value=0)

    def to_frame(self, points: np.ndarray) -> np.ndarray:
        """Points in [0, 1] input units (..., 2) -> frame pixels."""
        pixels = points * self.size - np.array([self.pad_x, self.pad_y], np.float32)
        return pixels / self.scale


class BlazeFaceDetector:
    """Thread-safe: each thread gets its own cv2.dnn.Net (a Net is not re-entrant)."""

    def __init__(self, model_path: str | Path, nms_iou: float = 0.3) -> None:
        self._model_path = str(model_path)
        self._nms_iou = nms_iou
        self._anchors = make_anchors()
        self._local = threading.local()
        self._net()  # fail at start-up, not on the first frame, if the model is bad

    def _net(self) -> cv2.dnn.Net:
        net = getattr(self._local, "net", None)
        if net is None:
            net = cv2.dnn.readNetFromTFLite(self._model_path)
            self._local.net = net
        return net

    def detect(self, bgr: np.ndarray, min_score: float) -> list[DetectedFace]:
        height, width = bgr.shape[:2]
        letterbox = Letterbox(width, height)
        blob = cv2.dnn.blobFromImage(letterbox.apply(bgr), 1 / 127.5, swapRB=True,
                                     mean=(127.5, 127.5, 127.5))
        net = self._net()
        net.setInput(blob)
        logits, regressors = net.forward(["classificators", "regressors"])
        scores, boxes, keypoints = decode(regressors, logits, self._anchors, min_score)
        if len(scores) == 0:
            return []
        faces = []
        for score, box, points in weighted_nms(scores, boxes, keypoints, self._nms_iou):
            corner = letterbox.to_frame(box[:2])
            size = box[2:] * letterbox.size / letterbox.scale
            faces.append(DetectedFace((float(corner[0]), float(corner[1]), float(size[0]), float(size[1])),
                                      score, letterbox.to_frame(points).astype(np.float32)))
        return faces
