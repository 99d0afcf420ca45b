"""What people use today, on the same frames: the `fer` package, and the original
notebook's loop done correctly (Haar cascade, then Keras `model.predict` per face)."""

from __future__ import annotations

import logging
import warnings

import cv2
import numpy as np

from bench.measure import ROOT, repeat_for


def fer_fps(frames: list[np.ndarray], seconds: float) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fer.fer import FER  # noqa: PLC0415 - only the benchmark needs fer

        detector = FER()  # its defaults: Haar cascade, its bundled model
    logging.getLogger("fer").setLevel(logging.WARNING)
    index = iter(range(1 << 30))
    return repeat_for(seconds, lambda: (detector.detect_emotions(frames[next(index) % len(frames)]), 1)[1]).per_s


def notebook_loop_fps(frames: list[np.ndarray], seconds: float) -> float:
    import keras  # noqa: PLC0415

    model = keras.models.load_model(ROOT / "models/emotion_model.hdf5", compile=False)
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")

    def one_frame(frame: np.ndarray) -> int:
        gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        for x, y, w, h in cascade.detectMultiScale(gray, 1.1, 5, minSize=(30, 30)):
            face = cv2.resize(gray[y:y + h, x:x + w], (64, 64)).astype(np.float32) / 127.5 - 1
            model.predict(face[None, :, :, None], verbose=0)
        return 1

    index = iter(range(1 << 30))
    one_frame(frames[0])
    return repeat_for(seconds, lambda: one_frame(frames[next(index) % len(frames)])).per_s
