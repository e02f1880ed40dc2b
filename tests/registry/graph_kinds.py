"""Small Keras models of every graph kind cnnpc must split and prune (16x16 RGB, 10 classes)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cnnpc._keras import keras, layers

SIZE = 16
CLASSES = 10


def sequential() -> Any:
    """Plain CNN ending in Flatten + Dense (a Sequential model, saved as such)."""
    return keras.Sequential(
        [
            keras.Input((SIZE, SIZE, 3)),
            layers.Conv2D(8, 3, padding="same", name="c1"),
            layers.BatchNormalization(name="c1_bn"),
            layers.ReLU(name="c1_relu"),
            layers.MaxPooling2D(name="pool1"),
            layers.Conv2D(12, 3, padding="same", activation="relu", name="c2"),
            layers.MaxPooling2D(name="pool2"),
            layers.Flatten(name="flat"),
            layers.Dense(16, activation="relu", name="fc"),
            layers.Dense(CLASSES, activation="softmax", name="out"),
        ],
        name="seq",
    )


def _conv_bn(x: Any, filters: int, name: str, kernel: int = 3, relu: bool = True) -> Any:
    x = layers.Conv2D(filters, kernel, padding="same", use_bias=False, name=name)(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x) if relu else x


def _head(x: Any) -> Any:
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    return layers.Dense(CLASSES, activation="softmax", name="out")(x)


def residual() -> Any:
    """Two identity residual blocks and a projection block (stride 2)."""
    inputs = keras.Input((SIZE, SIZE, 3), name="input")
    x = _conv_bn(inputs, 8, "stem")
    for i in range(2):
        y = _conv_bn(x, 8, f"r{i}a")
        y = _conv_bn(y, 8, f"r{i}b", relu=False)
        x = layers.ReLU(name=f"r{i}_out")(layers.Add(name=f"r{i}_add")([x, y]))
    y = layers.Conv2D(12, 3, strides=2, padding="same", name="p_a")(x)
    short = layers.Conv2D(12, 1, strides=2, name="p_short")(x)
    x = layers.ReLU(name="p_out")(layers.Add(name="p_add")([short, y]))
    return keras.Model(inputs, _head(x), name="res")


def inverted() -> Any:
    """MobileNetV2-style inverted residuals with depthwise convolutions."""
    inputs = keras.Input((SIZE, SIZE, 3), name="input")
    x = _conv_bn(inputs, 8, "stem")
    for i, (stride, out) in enumerate(((1, 8), (2, 12), (1, 12))):
        y = _conv_bn(x, 4 * int(x.shape[-1]), f"b{i}_expand", kernel=1)
        y = layers.DepthwiseConv2D(3, strides=stride, padding="same", name=f"b{i}_dw")(y)
        y = layers.BatchNormalization(name=f"b{i}_dw_bn")(y)
        y = layers.ReLU(6.0, name=f"b{i}_dw_relu")(y)
        y = _conv_bn(y, out, f"b{i}_project", kernel=1, relu=False)
        x = layers.Add(name=f"b{i}_add")([x, y]) if stride == 1 and out == x.shape[-1] else y
    return keras.Model(inputs, _head(x), name="inv")


def dense() -> Any:
    """DenseNet-style: each layer's output is concatenated to everything before it."""
    inputs = keras.Input((SIZE, SIZE, 3), name="input")
    x = _conv_bn(inputs, 8, "stem")
    for i in range(3):
        y = layers.BatchNormalization(name=f"d{i}_bn")(x)
        y = layers.ReLU(name=f"d{i}_relu")(y)
        y = layers.Conv2D(4, 3, padding="same", name=f"d{i}_conv")(y)
        x = layers.Concatenate(name=f"d{i}_cat")([x, y])
    x = layers.Conv2D(10, 1, name="trans")(x)
    x = layers.AveragePooling2D(name="trans_pool")(x)
    return keras.Model(inputs, _head(x), name="dense")


def inception() -> Any:
    """Inception-style module: parallel 1x1, 3x3 and pooled branches concatenated."""
    inputs = keras.Input((SIZE, SIZE, 3), name="input")
    x = _conv_bn(inputs, 8, "stem")
    a = _conv_bn(x, 4, "br1", kernel=1)
    b = _conv_bn(_conv_bn(x, 4, "br3a", kernel=1), 6, "br3b")
    c = layers.MaxPooling2D(3, strides=1, padding="same", name="brp_pool")(x)
    c = _conv_bn(c, 2, "brp", kernel=1)
    x = layers.Concatenate(name="mix")([a, b, c])
    x = _conv_bn(x, 8, "after")
    return keras.Model(inputs, _head(x), name="incep")


KINDS: dict[str, Callable[[], Any]] = {
    "seq": sequential,
    "res": residual,
    "inv": inverted,
    "dense": dense,
    "incep": inception,
}
