"""Small models (32x32 input) whose batch-norm statistics are not the trivial initial ones."""

from __future__ import annotations

import numpy as np
import pytest

from cnnpc._keras import keras, layers
from cnnpc.models import build_model
from cnnpc.spaces import load_space
from cnnpc.workloads import digits


def _randomise_batch_norm(model: object, seed: int) -> None:
    """Give every BN layer varied gamma/beta/statistics, so pruning choices and outputs matter."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:  # type: ignore[attr-defined]
        if type(layer).__name__ == "BatchNormalization":
            gamma, beta, mean, var = layer.get_weights()
            layer.set_weights(
                [
                    rng.uniform(0.2, 2.0, gamma.shape).astype(np.float32),
                    rng.normal(0.0, 0.2, beta.shape).astype(np.float32),
                    rng.normal(0.0, 0.2, mean.shape).astype(np.float32),
                    rng.uniform(0.5, 2.0, var.shape).astype(np.float32),
                ]
            )


@pytest.fixture(scope="session")
def small_models() -> dict[str, object]:
    models = {}
    for seed, name in enumerate(("mobilenet", "resnet")):
        model = build_model(name, 10, 32)
        _randomise_batch_norm(model, seed)
        models[name] = model
    return models


@pytest.fixture(scope="session")
def spaces() -> dict[str, object]:
    return {name: load_space(name) for name in ("mobilenet", "resnet")}


@pytest.fixture(scope="session")
def images() -> np.ndarray:
    return np.random.default_rng(7).random((4, 32, 32, 3), dtype=np.float32)


@pytest.fixture(scope="session")
def digits32():
    return digits(32)


@pytest.fixture(scope="session")
def toy_model():
    """A 10-class residual convnet of a dozen layers: fine-tunes in seconds."""
    x = keras.Input((32, 32, 3), name="input")
    y = layers.Conv2D(8, 3, strides=2, padding="same", use_bias=False, name="c1")(x)
    y = layers.BatchNormalization(momentum=0.9, name="bn1")(y)
    y = layers.ReLU(6.0, name="r1")(y)
    z = layers.DepthwiseConv2D(3, padding="same", use_bias=False, name="dw")(y)
    z = layers.BatchNormalization(momentum=0.9, name="bn2")(z)
    z = layers.Conv2D(8, 1, use_bias=False, name="c2")(z)
    z = layers.BatchNormalization(momentum=0.9, name="bn3")(z)
    y = layers.Add(name="add")([y, z])
    y = layers.Conv2D(16, 3, strides=2, padding="same", name="c3")(y)
    y = layers.ReLU(name="r3")(y)
    y = layers.GlobalAveragePooling2D(name="gap")(y)
    return keras.Model(x, layers.Dense(10, activation="softmax", name="out")(y))
