"""Structured channel pruning by model surgery: a new, narrower model with the surviving weights.

Unlike TF-MOT's ``prune_low_magnitude``, which only zeroes weights, this removes channels: the
layers that produce a pruned group get fewer filters, its channel-wise layers fewer entries and its
consumers fewer input channels, so the tensor at a pruned split point is really smaller, and
params and FLOPs drop. Residual sums tie groups (see ``_groups``), so tied tensors shrink together.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from cnnpc._keras import keras
from cnnpc.compression._groups import ChannelGraph, ChannelGroup, channel_graph
from cnnpc.compression._importance import channel_scores, select_channels
from cnnpc.errors import InputError, SearchSpaceError
from cnnpc.records import KeepConfig
from cnnpc.spaces import Candidate, SearchSpace, kept_count

Indices = npt.NDArray[np.int64]


@dataclass(frozen=True)
class PrunedModel:
    """The narrower model and, per candidate, the original channels it kept."""

    model: Any
    kept: Mapping[str, tuple[int, ...]]

    @property
    def channels(self) -> dict[str, int]:
        return {name: len(idx) for name, idx in self.kept.items()}


def split_layer(candidate: Candidate) -> str:
    """The layer whose output is the candidate's tensor (the last of its producing layers)."""
    if not candidate.layers:
        raise SearchSpaceError(f"candidate {candidate.name!r} names no layers in its search space")
    return candidate.layers[-1]


def candidate_groups(
    model: Any, space: SearchSpace, graph: ChannelGraph
) -> dict[str, ChannelGroup]:
    """Each candidate's channel group in `model`; a missing layer means a different architecture."""
    groups: dict[str, ChannelGroup] = {}
    for cand in space.candidates:
        layer = split_layer(cand)
        if layer not in graph.output_group:
            raise InputError(
                f"the model has no layer {layer!r} (candidate {cand.name!r} of "
                f"{space.model!r}): is it a different architecture?"
            )
        groups[cand.name] = graph.group_of(layer)
    return groups


def group_fractions(
    space: SearchSpace, groups: Mapping[str, ChannelGroup], keep: Mapping[str, float]
) -> dict[int, float]:
    """Validated keep fraction per leaf channel group; candidates sharing a leaf must agree.

    Range, prunability and the space's ties are `KeepConfig`'s checks; what is left is this
    model's own graph. A concatenation's candidate is pruned through each of its parts, every part
    by the same fraction, so a leaf shared with another candidate ties the two.
    """
    KeepConfig.from_fractions(space, keep)
    asked: dict[int, tuple[str, float]] = {}
    for name, fraction in keep.items():
        if fraction == 1.0:
            continue
        group = groups[name]
        if not group.prunable:
            raise InputError(
                f"candidate {name!r}: its channels cannot be pruned in this model ({group.reason})"
            )
        for leaf in group.leaves:
            previous = asked.setdefault(leaf, (name, fraction))
            if previous[1] != fraction:
                raise InputError(
                    f"candidates {previous[0]!r} and {name!r} share a channel group and must "
                    f"keep the same fraction (got {previous[1]} and {fraction})"
                )
    return {gid: fraction for gid, (_, fraction) in asked.items()}


def prune_channels(model: Any, space: SearchSpace, keep: Mapping[str, float]) -> PrunedModel:
    """Remove channels so candidate c keeps ``keep[c]`` of its channels (others stay whole).

    Channels are chosen by the L1 criterion of ``_importance``; the input model is not changed.
    """
    graph, kept_by_group, kept = _selected(model, space, keep)
    return PrunedModel(model=rebuild(model, graph, kept_by_group), kept=kept)


def kept_indices(
    model: Any, space: SearchSpace, keep: Mapping[str, float], graph: ChannelGraph | None = None
) -> dict[str, tuple[int, ...]]:
    """Per candidate, the original channels `prune_channels` keeps (`PrunedModel.kept`),
    without building the pruned model: the split tensor of the pruned model is the original
    tensor's kept channels when only that candidate is pruned. `graph` is `model`'s
    `channel_graph`, for callers asking about many configurations of one model."""
    return _selected(model, space, keep, graph)[2]


