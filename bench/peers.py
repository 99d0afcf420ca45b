"""What people use today, on the same frames: the `fer` package, and the original
notebook's loop done correctly (Haar cascade, then Keras `model.predict` per face)."""

from __future__ import annotations

import logging
import warnings

import cv2
import numpy as np

from bench.measure import each_frame_for
from devkit import ROOT


def fer_fps(frames: list[np.ndarray], seconds: float) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fer.fer import FER  # noqa: PLC0415 - only the benchmark needs fer

        detector = FER()  # its defaults: Haar cascade, its bundled model
    logging.getLogger("fer").setLevel(logging.WARNING)
    return each_frame_for(seconds, frames, detector.detect_emotions).per_s


def notebook_loop_fps(frames: list[np.ndarray], seconds: float) -> float:
    import keras  # noqa: PLC0415

    model = keras.models.load_model(ROOT / "models/emotion_model.hdf5", compile=False)
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")

    def one_frame(frame: np.ndarray) -> None:
        gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        for x, y, w, h in cascade.detectMultiScale(gray, 1.1, 5, minSize=(30, 30)):
            face = cv2.resize(gray[y:y + h, x:x + w], (64, 64)).astype(np.float32) / 127.5 - 1
            model.predict(face[None, :, :, None], verbose=0)

    one_frame(frames[0])  # Keras builds its predict function on the first call
    return each_frame_for(seconds, frames, one_frame).per_s
