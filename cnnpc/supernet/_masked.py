"""Slimmable training: one set of weights for every width at the split candidates.

The baseline's graph is called again with a 0/1 channel mask multiplied into every tensor that
leaves a candidate's channel group (what its consumers read), so a channel the mask drops is
exactly a channel the surgery removes: inside a group everything is channel-wise, so nothing
else sees it. The masks keep channels in the surgery's importance order (the baseline's L1
ranking), so the channels a width keeps are the ones `prune_channels` keeps. Each batch runs the
sandwich rule: the full width (trained on the labels), the narrowest at every candidate and
`random_widths` random configurations, the narrower ones trained on the full width's
predictions (in-place distillation); the gradients of all passes are summed.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from cnnpc.compression import ChannelGraph
from cnnpc.models._keras import keras, tf
from cnnpc.workloads import Workload

Masks = list[npt.NDArray[np.float32]]


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


class _ApplyMask(keras.layers.Layer):  # type: ignore[misc]
    """x * mask over the channel axis (a flattened tensor repeats the mask per position)."""

    def call(self, inputs: Any) -> Any:
        x, mask = inputs
        repeat = int(x.shape[-1]) // int(mask.shape[-1])
        if repeat > 1:
            mask = tf.tile(mask, [1, repeat])
        shape = tf.concat([tf.shape(mask)[:1], tf.ones([len(x.shape) - 2], tf.int32), [-1]], 0)
        return x * tf.reshape(mask, shape)


def masked_model(model: Any, graph: ChannelGraph, leaves: Sequence[MaskedLeaf]) -> Any:
    """A model over `model`'s own layers (shared weights) taking one mask input per leaf."""
    config = model.get_config()
    masked = {leaf.group: i for i, leaf in enumerate(leaves)}
    image = keras.Input(shape=model.input_shape[1:], name="supernet_image")
    masks = [
        keras.Input(shape=(len(leaf.order),), name=f"supernet_mask_{leaf.group}") for leaf in leaves
    ]
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
            if gid in masked and graph.output_group[name] != gid:
                tensor = _ApplyMask(name=f"supernet_mask_{parent}_to_{name}")(
                    [tensor, masks[masked[gid]]]
                )
            inputs.append(tensor)
        tensors[name] = model.get_layer(name)(inputs[0] if len(inputs) == 1 else inputs)
    outputs = [tensors[str(out[0])] for out in config["output_layers"]]
    return keras.Model([image, *masks], outputs[0] if len(outputs) == 1 else outputs)


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


def _sample(
    leaves: Sequence[MaskedLeaf], rng: np.random.Generator, probability: float
) -> list[int]:
    counts = []
    for leaf in leaves:
        slim = rng.random() < probability
        counts.append(int(rng.choice(leaf.widths)) if slim else leaf.widths[-1])
    return counts


def train_sandwich(
    model: Any,
    graph: ChannelGraph,
    leaves: Sequence[MaskedLeaf],
    workload: Workload,
    recipe: SandwichRecipe,
    seed: int,
) -> float:
    """Train `model`'s weights in place by the sandwich rule; returns the seconds it took."""
    start = time.perf_counter()
    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    net = masked_model(model, graph, leaves)
    optimizer = keras.optimizers.Adam(recipe.learning_rate)
    variables = net.trainable_variables

    @tf.function  # type: ignore[untyped-decorator]
    def step(x: Any, y: Any, widths: Any) -> Any:
        with tf.GradientTape() as tape:
            full = net([x, *widths[0]], training=True)
            loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(y, full))
            teacher = tf.stop_gradient(full)
            for masks in widths[1:]:
                student = net([x, *masks], training=True)
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
            widths = [
                [
                    np.repeat(leaf.mask(c)[None, :], len(idx), axis=0)
                    for leaf, c in zip(leaves, cs, strict=True)
                ]
                for cs in configs
            ]
            step(x_all[idx], y_all[idx], widths)
    return time.perf_counter() - start
