"""Slimmable training: one set of weights for every width at the split candidates.

The baseline's graph is rebuilt with a 0/1 channel mask multiplied into every tensor that leaves
a candidate's channel group (what its consumers read), so a channel the mask drops is exactly a
channel the surgery removes: inside a group everything is channel-wise, so nothing else sees
it. The masks keep channels in the surgery's importance order (the baseline's L1 ranking), so
the channels a width keeps are the ones `prune_channels` keeps. A mask is a variable of its
layer (set before each pass), not an input, so the network keeps the baseline's one input.

Quantization-aware like the fine-tunes: the masked network is quantized with TF-MOT's default
8-bit scheme (`quantize_model`'s), the mask layers annotated with a configuration that
quantizes nothing (`quantize_annotate_layer` + `quantize_scope` + `quantize_apply`): a 0/1
product of an already quantized tensor needs no quantizer of its own.

Each batch runs the sandwich rule: the full width (trained on the labels), the narrowest at
every candidate and `random_widths` random configurations, the narrower ones trained on the
full width's predictions (in-place distillation); the gradients of all passes are summed.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from cnnpc._keras import keras, tf, tfmot
from cnnpc.compression import ChannelGraph, CompressionError
from cnnpc.workloads import Workload


@dataclass(frozen=True)
class MaskedLeaf:
    """A leaf channel group the supernet slims, and its channels in importance order."""

    group: int
    order: npt.NDArray[np.int64]
    """Channel indices, most important first (the surgery keeps a prefix of this, sorted)."""
    widths: tuple[int, ...]
    """Channel counts training samples from (ascending; the last is the full width)."""

    def mask(self, count: int) -> npt.NDArray[np.float32]:
        mask = np.zeros(len(self.order), dtype=np.float32)
        mask[self.order[:count]] = 1.0
        return mask


class ApplyMask(keras.layers.Layer):  # type: ignore[misc]
    """x * mask over the channel axis; the mask is a variable of `channels` entries (a
    flattened tensor repeats it per position). `group` names the leaf group it slims."""

    def __init__(self, group: int, channels: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.group = group
        self.channels = channels

    def build(self, input_shape: Any) -> None:
        self.mask = self.add_weight(
            name="mask", shape=(self.channels,), initializer="ones", trainable=False
        )
        super().build(input_shape)

    def call(self, inputs: Any) -> Any:
        repeat = int(inputs.shape[-1]) // self.channels
        mask = tf.tile(self.mask, [repeat]) if repeat > 1 else self.mask
        return inputs * tf.cast(mask, inputs.dtype)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "group": self.group, "channels": self.channels}


class NoQuantize(tfmot.quantization.keras.QuantizeConfig):  # type: ignore[misc]
    """TF-MOT configuration of a mask layer: no weights, activations or output quantized."""

    def get_weights_and_quantizers(self, layer: Any) -> list[Any]:
        return []

    def get_activations_and_quantizers(self, layer: Any) -> list[Any]:
        return []

    def set_quantize_weights(self, layer: Any, quantize_weights: Any) -> None:
        pass

    def set_quantize_activations(self, layer: Any, quantize_activations: Any) -> None:
        pass

    def get_output_quantizers(self, layer: Any) -> list[Any]:
        return []

    def get_config(self) -> dict[str, Any]:
        return {}


def masked_model(
    model: Any, graph: ChannelGraph, leaves: Sequence[MaskedLeaf], quantize: bool = False
) -> Any:
    """`model`'s graph with a mask layer on every edge that leaves a masked group.

    Without `quantize` the result shares `model`'s layers (and weights); with it, the result is
    TF-MOT's quantization-aware copy (weights copied, `model` untouched).
    """
    config = model.get_config()
    channels = {leaf.group: len(leaf.order) for leaf in leaves}
    image = keras.Input(shape=model.input_shape[1:], name="supernet_image")
    tensors: dict[str, Any] = {}
    for layer_cfg in config["layers"]:
        name = str(layer_cfg["name"])
        if graph.class_name[name] == "InputLayer":
            tensors[name] = image
            continue
        inputs = []
        for parent in graph.inbound[name]:
            tensor = tensors[parent]
            gid = graph.output_group[parent]
            if gid in channels and graph.output_group[name] != gid:
                mask: Any = ApplyMask(gid, channels[gid], name=f"supernet_mask_{parent}_to_{name}")
                if quantize:
                    mask = tfmot.quantization.keras.quantize_annotate_layer(mask, NoQuantize())
                tensor = mask(tensor)
            inputs.append(tensor)
        tensors[name] = model.get_layer(name)(inputs[0] if len(inputs) == 1 else inputs)
    outputs = [tensors[str(out[0])] for out in config["output_layers"]]
    net = keras.Model(image, outputs[0] if len(outputs) == 1 else outputs)
    return _quantized(net) if quantize else net


def _quantized(net: Any) -> Any:
    """TF-MOT's default 8-bit quantization-aware copy of a masked network."""
    quant = tfmot.quantization.keras
    try:
        with quant.quantize_scope(MASK_OBJECTS):
            return quant.quantize_apply(quant.quantize_annotate_model(net))
    except (ValueError, RuntimeError) as exc:
        raise CompressionError(f"TF-MOT cannot quantize the supernet: {exc}") from None


