"""Size of a model: parameters, FLOPs, and the tensor (bytes) at every split candidate.

Tensors and FLOPs are measured at the deployment input size (224x224 by default), where the
latency profiles price transmission, whatever size the model was trained at: the networks are
fully convolutional up to global pooling, so a copy at another input size has the same weights.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cnnpc._keras import keras
from cnnpc.errors import InputError
from cnnpc.models._registry import DEPLOY_SIZE
from cnnpc.spaces import SearchSpace


@dataclass(frozen=True)
class TensorSize:
    """The tensor that crosses the network if the model is split at one candidate."""

    name: str
    height: int
    width: int
    channels: int
    bytes: int


@dataclass(frozen=True)
class ModelSize:
    params: int
    """All weights, batch-norm statistics included (as Keras counts them)."""
    flops: int
    """2 x multiply-accumulates of convolutions and dense layers at `input_size`."""
    input_size: int
    candidates: tuple[TensorSize, ...]

    def candidate(self, name: str) -> TensorSize:
        return next(c for c in self.candidates if c.name == name)


def input_size(model: Any) -> int | None:
    """The square input size a model was built for (None when it takes any size)."""
    shape = model.input_shape
    return None if shape[1] is None else int(shape[1])


def resize_input(model: Any, size: int, copy_weights: bool = True) -> Any:
    """The same network (same weights) for square inputs of `size`."""
    if input_size(model) == size:
        return model
    shape = model.input_shape
    inputs = keras.Input(shape=(size, size, shape[-1]), name=model.input_names[0])
    try:
        resized = keras.models.clone_model(model, input_tensors=inputs)
    except ValueError as exc:
        raise InputError(f"the model cannot run at {size}x{size} input: {exc}") from None
    if copy_weights:
        resized.set_weights(model.get_weights())
    return resized


def layer_flops(layer: Any) -> int:
    cls = type(layer).__name__
    if cls not in ("Conv2D", "DepthwiseConv2D", "Dense"):
        return 0
    out = layer.output_shape
    positions = 1
    for dim in out[1:-1]:
        positions *= int(dim)
    kernel = [int(d) for d in layer.weights[0].shape]  # (kh, kw, in, out|1) or (in, out)
    fan_in = 1
    for dim in kernel[:-2] if cls == "DepthwiseConv2D" else kernel[:-1]:
        fan_in *= dim
    return 2 * positions * int(out[-1]) * fan_in


def count_flops(model: Any) -> int:
    """FLOPs of one forward pass at the model's input size (2 per multiply-accumulate)."""
    return sum(layer_flops(layer) for layer in model.layers)


def tensor_hwc(layer: Any) -> tuple[int, int, int]:
    """A layer's output as height x width x channels: a Flatten keeps its input's grid and
    channels, any other non-image tensor is 1 x 1 x its last axis (elements are exact)."""
    shape = layer.output_shape
    if type(layer).__name__ == "Flatten":
        shape = layer.input_shape
    dims = [int(d) for d in shape[1:]]
    if len(dims) == 3:
        return dims[0], dims[1], dims[2]
    positions = 1
    for d in dims[:-1]:
        positions *= d
    return 1, positions, dims[-1]


def measure(
    model: Any,
    space: SearchSpace,
    size: int = DEPLOY_SIZE,
    bytes_per_element: int = 1,
) -> ModelSize:
    """Params, FLOPs and candidate tensors of `model` at `size` x `size` input.

    ``bytes_per_element`` is 1 because fine-tuning is quantization-aware: the device part runs
    in int8 and sends int8 features, as the profiles assume.
    """
    deployed = resize_input(model, size, copy_weights=False)
    tensors = []
    for cand in space.candidates:
        if not cand.layers:
            raise InputError(f"candidate {cand.name!r} names no layers in its search space")
        try:
            layer = deployed.get_layer(cand.layers[-1])
        except ValueError:
            raise InputError(
                f"the model has no layer {cand.layers[-1]!r} (candidate {cand.name!r})"
            ) from None
        h, w, c = tensor_hwc(layer)
        tensors.append(TensorSize(cand.name, h, w, c, h * w * c * bytes_per_element))
    return ModelSize(
        params=int(model.count_params()),
        flops=count_flops(deployed),
        input_size=size,
        candidates=tuple(tensors),
    )
