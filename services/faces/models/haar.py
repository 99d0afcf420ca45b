"""OpenCV's Haar cascade, the original notebook's detector: boxes only, no keypoints."""

from __future__ import annotations

import threading

import cv2
import numpy as np

from services.faces.detection import DetectedFace

CASCADE = cv2.data.haarcascades + "haarcascade_frontalface_default.xml"


class HaarDetector:
    """Haar cascades give no calibrated score; every face reports 1.0."""

    def __init__(self, cascade_path: str = CASCADE) -> None:
        self._path = cascade_path
        self._local = threading.local()
        if self._cascade().empty():
            raise ValueError(f"cannot load Haar cascade {cascade_path}")

    def _cascade(self) -> cv2.CascadeClassifier:
        cascade = getattr(self._local, "cascade", None)
        if cascade is None:
            cascade = self._local.cascade = cv2.CascadeClassifier(self._path)
        return cascade

    def detect(self, bgr: np.ndarray, min_score: float) -> list[DetectedFace]:
        gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY) if bgr.ndim == 3 else bgr
        found = self._cascade().detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5,
                                                 minSize=(30, 30))
        return [DetectedFace((float(x), float(y), float(w), float(h)), 1.0)
                for x, y, w, h in found]