MASK_OBJECTS = {"ApplyMask": ApplyMask, "NoQuantize": NoQuantize}
"""The classes a masked network's configuration names (to rebuild it from its config)."""


def inner(layer: Any) -> Any:
    """The layer a TF-MOT wrapper quantizes (the layer itself when not wrapped)."""
    return getattr(layer, "layer", layer)


def mask_layers(net: Any) -> dict[int, list[ApplyMask]]:
    """The mask layers of a masked network (float or quantized), by leaf group."""
    found: dict[int, list[ApplyMask]] = {}
    for layer in net.layers:
        if isinstance(inner(layer), ApplyMask):
            found.setdefault(inner(layer).group, []).append(inner(layer))
    return found


def set_masks(net: Any, masks: Mapping[int, npt.NDArray[np.float32]]) -> None:
    """Set every mask layer of `net` (groups not in `masks` keep every channel)."""
    for group, layers in mask_layers(net).items():
        value = masks.get(group)
        for layer in layers:
            layer.mask.assign(np.ones(layer.channels, np.float32) if value is None else value)


def copy_float_weights(net: Any, model: Any) -> None:
    """Copy a masked (possibly quantized) network's trained weights into `model`'s layers."""
    by_name = {inner(layer).name: layer for layer in net.layers}
    for layer in model.layers:
        if layer.weights:
            source = _variables(by_name[layer.name])
            layer.set_weights([source[_leaf(w.name)].numpy() for w in layer.weights])


def _variables(layer: Any) -> dict[str, Any]:
    """A layer's own variables by their short name (kernel:0, moving_mean:0, ...); in a TF-MOT
    wrapper, those it holds for the layer it wraps (a wrapped kernel is the wrapper's variable,
    still named after the wrapped layer)."""
    prefix = f"{inner(layer).name}/"
    return {_leaf(v.name): v for v in layer.weights if v.name.startswith(prefix)}


def _leaf(name: str) -> str:
    return name.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class SandwichRecipe:
    """How the supernet is trained from the baseline's weights (part of its cache key)."""

    epochs: int = 4
    learning_rate: float = 5e-4
    batch_size: int = 32
    random_widths: int = 2
    steps_per_epoch: int | None = None
    prune_probability: float = 0.5
    """In a random configuration, the chance that a candidate is slimmed at all (a plan prunes
    only at its splits, so most candidates of a real configuration keep every channel)."""
    quantize: bool = True
    """Quantization-aware, as the fine-tunes (FinetuneBudget.quantize)."""


def _sample(
    leaves: Sequence[MaskedLeaf], rng: np.random.Generator, probability: float
) -> list[int]:
    counts = []
    for leaf in leaves:
        slim = rng.random() < probability
        counts.append(int(rng.choice(leaf.widths)) if slim else leaf.widths[-1])
    return counts


def train_sandwich(
    net: Any,
    leaves: Sequence[MaskedLeaf],
    workload: Workload,
    recipe: SandwichRecipe,
    seed: int,
) -> float:
    """Train the masked network `net` in place by the sandwich rule; returns the seconds."""
    start = time.perf_counter()
    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    optimizer = keras.optimizers.Adam(recipe.learning_rate)
    variables = net.trainable_variables
    layers = mask_layers(net)
    slots = [layers[leaf.group] for leaf in leaves]

    def assign(masks: Any) -> None:
        for group_layers, mask in zip(slots, masks, strict=True):
            for layer in group_layers:
                layer.mask.assign(mask)

    @tf.function  # type: ignore[untyped-decorator]
    def step(x: Any, y: Any, widths: Any) -> Any:
        with tf.GradientTape() as tape:
            assign(widths[0])
            full = net(x, training=True)
            loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(y, full))
            teacher = tf.stop_gradient(full)
            for masks in widths[1:]:
                assign(masks)
                student = net(x, training=True)
                loss += tf.reduce_mean(keras.losses.categorical_crossentropy(teacher, student))
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=True))
        return loss

    x_all, y_all = workload.train.x, workload.train.y
    batches = max(1, len(y_all) // recipe.batch_size)
    if recipe.steps_per_epoch is not None:
        batches = min(batches, recipe.steps_per_epoch)
    for _ in range(recipe.epochs):
        perm = rng.permutation(len(y_all))
        for b in range(batches):
            idx = perm[b * recipe.batch_size : (b + 1) * recipe.batch_size]
            configs = [[leaf.widths[-1] for leaf in leaves], [leaf.widths[0] for leaf in leaves]]
            configs += [
                _sample(leaves, rng, recipe.prune_probability) for _ in range(recipe.random_widths)
            ]
            widths = [[leaf.mask(c) for leaf, c in zip(leaves, cs, strict=True)] for cs in configs]
            step(x_all[idx], y_all[idx], widths)
    set_masks(net, {})
    return time.perf_counter() - start
