"""The network: a small VGG-style CNN on the pipeline's own 48x48 crop, separable
convolutions after the first block to keep its cost per face near the mini-XCEPTION's."""

from __future__ import annotations

import keras
from keras import layers


def build_model(classes: int, width: int = 32, dropout: float = 0.4) -> keras.Model:
    inputs = keras.Input((48, 48, 1), name="crop")  # pixels scaled to [-1, 1]
    x = inputs
    for block, filters in enumerate((width, 2 * width, 4 * width, 8 * width)):
        conv = layers.Conv2D if block == 0 else layers.SeparableConv2D
        for _ in range(2 if block < 3 else 1):
            x = conv(filters, 3, padding="same", use_bias=False)(x)
            x = layers.BatchNormalization()(x)
            x = layers.ReLU()(x)
        if block < 3:
            x = layers.MaxPooling2D()(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(dropout)(x)
    outputs = layers.Dense(classes, activation="softmax", name="emotions")(x)
    return keras.Model(inputs, outputs, name="ferplus_cnn")
