"""Training-time augmentation of scaled crops ((N, H, W, 1) float32 in [-1, 1]) with
NumPy and OpenCV, in the process that feeds the batches.

Not Keras' image-augmentation layers: on a GPU those run op by op outside the compiled
training step and set the pace (measured on an H200: the torch backend 340-470 ms per
batch of 128, no faster than this 2-core CPU; JAX recompiling inside every epoch). Here a
batch of 128 takes a few milliseconds on one core whatever trains, and the training step
is the model alone.
"""

from __future__ import annotations

import cv2
import numpy as np

MAX_ROTATION_DEG = 15.0
MAX_SHIFT = 0.08  # of the side
MAX_ZOOM = 0.1
MAX_BRIGHTNESS = 0.2  # added, in the scaled pixels' units
MAX_CONTRAST = 0.3  # relative, around the face's mean
# Softened faces: seen from SOFTEN_MIN_SIDE-48 px and blurred by up to SOFTEN_MAX_BLUR px,
# as the pipeline's crop of a smaller or less sharp face in a frame comes out.
SOFTEN_MIN_SIDE = 32
SOFTEN_MAX_BLUR = 0.6


def mirror_and_move(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A mirror half of the time, then a small rotation, zoom and shift; borders repeat
    the edge pixels (a face's crop has no black frame)."""
    side_y, side_x = image.shape[:2]
    if rng.random() < 0.5:
        image = image[:, ::-1]
    angle = rng.uniform(-MAX_ROTATION_DEG, MAX_ROTATION_DEG)
    zoom = 1.0 + rng.uniform(-MAX_ZOOM, MAX_ZOOM)
    matrix = cv2.getRotationMatrix2D((side_x / 2, side_y / 2), angle, zoom)
    matrix[:, 2] += rng.uniform(-MAX_SHIFT, MAX_SHIFT, 2) * (side_x, side_y)
    moved = cv2.warpAffine(np.ascontiguousarray(image[..., 0]), matrix, (side_x, side_y),
                           flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return moved[..., None]


def change_light(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Brightness and contrast, kept within [-1, 1]."""
    mean = float(image.mean())
    contrast = 1.0 + rng.uniform(-MAX_CONTRAST, MAX_CONTRAST)
    brightness = rng.uniform(-MAX_BRIGHTNESS, MAX_BRIGHTNESS)
    return np.clip((image - mean) * contrast + mean + brightness, -1.0, 1.0)


def erase_patch(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random rectangle (a sixth to a half of each side) filled with noise in [-1, 1]."""
    image = image.copy()
    side_y, side_x = image.shape[:2]
    height = int(rng.integers(side_y // 6, side_y // 2 + 1))
    width = int(rng.integers(side_x // 6, side_x // 2 + 1))
    top, left = int(rng.integers(0, side_y - height + 1)), int(rng.integers(0, side_x - width + 1))
    image[top:top + height, left:left + width] = rng.uniform(-1, 1, (height, width, 1))
    return image


def soften(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The face resampled from a smaller side (area down, bilinear back up) and blurred."""
    side = image.shape[0]
    face = np.ascontiguousarray(image[..., 0])
    small = int(rng.integers(SOFTEN_MIN_SIDE, side + 1))
    if small < side:
        face = cv2.resize(cv2.resize(face, (small, small), interpolation=cv2.INTER_AREA),
                          (side, side), interpolation=cv2.INTER_LINEAR)
    sigma = rng.uniform(0.0, SOFTEN_MAX_BLUR)
    if sigma > 0.1:  # below that the 3-tap kernel is the identity
        face = cv2.GaussianBlur(face, (0, 0), sigma)
    return face[..., None]


def augment_batch(images: np.ndarray, rng: np.random.Generator, photometric: bool = True,
                  erasing: float = 0.5, softening: float = 0.0) -> np.ndarray:
    """Each face mirrored (half of them) and moved; a share `softening` of them softened;
    with `photometric` relit; a share `erasing` of them with a patch erased."""
    out = np.empty_like(images)
    for index, image in enumerate(images):
        image = mirror_and_move(image, rng)
        if softening and rng.random() < softening:
            image = soften(image, rng)
        if photometric:
            image = change_light(image, rng)
        if rng.random() < erasing:
            image = erase_patch(image, rng)
        out[index] = image
    return out


def batches(images: np.ndarray, targets: np.ndarray, batch_size: int, seed: int,
            photometric: bool = True, erasing: float = 0.5, softening: float = 0.0):
    """Endless shuffled, augmented (images, targets) batches, one epoch after another;
    fixed by `seed`."""
    rng = np.random.default_rng(seed)
    batch_size = min(batch_size, len(images))
    while True:
        order = rng.permutation(len(images))
        for start in range(0, len(order) - batch_size + 1, batch_size):
            pick = order[start:start + batch_size]
            yield (augment_batch(images[pick], rng, photometric, erasing, softening),
                   targets[pick])
