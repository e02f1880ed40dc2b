"""Cut a functional model into consecutive sub-models at named layers' outputs.

A deployment runs segment i on one tier and sends the tensor at boundary i to the next, and the
host profiler times each segment alone, so both need the same cut. Each segment is a functional
model whose input is the boundary tensor of the original graph (Keras builds it from an
intermediate tensor). Keras builds such a model by calling the layers again, which would give the
caller's layers a second inbound node, so the cut is made on a copy (same weights): the model
passed in is left as it was, and can be cut again.

Quantization-aware (TF-MOT) models name their wrappers ``quant_<layer>``; a boundary given by the
plain layer name is found there too. When the boundary layer fake-quantizes its output (it holds
``output_min``/``output_max``), the next segment starts with the same fake quantization, so the
int8 TFLite converter gives the sender's output and the receiver's input the same scale and zero
point, taken from the same trained ranges.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cnnpc._keras import keras, layers, tf, tfmot
from cnnpc.errors import InputError


class BoundaryQuant(layers.Layer):  # type: ignore[misc]
    """int8 fake quantization with fixed (trained) bounds, as TF-MOT's activation quantizer."""

    def __init__(self, min_value: float, max_value: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.min_value = float(min_value)
        self.max_value = float(max_value)

    def call(self, inputs: Any) -> Any:
        return tf.quantization.fake_quant_with_min_max_args(
            inputs, min=self.min_value, max=self.max_value, num_bits=8, narrow_range=False
        )

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = super().get_config()
        config.update(min_value=self.min_value, max_value=self.max_value)
        return config


def boundary_layer(model: Any, name: str) -> Any:
    """The layer `name` of `model`, or its TF-MOT wrapper ``quant_<name>``."""
    for candidate in (name, f"quant_{name}"):
        try:
            return model.get_layer(candidate)
        except ValueError:
            continue
    raise InputError(f"the model {model.name!r} has no layer {name!r} to split at")


def output_range(layer: Any) -> tuple[float, float] | None:
    """The trained (min, max) of a TF-MOT wrapper's output quantizer; None if it has none."""
    found: dict[str, float] = {}
    for weight in layer.weights:
        base = weight.name.split("/")[-1].split(":")[0]
        if base in ("output_min", "output_max", "post_activation_min", "post_activation_max"):
            found[base.rsplit("_", 1)[-1]] = float(weight.numpy())
    if "min" in found and "max" in found:
        return found["min"], found["max"]
    return None


_RANGE_KEEPING = frozenset(
    {
        "MaxPooling2D",
        "AveragePooling2D",
        "GlobalMaxPooling2D",
        "GlobalAveragePooling2D",
        "ZeroPadding2D",
        "Cropping2D",
        "UpSampling2D",
        "Dropout",
        "Flatten",
        "Reshape",
    }
)
"""Layers whose output stays inside their input's range (TF-MOT gives them no quantizer of
their own: a padding adds zeros, which every trained range holds)."""


def boundary_range(layer: Any) -> tuple[float, float] | None:
    """The trained range of the tensor `layer` outputs: its own quantizer's, or, through layers
    that keep the range (pooling, padding, reshapes), that of the layer feeding them."""
    seen = 0
    while layer is not None and seen < 64:
        found = output_range(layer)
        if found is not None:
            return found
        inner = getattr(layer, "layer", layer)  # a TF-MOT wrapper's wrapped layer
        if type(inner).__name__ not in _RANGE_KEEPING or len(layer.inbound_nodes) != 1:
            return None
        parents = layer.inbound_nodes[0].inbound_layers
        parents = parents if isinstance(parents, list) else [parents]
        layer = parents[0] if len(parents) == 1 else None
        seen += 1
    return None


def segment_models(model: Any, boundaries: Sequence[str]) -> list[Any]:
    """``len(boundaries) + 1`` consecutive sub-models of `model`, cut after the named layers.

    Segment 0 maps the model's input to the output of ``boundaries[0]``; segment i the output of
    ``boundaries[i-1]`` to that of ``boundaries[i]``; the last one maps to the model's output.
    Composing them in order computes the whole model. The boundaries must be in network order
    and each must be a clean cut: no other tensor may cross it (a skip connection over a
    boundary is refused with an InputError).
    """
    with tfmot.quantization.keras.quantize_scope():  # a QAT model's wrappers need their classes
        copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    model = copy
    outputs = []
    previous = None
    for name in boundaries:
        layer = boundary_layer(model, name)
        if len(layer.inbound_nodes) != 1:
            raise InputError(f"layer {name!r} is used more than once: cannot split at it")
        if layer is previous:
            raise InputError(f"boundary {name!r} is given twice")
        outputs.append((name, layer, layer.output))
        previous = layer
    if len(model.outputs) != 1:
        raise InputError("only models with one output can be split")
    segments: list[Any] = []
    start, start_name, start_range = model.inputs[0], "the input", None
    for name, layer, tensor in [*outputs, ("the output", None, model.outputs[0])]:
        segments.append(
            _segment(model, start, tensor, start_name, name, start_range, len(segments))
        )
        start, start_name = tensor, name
        start_range = None if layer is None else boundary_range(layer)
    return segments


def _segment(
    model: Any,
    start: Any,
    end: Any,
    start_name: str,
    end_name: str,
    quant: tuple[float, float] | None,
    index: int,
) -> Any:
    """The sub-model from tensor `start` to tensor `end` (optionally fake-quantizing its input)."""
    if start is end:
        raise InputError(f"boundaries {start_name!r} and {end_name!r} give an empty segment")
    try:
        inner = keras.Model(start, end, name=f"{model.name}_seg{index}_inner")
    except ValueError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(
            f"cannot cut {model.name!r} between {start_name!r} and {end_name!r} (are the "
            f"boundaries in network order, with no skip connection across them?): {first}"
        ) from None
    inputs = keras.Input(shape=tuple(start.shape[1:]), dtype=start.dtype, name=f"seg{index}_in")
    x = inputs if quant is None else BoundaryQuant(*quant, name=f"seg{index}_quant")(inputs)
    return keras.Model(inputs, inner(x), name=f"{model.name}_seg{index}")
