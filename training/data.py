"""FER+ as training data: images, vote distributions over eight emotions, a fixed split.

A FER+ folder holds 48x48 gray PNGs and `label.csv`: per image its file name, the face
box, then ten vote counts in this order: neutral, happiness, surprise, sadness, anger,
disgust, fear, contempt, unknown, NF (not a face). A face whose majority vote is unknown
or not-a-face is dropped; the others keep their emotion votes, normalized, as the target.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

VOTE_COLUMNS = ("neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear",
                "contempt", "unknown", "NF")
# The project's label vocabulary (the classifier's FER labels, then contempt).
LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral", "contempt")
_TO_LABEL = {"anger": "angry", "disgust": "disgust", "fear": "fear", "happiness": "happy",
             "sadness": "sad", "surprise": "surprise", "neutral": "neutral", "contempt": "contempt"}
_ORDER = [VOTE_COLUMNS.index(next(column for column, name in _TO_LABEL.items() if name == label))
          for label in LABELS]


@dataclass
class Faces:
    images: np.ndarray  # (N, 48, 48) uint8
    targets: np.ndarray  # (N, 8) float32, rows sum to 1, in LABELS order
    names: list[str]


def load_ferplus(folder: Path) -> Faces:
    """`folder` holds label.csv, or is the FER+ root whose train/ holds it."""
    if not (folder / "label.csv").exists() and (folder / "train" / "label.csv").exists():
        folder = folder / "train"
    images, targets, names = [], [], []
    with open(folder / "label.csv", newline="", encoding="utf-8") as file:
        for row in csv.reader(file):
            if len(row) != 2 + len(VOTE_COLUMNS):
                continue
            votes = np.array([float(v) for v in row[2:]], np.float32)
            if votes.argmax() >= len(_TO_LABEL):  # majority unknown or not a face
                continue
            emotions = votes[_ORDER]
            image = cv2.imread(str(folder / row[0]), cv2.IMREAD_GRAYSCALE)
            if emotions.sum() == 0 or image is None:
                continue
            if image.shape != (48, 48):
                image = cv2.resize(image, (48, 48), interpolation=cv2.INTER_AREA)
            images.append(image)
            targets.append(emotions / emotions.sum())
            names.append(row[0])
    if not images:
        raise SystemExit(f"{folder}: no usable faces (label.csv and its PNGs expected)")
    return Faces(np.stack(images), np.stack(targets), names)


def split(count: int, validation: float = 0.1, seed: int = 2026) -> tuple[np.ndarray, np.ndarray]:
    """Fixed, seeded train / validation indices."""
    order = np.random.default_rng(seed).permutation(count)
    cut = max(1, int(round(count * validation)))
    return np.sort(order[cut:]), np.sort(order[:cut])


def scaled(images: np.ndarray, input_shape: tuple[int, int, int]) -> np.ndarray:
    """uint8 (N, 48, 48) -> float32 (N, H, W, 1) in [-1, 1]: the classifier's own
    pre-processing, so the model is trained on what it will be served."""
    from services.classifier.model import preprocess_crops  # noqa: PLC0415

    return preprocess_crops(images, input_shape, "minus_one_to_one")
