"""Read a Keras graph into what cnnpc plans with: split candidates, channel groups, tensors.

A split candidate is a layer whose output is the only tensor that crosses when the network is cut
right after it: every earlier layer's consumers are at or before it in topological order. So a cut
never falls inside a residual block, a dense block or an inception module. Consecutive candidates
separated only by free layers (batch norm, activations, dropout) that keep the tensor's shape send
the same bytes; only the last of such a run is kept (the tensor a device would really send).

Which candidates can be pruned, and which must keep the same fraction, comes from the channel graph
(`cnnpc.compression.channel_graph`). Importing this imports TensorFlow.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cnnpc.compression import ChannelGraph, channel_graph, inbound_layers
from cnnpc.errors import InputError
from cnnpc.layergraph.generate import extract_layers
from cnnpc.profiles import LayerRow, Tensor
from cnnpc.spaces import Candidate

FREE_LAYERS = frozenset(
    {
        "BatchNormalization",
        "ReLU",
        "Activation",
        "LeakyReLU",
        "ELU",
        "Dropout",
        "SpatialDropout2D",
        "GaussianNoise",
        "GaussianDropout",
    }
)
"""Layers that neither compute much nor change the tensor: a cut before them sends the same."""


@dataclass(frozen=True)
class Analysis:
    """Everything `models add` derives from a graph, in the shipped files' terms."""

    layers: int
    cut_points: tuple[str, ...]
    """Every single-tensor cut, in topological order (before runs of free layers merge)."""
    candidates: tuple[Candidate, ...]
    ties: tuple[tuple[str, ...], ...]
    """Candidates that share channels (a residual stream or a concatenation's part)."""
    input: Tensor
    tensors: tuple[Tensor, ...]
    """The tensor at each candidate, at the analysed input size."""
    layer_rows: tuple[LayerRow, ...]
    params: tuple[int, ...]
    """Parameters of every segment (candidates' segments, then the head)."""
    seconds: float

    @property
    def segment_names(self) -> tuple[str, ...]:
        return (*(c.name for c in self.candidates), "head")


def _graph_lists(model: Any) -> tuple[list[str], dict[str, tuple[str, ...]], dict[str, str]]:
    config = model.get_config()
    if "layers" not in config or "output_layers" not in config:
        raise InputError(
            "the model has no graph (a subclassed model?): save it as a Functional or Sequential "
            "Keras model"
        )
    names = [str(c["name"]) for c in config["layers"]]
    inbound = {str(c["name"]): inbound_layers(c) for c in config["layers"]}
    classes = {str(c["name"]): str(c["class_name"]) for c in config["layers"]}
    if len(config.get("input_layers", [])) != 1 or len(config["output_layers"]) != 1:
        raise InputError("cnnpc splits models with exactly one input and one output")
    return names, inbound, classes


def single_tensor_cuts(names: Sequence[str], inbound: Mapping[str, tuple[str, ...]]) -> list[str]:
    """Layers after which exactly one tensor (their output) crosses, in topological order.

    `names` must be in topological order (a functional config is). Layer v at position p is a cut
    when no layer before p has a consumer after p; the last layer (the output) is not a cut.
    """
    pos = {n: i for i, n in enumerate(names)}
    last_use = dict.fromkeys(names, -1)
    for name in names:
        for parent in inbound[name]:
            last_use[parent] = max(last_use[parent], pos[name])
    cuts: list[str] = []
    reach = -1  # the furthest consumer of any layer before the current one
    for i, name in enumerate(names[:-1]):
        if reach <= i and last_use[name] > i and inbound[name]:
            cuts.append(name)
        reach = max(reach, last_use[name])
    return cuts


def _shape(model: Any, name: str) -> tuple[int, ...]:
    shape = model.get_layer(name).output_shape
    shape = shape[0] if isinstance(shape, list) else shape
    if any(d is None for d in shape[1:]):
        raise InputError(f"layer {name!r} has an unknown output size {shape}: fix the input size")
    return tuple(int(d) for d in shape[1:])


def _tensor(model: Any, graph: ChannelGraph, name: str, label: str) -> Tensor:
    """The tensor at `name` as height x width x channels (a flattened tensor keeps its grid)."""
    dims = _shape(model, name)
    if graph.class_name.get(name) == "Flatten":
        dims = _shape(model, graph.inbound[name][0])
    channels = dims[-1]
    height = 1
    for d in dims[:-2]:
        height *= d
    width = dims[-2] if len(dims) >= 2 else 1
    return Tensor(name=label, height=height, width=width, channels=channels)


