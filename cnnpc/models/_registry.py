"""Build the models cnnpc knows by name: its own two architectures and the registry's entries."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cnnpc.errors import InputError
from cnnpc.models._mobilenet import mobilenet_v2
from cnnpc.models._resnet import resnet18

DEPLOY_SIZE = 224
"""Input size the shipped latency profiles were measured at; tensors are priced at this size."""


@dataclass(frozen=True)
class ModelSpec:
    """A named architecture and the input size it is trained at on the embedded workload."""

    name: str
    build: Callable[..., Any]
    train_size: int
    description: str
    deploy_size: int = DEPLOY_SIZE
    """Input size its profile prices tensors at."""


MODELS: dict[str, ModelSpec] = {
    "mobilenet": ModelSpec(
        "mobilenet",
        mobilenet_v2,
        train_size=64,
        description="MobileNetV2 (7 candidates: 32, 16, 24, 32, 64, 96, 160 channels)",
    ),
    "resnet": ModelSpec(
        "resnet",
        resnet18,
        train_size=32,
        description="ResNet-18-style network (4 candidates: 64, 64, 128, 256 channels)",
    ),
}


def _registered(name: str) -> ModelSpec:
    """The spec of a model added with `cnnpc models add` (an app or the user's saved model)."""
    from cnnpc.catalog import model_entry

    entry = model_entry(name)

    def build(
        size: int, num_classes: int, alpha: float = 1.0, bn_momentum: float | None = 0.9
    ) -> Any:
        from cnnpc._keras import is_keras_layer
        from cnnpc.modelfile import ModelFile, refuse_code
        from cnnpc.models._apps import from_config, load_architecture

        if alpha != 1.0:
            raise InputError(f"model {name!r}: a width multiplier applies to shipped models only")
        config = load_architecture(entry.architecture_path)
        if not entry.trust_code:
            refuse_code(ModelFile(entry.architecture_path, "keras", config), is_keras_layer, name)
        return from_config(config, size, num_classes, bn_momentum, entry.trust_code)

    return ModelSpec(
        name,
        build,
        train_size=entry.train_size,
        description=entry.description,
        deploy_size=entry.input_size,
    )


def model_spec(name: str) -> ModelSpec:
    """The spec of model `name`; an unknown name lists the valid ones."""
    if name in MODELS:
        return MODELS[name]
    return _registered(name)


def build_model(
    name: str,
    num_classes: int,
    input_size: int | None = None,
    alpha: float = 1.0,
    bn_momentum: float = 0.9,
) -> Any:
    """A fresh, randomly initialised model `name` (at its training size unless one is given)."""
    spec = model_spec(name)
    if num_classes < 2:
        raise InputError(f"a classifier needs at least 2 classes, got {num_classes}")
    if not alpha > 0:
        raise InputError(f"width multiplier must be > 0, got {alpha}")
    size = spec.train_size if input_size is None else input_size
    if size < 8:
        raise InputError(f"input size must be at least 8 pixels, got {size}")
    return spec.build(size, num_classes, alpha=alpha, bn_momentum=bn_momentum)
