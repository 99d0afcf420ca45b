"""Training-time augmentation as Keras layers, so it runs inside the training step on
whichever backend trains (TensorFlow on a CPU, JAX on a GPU) and is off at inference.

Import after training.train has set up the environment (it imports Keras, and with it
the backend)."""

from __future__ import annotations

import keras
from keras import layers, ops


class RandomPatchErasing(layers.Layer):
    """On a share `probability` of the faces, a random rectangle (a sixth to a half of each
    side) filled with uniform noise in [-1, 1]. (Keras' own RandomErasing reads `scale` as
    an aspect ratio and fills with unscaled normal noise.)"""

    def __init__(self, probability: float, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.probability = probability
        self.generator = keras.random.SeedGenerator(seed)

    def call(self, images, training=None):
        if not training:
            return images
        height, width = images.shape[1], images.shape[2]
        draw = keras.random.uniform((ops.shape(images)[0], 5), seed=self.generator)
        patch_h = height / 6 + draw[:, 1] * (height / 3)
        patch_w = width / 6 + draw[:, 2] * (width / 3)
        top, left = draw[:, 3] * (height - patch_h), draw[:, 4] * (width - patch_w)
        rows = ops.arange(height, dtype="float32")[None, :, None]
        cols = ops.arange(width, dtype="float32")[None, None, :]
        inside = ((rows >= top[:, None, None]) & (rows < (top + patch_h)[:, None, None])
                  & (cols >= left[:, None, None]) & (cols < (left + patch_w)[:, None, None])
                  & (draw[:, 0] < self.probability)[:, None, None])
        noise = keras.random.uniform(ops.shape(images), -1.0, 1.0, seed=self.generator)
        return ops.where(inside[..., None], noise, images)


def augmenter(seed: int, photometric: bool = True, erasing: float = 0.5) -> keras.Sequential:
    """Mirror and small affine changes; with `photometric`, brightness and contrast too;
    random erasing on a share `erasing` of the faces."""
    steps = [
        layers.RandomFlip("horizontal", seed=seed),
        layers.RandomRotation(0.04, fill_mode="nearest", seed=seed),  # about 15 degrees
        layers.RandomTranslation(0.08, 0.08, fill_mode="nearest", seed=seed),
        layers.RandomZoom(0.1, fill_mode="nearest", seed=seed),
    ]
    if photometric:
        steps += [layers.RandomBrightness(0.2, value_range=(-1.0, 1.0), seed=seed),
                  layers.RandomContrast(0.3, seed=seed)]
    if erasing:
        steps.append(RandomPatchErasing(erasing, seed=seed))
    return keras.Sequential(steps, name="augment")
