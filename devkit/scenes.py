"""Generated test scenes: labeled faces pasted into frames, and face-free frames.

Used by the detection evaluation (tools/eval_detection.py) and the tests, which build
their scenes from the bundled public-domain astronaut portrait. Faces are pasted at a
known box, rotated, with brightness changed and blurred, over backgrounds cut from
scikit-image's face-free sample pictures.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from devkit import ROOT

FACE_FREE_DIR = ROOT / "samples/face_free"  # put there, checksummed, by `make models`


def face_free_pictures() -> list[np.ndarray]:
    """scikit-image's face-free sample pictures (BGR)."""
    paths = sorted(FACE_FREE_DIR.glob("*.*"))
    if not paths:
        raise FileNotFoundError(f"{FACE_FREE_DIR} is empty: run `make models`")
    return [cv2.imread(str(path), cv2.IMREAD_COLOR) for path in paths]


def astronaut_face() -> np.ndarray:
    """The astronaut's face, square from brow to chin like a FER2013 face (gray)."""
    portrait = cv2.imread(str(ROOT / "samples/astronaut.png"), cv2.IMREAD_GRAYSCALE)
    return portrait[52:185, 164:297]  # eyes at the FER2013 template's height and spacing


@dataclass
class PastedFace:
    box: tuple[float, float, float, float]  # x, y, w, h of the pasted square
    label: str = ""


@dataclass
class Scene:
    frame: np.ndarray
    faces: list[PastedFace] = field(default_factory=list)


def background(pictures: list[np.ndarray], width: int, height: int,
               rng: np.random.Generator) -> np.ndarray:
    """A width x height frame cut from a random face-free picture at a random scale."""
    picture = pictures[int(rng.integers(len(pictures)))]
    scale = max(width / picture.shape[1], height / picture.shape[0]) * rng.uniform(1.0, 2.0)
    resized = cv2.resize(picture, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)
    x = int(rng.integers(resized.shape[1] - width + 1))
    y = int(rng.integers(resized.shape[0] - height + 1))
    return np.ascontiguousarray(resized[y:y + height, x:x + width])


def paste_face(frame: np.ndarray, face: np.ndarray, x: int, y: int, size: int,
               angle: float = 0.0, brightness: float = 1.0, blur: float = 0.0) -> None:
    """Paste a gray face as a size x size square at (x, y), rotated by `angle` degrees
    about its centre (the corners outside the square keep the background)."""
    interpolation = cv2.INTER_AREA if size < face.shape[0] else cv2.INTER_CUBIC
    square = cv2.resize(face, (size, size), interpolation=interpolation).astype(np.float32)
    square = np.clip(square * brightness, 0, 255)
    if blur > 0:
        square = cv2.GaussianBlur(square, (0, 0), blur)
    mask = np.ones((size, size), np.float32)
    if angle:
        rotation = cv2.getRotationMatrix2D((size / 2, size / 2), angle, 1.0)
        square = cv2.warpAffine(square, rotation, (size, size), flags=cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_REPLICATE)
        mask = cv2.warpAffine(mask, rotation, (size, size), flags=cv2.INTER_LINEAR)
    region = frame[y:y + size, x:x + size].astype(np.float32)
    blended = region * (1 - mask[..., None]) + square[..., None] * mask[..., None]
    frame[y:y + size, x:x + size] = blended.astype(np.uint8)


def _free_spot(taken: list[tuple[int, int, int]], size: int, width: int, height: int,
               rng: np.random.Generator) -> tuple[int, int] | None:
    for _ in range(200):
        x, y = int(rng.integers(width - size + 1)), int(rng.integers(height - size + 1))
        if all(x + size <= tx or tx + ts <= x or y + size <= ty or ty + ts <= y
               for tx, ty, ts in taken):
            return x, y
    return None


def scene(faces: list[tuple[np.ndarray, str]], sizes: list[int], width: int, height: int,
          pictures: list[np.ndarray], rng: np.random.Generator,
          max_angle: float = 20.0) -> Scene:
    """A frame with each (face, label) pasted at its size, not overlapping, with random
    rotation up to max_angle, brightness 0.6-1.3 and blur up to 1.2 px."""
    result = Scene(background(pictures, width, height, rng))
    taken: list[tuple[int, int, int]] = []
    for (face, label), size in zip(faces, sizes, strict=True):
        spot = _free_spot(taken, size, width, height, rng)
        if spot is None:
            continue
        taken.append((*spot, size))
        paste_face(result.frame, face, spot[0], spot[1], size,
                   angle=float(rng.uniform(-max_angle, max_angle)),
                   brightness=float(rng.uniform(0.6, 1.3)), blur=float(rng.uniform(0, 1.2)))
        result.faces.append(PastedFace((spot[0], spot[1], size, size), label))
    return result


def matches(pasted: tuple[float, float, float, float],
            found: tuple[float, float, float, float]) -> bool:
    """A detection answers a pasted face when its centre lies in the pasted square and its
    size is within half to twice the square's."""
    px, py, ps, _ = pasted
    fx, fy, fw, fh = found
    cx, cy = fx + fw / 2, fy + fh / 2
    return px <= cx <= px + ps and py <= cy <= py + ps and 0.5 * ps <= max(fw, fh) <= 2 * ps
