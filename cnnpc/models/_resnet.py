"""A ResNet-18-style residual network whose split candidates have CNNPC's 64, 64, 128, 256 channels.

Stem (7x7/2 convolution, 3x3/2 max pool) then four stages of two basic blocks (two 3x3
convolutions and a shortcut). At 224x224 the candidates are the stem output (56x56x64, ``block1``)
and the outputs of stages 1-3 (56x56x64, 28x28x128, 14x14x256). Stage 1 keeps the stem's width and
uses identity shortcuts, so the stem output and stage 1's sums form one residual channel group:
they can only be pruned together (the search space ties ``block1`` and ``block6``).
"""

from __future__ import annotations

from typing import Any

from cnnpc._keras import keras, layers

STAGE_WIDTHS: tuple[int, ...] = (64, 128, 256, 512)
BLOCKS_PER_STAGE = 2
_EPS = 1e-5


def _bn(name: str, momentum: float) -> Any:
    return layers.BatchNormalization(epsilon=_EPS, momentum=momentum, name=name)


def _basic_block(x: Any, prefix: str, filters: int, stride: int, momentum: float) -> Any:
    """Two 3x3 convolutions plus a shortcut (a 1x1 projection where the shape changes)."""
    shortcut = x
    y = layers.Conv2D(
        filters, 3, strides=stride, padding="same", use_bias=False, name=prefix + "conv1"
    )(x)
    y = _bn(prefix + "bn1", momentum)(y)
    y = layers.ReLU(name=prefix + "relu1")(y)
    y = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=prefix + "conv2")(y)
    y = _bn(prefix + "bn2", momentum)(y)
    if stride != 1 or int(x.shape[-1]) != filters:
        shortcut = layers.Conv2D(
            filters, 1, strides=stride, use_bias=False, name=prefix + "shortcut"
        )(x)
        shortcut = _bn(prefix + "shortcut_bn", momentum)(shortcut)
    y = layers.Add(name=prefix + "add")([shortcut, y])
    return layers.ReLU(name=prefix + "out")(y)


def resnet18(
    input_size: int,
    num_classes: int,
    alpha: float = 1.0,
    bn_momentum: float = 0.9,
) -> Any:
    """ResNet-18-style network for square RGB inputs; ``alpha`` scales every width."""

    def width(channels: int) -> int:
        return max(1, round(channels * alpha))

    inputs = keras.Input(shape=(input_size, input_size, 3), name="input")
    x = layers.Conv2D(width(64), 7, strides=2, padding="same", use_bias=False, name="stem_conv")(
        inputs
    )
    x = _bn("stem_bn", bn_momentum)(x)
    x = layers.ReLU(name="stem_relu")(x)
    x = layers.MaxPooling2D(3, strides=2, padding="same", name="stem_pool")(x)
    for stage, channels in enumerate(STAGE_WIDTHS, start=1):
        for unit in range(1, BLOCKS_PER_STAGE + 1):
            stride = 2 if stage > 1 and unit == 1 else 1
            x = _basic_block(x, f"stage{stage}_unit{unit}_", width(channels), stride, bn_momentum)
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name="resnet")