def _selected(
    model: Any, space: SearchSpace, keep: Mapping[str, float], graph: ChannelGraph | None = None
) -> tuple[ChannelGraph, dict[int, Indices], dict[str, tuple[int, ...]]]:
    """The graph, the kept channels per pruned leaf group and per candidate."""
    graph = channel_graph(model) if graph is None else graph
    groups = candidate_groups(model, space, graph)
    fractions = group_fractions(space, groups, keep)
    kept_by_group: dict[int, Indices] = {}
    for leaf, fraction in fractions.items():
        group = graph.groups[leaf]
        count = kept_count(fraction, group.channels)
        if count < group.channels:
            kept_by_group[leaf] = select_channels(channel_scores(model, graph, group), count)
    kept: dict[str, tuple[int, ...]] = {}
    for name, g in groups.items():
        idx = group_indices(graph, kept_by_group, g.id)
        kept[name] = tuple(int(i) for i in (np.arange(g.channels) if idx is None else idx))
    return graph, kept_by_group, kept


def group_indices(
    graph: ChannelGraph, kept: Mapping[int, Indices], gid: int, repeat: int = 1
) -> Indices | None:
    """The kept channel indices of group `gid` (None: all), a concatenation's in channel order.

    With `repeat` > 1 (a flattened tensor, channels fastest) every spatial position repeats them.
    """
    group = graph.groups[gid]
    if not any(leaf in kept for leaf in group.leaves):
        return None
    pieces, offset = [], 0
    for leaf in group.leaves:
        width = graph.groups[leaf].channels
        pieces.append(kept.get(leaf, np.arange(width, dtype=np.int64)) + offset)
        offset += width
    idx = np.concatenate(pieces).astype(np.int64)
    if repeat > 1:
        idx = (np.arange(repeat, dtype=np.int64)[:, None] * offset + idx[None, :]).reshape(-1)
    return idx


def rebuild(model: Any, graph: ChannelGraph, kept: Mapping[int, Indices]) -> Any:
    """A copy of `model` in which leaf group g keeps only channels ``kept[g]`` (others: all)."""
    for gid in kept:
        if not graph.groups[gid].prunable:
            raise InputError(
                f"channel group {gid} cannot be pruned: {graph.groups[gid].reason or 'fixed'}"
            )

    def clone(layer: Any) -> Any:
        config = layer.get_config()
        out = group_indices(graph, kept, graph.output_group[layer.name])
        cls = graph.class_name[layer.name]
        if out is not None and cls == "Conv2D":
            config["filters"] = len(out)
        elif out is not None and cls == "Dense":
            config["units"] = len(out)
        elif out is not None and cls == "Reshape":
            config["target_shape"] = (*tuple(config["target_shape"])[:-1], len(out))
        return layer.__class__.from_config(config)

    new = keras.models.clone_model(model, clone_function=clone)
    for layer in model.layers:
        weights = layer.get_weights()
        if weights:
            out = group_indices(graph, kept, graph.output_group[layer.name])
            inp = None
            if layer.name in graph.input_group:
                repeat = graph.input_repeat.get(layer.name, 1)
                inp = group_indices(graph, kept, graph.input_group[layer.name], repeat)
            sliced = _slice(graph.class_name[layer.name], weights, inp, out)
            new.get_layer(layer.name).set_weights(sliced)
    return new


def _slice(cls: str, weights: list[Any], inp: Indices | None, out: Indices | None) -> list[Any]:
    """Cut one layer's weights to the kept input and output channels."""
    if cls in ("Conv2D", "Dense"):
        kernel = weights[0]
        if inp is not None:
            kernel = np.take(kernel, inp, axis=kernel.ndim - 2)
        if out is not None:
            kernel = np.take(kernel, out, axis=kernel.ndim - 1)
        rest = [w if out is None else w[out] for w in weights[1:]]
        return [kernel, *rest]
    if out is None:
        return weights
    if cls == "DepthwiseConv2D":
        return [np.take(weights[0], out, axis=2), *(w[out] for w in weights[1:])]
    if cls == "BatchNormalization":
        return [w[out] for w in weights]
    raise InputError(f"cannot prune the weights of a {cls} layer")
