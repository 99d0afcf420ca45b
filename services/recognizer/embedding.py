"""Face embeddings with dlib's ResNet (128-d; its published LFW accuracy is in
docs/recognizer.md).

The network was trained on 150x150 chips aligned by dlib's 5-point shape predictor, so
faces are aligned exactly that way here, whatever found them. dlib reads contiguous RGB
uint8: the BGR frames of the rest of the project are converted first (a mix-up moves a
descriptor by ~0.17, a third of the match threshold).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

MODEL_NAME = "dlib_resnet_v1"
DIMENSIONS = 128
CHIP_SIZE = 150
# dlib's own default padding around the aligned face, the chip the ResNet was trained on.
CHIP_PADDING = 0.25
# Published for this model: same person when the Euclidean distance is below 0.6.
MATCH_DISTANCE = 0.6


class FaceEmbedder:
    def __init__(self, shape_predictor: str | Path, resnet: str | Path) -> None:
        import dlib  # noqa: PLC0415 - the recognizer alone needs dlib

        self._dlib = dlib
        self._shape_predictor = dlib.shape_predictor(str(shape_predictor))
        self._resnet = dlib.face_recognition_model_v1(str(resnet))

    def embed(self, bgr: np.ndarray, boxes: Sequence[Sequence[float]]) -> np.ndarray:
        """(len(boxes), 128) embeddings of the faces in `boxes` (x, y, w, h). Not
        rescaled: the published threshold is for dlib's own vectors (norm ~1.4-1.6;
        scaled to unit length, 142 of the 300 identity pairs come out right, not 299)."""
        if not boxes:
            return np.zeros((0, DIMENSIONS), np.float32)
        rgb = np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        shapes = self._dlib.full_object_detections()
        for x, y, width, height in boxes:
            rectangle = self._dlib.rectangle(int(round(x)), int(round(y)),
                                             int(round(x + width)), int(round(y + height)))
            shapes.append(self._shape_predictor(rgb, rectangle))
        vectors = self._resnet.compute_face_descriptor(rgb, shapes, 0, CHIP_PADDING)
        return np.array([list(v) for v in vectors], np.float32)