def _merge_free_runs(
    model: Any, names: Sequence[str], classes: Mapping[str, str], cuts: list[str]
) -> list[str]:
    pos = {n: i for i, n in enumerate(names)}
    kept: list[str] = []
    for i, cut in enumerate(cuts):
        nxt = cuts[i + 1] if i + 1 < len(cuts) else None
        if nxt is not None and _shape(model, cut) == _shape(model, nxt):
            between = names[pos[cut] + 1 : pos[nxt] + 1]
            if all(classes[n] in FREE_LAYERS for n in between):
                continue
        kept.append(cut)
    return kept


def analyse(
    model: Any,
    candidates: Sequence[str] | Mapping[str, str] | None = None,
) -> Analysis:
    """Analyse a functional Keras model (built at the size its tensors should be priced at).

    `candidates` restricts the split points: layer names, or a mapping from candidate names to
    layer names (the shipped models keep CNNPC's names). Without it every cut point is one, runs
    of free layers merged.
    """
    started = time.perf_counter()
    names, inbound, classes = _graph_lists(model)
    cuts = single_tensor_cuts(names, inbound)
    if not cuts:
        raise InputError(
            "the model has no point where a single tensor crosses: cnnpc cannot split it"
        )
    if candidates is None:
        chosen = {c: c for c in _merge_free_runs(model, names, classes, cuts)}
    else:
        mapping = (
            dict(candidates) if isinstance(candidates, Mapping) else {c: c for c in candidates}
        )
        chosen = _check_chosen(mapping, names, cuts)
    graph = channel_graph(model)
    cands, tensors = [], []
    for label, layer in chosen.items():
        group = graph.group_of(layer)
        leaves = group.leaves
        cands.append(
            Candidate(
                name=label,
                channels=group.channels,
                prunable=group.prunable,
                layers=graph.producing_layers(layer),
                parts=tuple(graph.groups[p].channels for p in leaves) if group.parts else (),
                reason=group.reason,
            )
        )
        tensors.append(_tensor(model, graph, layer, label))
    ties = _ties(graph, chosen, cands)
    boundaries = list(chosen.values())
    rows = extract_layers(model, boundaries)
    return Analysis(
        layers=len(names),
        cut_points=tuple(cuts),
        candidates=tuple(cands),
        ties=ties,
        input=_tensor(model, graph, names[0], "input"),
        tensors=tuple(tensors),
        layer_rows=rows,
        params=_segment_params(model, names, boundaries),
        seconds=time.perf_counter() - started,
    )


def _check_chosen(
    mapping: Mapping[str, str], names: Sequence[str], cuts: Sequence[str]
) -> dict[str, str]:
    if not mapping:
        raise InputError("--candidates: give at least one layer name")
    known, cut_set = set(names), set(cuts)
    for label, layer in mapping.items():
        if layer not in known:
            raise InputError(f"--candidates: the model has no layer {layer!r}")
        if layer not in cut_set:
            raise InputError(
                f"--candidates: more than one tensor crosses after layer {layer!r} (it is inside "
                "a residual, dense or multi-branch block): pick a layer from 'cnnpc models show'"
            )
        if not label:
            raise InputError("--candidates: empty candidate name")
    pos = {n: i for i, n in enumerate(names)}
    ordered = sorted(mapping.items(), key=lambda item: pos[item[1]])
    if len({layer for _, layer in ordered}) != len(ordered):
        raise InputError("--candidates: a layer is given twice")
    return dict(ordered)


def _ties(
    graph: ChannelGraph, chosen: Mapping[str, str], cands: Sequence[Candidate]
) -> tuple[tuple[str, ...], ...]:
    """Prunable candidates that share a leaf channel group, as tie groups (network order)."""
    owner: dict[int, int] = {}
    parent = list(range(len(cands)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    layers = list(chosen.values())
    for i, cand in enumerate(cands):
        if not cand.prunable:
            continue
        for leaf in graph.group_of(layers[i]).leaves:
            if leaf in owner:
                a, b = find(owner[leaf]), find(i)
                parent[max(a, b)] = min(a, b)
            else:
                owner[leaf] = i
    groups: dict[int, list[str]] = {}
    for i, cand in enumerate(cands):
        if cand.prunable:
            groups.setdefault(find(i), []).append(cand.name)
    return tuple(tuple(g) for g in groups.values() if len(g) > 1)


def _segment_params(model: Any, names: Sequence[str], boundaries: Sequence[str]) -> tuple[int, ...]:
    """Parameters per segment: a layer belongs to the first segment that ends at or after it."""
    pos = {n: i for i, n in enumerate(names)}
    ends = [pos[b] for b in boundaries]
    counts = [0] * (len(boundaries) + 1)
    for i, name in enumerate(names):
        counts[sum(1 for end in ends if end < i)] += int(model.get_layer(name).count_params())
    return tuple(counts)
