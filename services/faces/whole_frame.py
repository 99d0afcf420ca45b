"""The single-pass backends: one model over the whole frame, shrunk to fit its input."""

from __future__ import annotations

import cv2
import numpy as np

from services.faces.detection import DetectedFace
from services.faces.geometry import scale_within
from services.faces.models.blazeface import BlazeFaceModel
from services.faces.models.centerface import CenterFaceModel


class WholeFrameDetector:
    """The whole frame in one BlazeFace input: large faces only (the first release's
    detector, and the full-range model's only way of running)."""

    def __init__(self, model: BlazeFaceModel, *, nms_iou: float) -> None:
        self._model = model
        self._nms_iou = nms_iou

    def detect(self, bgr: np.ndarray, min_score: float) -> list[DetectedFace]:
        height, width = bgr.shape[:2]
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        scale = self._model.input_size / max(width, height)
        return self._model.detect_region(rgb, (0, 0, width, height), scale, min_score,
                                         self._nms_iou)


class CenterFaceDetector:
    """CenterFace alone, one pass over the whole frame (scaled to at most `max_pixels`)."""

    def __init__(self, model: CenterFaceModel, *, max_pixels: int, nms_iou: float) -> None:
        self.model = model
        self.max_pixels = max_pixels
        self.nms_iou = nms_iou

    def detect(self, bgr: np.ndarray, min_score: float) -> list[DetectedFace]:
        height, width = bgr.shape[:2]
        return self.model.detect_scaled(bgr, scale_within(width, height, self.max_pixels),
                                        min_score, self.nms_iou)
