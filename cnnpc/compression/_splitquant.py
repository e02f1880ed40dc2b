"""The split tensor's codec during fine-tuning: a fake-quant layer at the output of a split.

Deployed, the end part emits the split tensor as int8 (TF-MOT's output quantizer of the split
layer, its range learned in training) and the codec requantizes that to n bits with this
inference's own range, widened to hold 0 (``cnnpc.codec.requantize``). `SplitQuantize` does the
second step in training: inserted right after the split layer (so after TF-MOT's int8 output
quantizer), it rounds each example to n bits with that example's minimum and maximum, exactly the
affine map of ``cnnpc.codec.quantize``, and passes gradients straight through.

Why a layer and not a TF-MOT QuantizeConfig on the split layer: a config there replaces the
layer's int8 output quantizer (the deployed tensor is quantized twice, int8 then n bits) and turns
off the Conv+BatchNorm folding TF-MOT applies to that layer, so the trained graph would no longer
be the deployed one; and TF-MOT's quantizers keep a range variable learned over batches, where
the codec takes each tensor's own range. The layer is annotated with a QuantizeConfig that adds
no quantizer (it is one itself). At 8 bits nothing is inserted: requantizing int8 to 8 bits is
lossless, so the model, the fine-tune and the cache key stay what they were.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cnnpc._keras import keras, tf, tfmot
from cnnpc.codec import MAX_BITS, MIN_BITS, SplitBits
from cnnpc.compression._surgery import split_layer
from cnnpc.errors import InputError
from cnnpc.spaces import SearchSpace


def fake_quantize(values: Any, bits: int) -> Any:
    """`values` rounded to `bits` bits per example (axis 0), as `cnnpc.codec.quantize` does."""
    top = float((1 << bits) - 1)
    axes = list(range(1, len(values.shape)))
    low = tf.minimum(tf.reduce_min(values, axis=axes, keepdims=True), 0.0)
    high = tf.maximum(tf.reduce_max(values, axis=axes, keepdims=True), 0.0)
    scale = tf.where(high > low, (high - low) / top, tf.ones_like(high))
    zero = tf.clip_by_value(tf.round(-low / scale), 0.0, top)
    codes = tf.clip_by_value(tf.round(values / scale) + zero, 0.0, top)
    return (codes - zero) * scale


@keras.utils.register_keras_serializable(package="cnnpc")
class SplitQuantize(keras.layers.Layer, tfmot.sparsity.keras.PrunableLayer):  # type: ignore[misc]
    """Identity in shape: the split tensor as the codec at `bits` bits delivers it."""

    def __init__(self, bits: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not MIN_BITS <= bits < MAX_BITS:
            raise InputError(f"a split quantizer takes {MIN_BITS}..{MAX_BITS - 1} bits, got {bits}")
        self.bits = int(bits)

    def call(self, inputs: Any) -> Any:
        # straight-through: forward the quantized values, backward the identity
        return inputs + tf.stop_gradient(fake_quantize(inputs, self.bits) - inputs)

    def get_prunable_weights(self) -> list[Any]:
        return []

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "bits": self.bits}


@keras.utils.register_keras_serializable(package="cnnpc")
class SplitQuantizeConfig(tfmot.quantization.keras.QuantizeConfig):  # type: ignore[misc]
    """TF-MOT's annotation of a `SplitQuantize` layer: no weights, no added quantizers."""

    def get_weights_and_quantizers(self, layer: Any) -> list[Any]:
        return []

    def get_activations_and_quantizers(self, layer: Any) -> list[Any]:
        return []

    def set_quantize_weights(self, layer: Any, quantize_weights: list[Any]) -> None:
        pass

    def set_quantize_activations(self, layer: Any, quantize_activations: list[Any]) -> None:
        pass

    def get_output_quantizers(self, layer: Any) -> list[Any]:
        return []

    def get_config(self) -> dict[str, Any]:
        return {}


def quantizer_name(candidate: str) -> str:
    return f"cnnpc_split_quantize_{candidate}"


def insert_split_quantizers(model: Any, space: SearchSpace, bits: SplitBits) -> Any:
    """A copy of `model` with a `SplitQuantize` after each split layer in `bits` (none: `model`).

    Weights are copied by layer name; every consumer of a split layer (and a model output that
    is one) reads the quantizer instead.
    """
    if not bits:
        return model
    return quantize_after(
        model, {split_layer(space.candidates[space.index(n)]): (n, w) for n, w in bits}
    )


