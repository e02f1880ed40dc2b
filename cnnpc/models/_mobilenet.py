"""MobileNetV2, written out with functional layers so names, widths and BN momentum are ours.

Layer names follow the usual Keras MobileNetV2 scheme (``Conv1``, ``expanded_conv_project``,
``block_<i>_add`` ...), so a user's ImageNet MobileNetV2 weights file loads into this architecture
and the search space's layer names fit both. The 3x3 stride-2 depthwise convolutions use "same"
padding, which pads like the explicit ZeroPadding2D of the reference network (bottom/right for
even sizes, both sides for odd ones) without depending on the input size, so one definition works
at any input size.

CNNPC numbers the 17 inverted residual blocks from 1; its candidate ``block<n>`` is the tensor
after n blocks (a stage output), i.e. the output of the reference network's ``block_<n-1>``.
"""

from __future__ import annotations

from typing import Any

from cnnpc._keras import keras, layers

# (expansion t, output channels c, repeats n, first stride s) of each stage, as in the paper.
STAGES: tuple[tuple[int, int, int, int], ...] = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)
_EPS = 1e-3


def _divisible(value: float, divisor: int = 8) -> int:
    """Round a scaled width to a multiple of 8 without losing more than 10% (as MobileNet does)."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


def _bn(name: str, momentum: float) -> Any:
    return layers.BatchNormalization(epsilon=_EPS, momentum=momentum, name=name)


def _block(x: Any, block_id: int, t: int, c: int, stride: int, momentum: float) -> Any:
    """One inverted residual block: expand 1x1, depthwise 3x3, linear project 1x1 (+ add)."""
    in_channels = int(x.shape[-1])
    prefix = f"block_{block_id}_" if block_id else "expanded_conv_"
    inputs = x
    if block_id:
        x = layers.Conv2D(t * in_channels, 1, use_bias=False, name=prefix + "expand")(x)
        x = _bn(prefix + "expand_BN", momentum)(x)
        x = layers.ReLU(6.0, name=prefix + "expand_relu")(x)
    x = layers.DepthwiseConv2D(
        3, strides=stride, padding="same", use_bias=False, name=prefix + "depthwise"
    )(x)
    x = _bn(prefix + "depthwise_BN", momentum)(x)
    x = layers.ReLU(6.0, name=prefix + "depthwise_relu")(x)
    x = layers.Conv2D(c, 1, use_bias=False, name=prefix + "project")(x)
    x = _bn(prefix + "project_BN", momentum)(x)
    if stride == 1 and in_channels == c:
        x = layers.Add(name=prefix + "add")([inputs, x])
    return x


def mobilenet_v2(
    input_size: int,
    num_classes: int,
    alpha: float = 1.0,
    bn_momentum: float = 0.9,
) -> Any:
    """MobileNetV2 for square RGB inputs of `input_size`; softmax over `num_classes`.

    ``alpha`` scales every width (1.0 gives CNNPC's candidate channels 32, 16, 24, 32, 64, 96,
    160). ``bn_momentum`` defaults to 0.9: the reference 0.999 leaves the moving statistics
    unusable for many epochs when training from scratch on a small data set.
    """
    inputs = keras.Input(shape=(input_size, input_size, 3), name="input")
    x = layers.Conv2D(
        _divisible(32 * alpha), 3, strides=2, padding="same", use_bias=False, name="Conv1"
    )(inputs)
    x = _bn("bn_Conv1", bn_momentum)(x)
    x = layers.ReLU(6.0, name="Conv1_relu")(x)
    block_id = 0
    for t, c, n, s in STAGES:
        for i in range(n):
            x = _block(x, block_id, t, _divisible(c * alpha), s if i == 0 else 1, bn_momentum)
            block_id += 1
    last = _divisible(1280 * alpha) if alpha > 1.0 else 1280
    x = layers.Conv2D(last, 1, use_bias=False, name="Conv_1")(x)
    x = _bn("Conv_1_bn", bn_momentum)(x)
    x = layers.ReLU(6.0, name="out_relu")(x)
    x = layers.GlobalAveragePooling2D(name="global_average_pooling2d")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name="mobilenet")