def quantize_after(
    model: Any,
    widths: Mapping[str, tuple[str, int]],
    custom_objects: Mapping[str, Any] | None = None,
) -> Any:
    """A copy of `model` with a `SplitQuantize` of `width` bits, named for `split`, reading each
    layer of `widths` (layer name -> (split, width)); that layer's readers read the quantizer.
    `custom_objects`: the classes of `model`'s own layers the copy needs."""
    config = model.get_config()
    known = {layer["name"] for layer in config["layers"]}
    for layer in widths:
        if layer not in known:
            raise InputError(f"the model has no split layer {layer!r}")
    readers: dict[str, Reference] = {s: (quantizer_name(n), 0, 0) for s, (n, _) in widths.items()}
    new_layers = []
    for layer in config["layers"]:
        layer["inbound_nodes"] = _rewire(layer["inbound_nodes"], readers)
        new_layers.append(layer)
        if layer["name"] in widths:
            name, width = widths[layer["name"]]
            new_layers.append(
                {
                    "class_name": "cnnpc>SplitQuantize",
                    "config": {"name": quantizer_name(name), "bits": width, "trainable": True},
                    "name": quantizer_name(name),
                    "inbound_nodes": [[[layer["name"], 0, 0, {}]]],
                }
            )
    config["layers"] = new_layers
    config["output_layers"] = _rewire(config["output_layers"], readers)
    return _rebuilt(model, config, custom_objects)


def strip_split_quantizers(model: Any) -> Any:
    """A copy of `model` (plain or quantization-aware) without its split quantizers: each one's
    readers read the split layer again (none: `model`).

    What a deployment cuts and converts: the runtime's codec rounds the int8 split tensor to n
    bits exactly as the quantizer did in training, so the layer must not run a second time on
    the receiver's side of the cut (nor be converted into int8 TFLite ops there).
    """
    quantizers = {
        layer.name
        for layer in model.layers
        if isinstance(getattr(layer, "layer", layer), SplitQuantize)  # bare, or TF-MOT's wrapper
    }
    if not quantizers:
        return model
    sources: dict[str, Reference] = {}
    config = model.get_config()
    for layer in config["layers"]:
        if layer["name"] in quantizers:
            ((source, node, tensor, *_),) = layer["inbound_nodes"][0]
            sources[layer["name"]] = (source, node, tensor)
    kept = [layer for layer in config["layers"] if layer["name"] not in sources]
    for layer in kept:
        layer["inbound_nodes"] = _rewire(layer["inbound_nodes"], sources)
    config["layers"] = kept
    config["output_layers"] = _rewire(config["output_layers"], sources)
    return _rebuilt(model, config)


Reference = tuple[str, int, int]
"""A functional config's reference to a tensor: (layer name, node index, tensor index)."""


def _rebuilt(
    model: Any, config: dict[str, Any], custom_objects: Mapping[str, Any] | None = None
) -> Any:
    """The model of `config` with `model`'s weights, layer by layer (by name)."""
    for layer in config["layers"]:  # built when called: a recorded build builds TF-MOT's twice
        layer.pop("build_config", None)
    # a QAT model's wrappers need their classes
    with tfmot.quantization.keras.quantize_scope(dict(custom_objects or {})):
        new = keras.Model.from_config(config)
    copy_weights(model, new)
    return new


def copy_weights(source: Any, target: Any) -> None:
    """Every weight of `target`'s layers from `source`'s layer of the same name."""
    for layer in target.layers:
        if layer.weights:
            layer.set_weights(source.get_layer(layer.name).get_weights())


def _rewire(value: Any, readers: Mapping[str, Reference]) -> Any:
    """Inbound references (``[name, node, tensor, kwargs]``) to a layer in `readers` point at
    the reference given there instead."""
    if isinstance(value, list):
        if value and isinstance(value[0], str) and value[0] in readers and len(value) >= 3:
            return [*readers[value[0]], *value[3:]]
        return [_rewire(v, readers) for v in value]
    return value


def has_split_quantizers(model: Any) -> bool:
    return any(isinstance(getattr(layer, "layer", layer), SplitQuantize) for layer in model.layers)


def annotate_split_quantizers(model: Any) -> Any:
    """`model` annotated for ``quantize_apply``: TF-MOT's defaults, `SplitQuantizeConfig` on the
    split quantizers (which TF-MOT does not know)."""
    quant = tfmot.quantization.keras

    def annotate(layer: Any) -> Any:
        copy = layer.__class__.from_config(layer.get_config())
        if isinstance(layer, SplitQuantize):
            return quant.quantize_annotate_layer(copy, SplitQuantizeConfig())
        return copy

    annotated = keras.models.clone_model(model, clone_function=annotate)
    annotated.set_weights(model.get_weights())
    return quant.quantize_annotate_model(annotated)
