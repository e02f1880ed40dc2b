"""Channel groups: the sets of tensors whose channels must be pruned together.

A convolution or dense layer starts a new channel space; channel-wise layers (batch norm,
activations, depthwise convolution, padding, pooling) keep their input's; an element-wise sum
merges the spaces of its inputs, because channel i of every addend meets channel i of the others.
Removing channel i of a group therefore means removing filter i of every convolution that produces
the group, entry i of every channel-wise layer in it, and input channel i of every layer that
consumes it. The graph is read from the model's config (layer classes and inbound connections), so
this works for a user's saved model as well as for ours.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cnnpc.errors import InputError

# Layers that create a new channel space from their input (their kernel has in and out axes).
KERNEL_LAYERS = frozenset({"Conv2D", "Dense"})
# Layers that map channel i of their input to channel i of their output.
CHANNELWISE_LAYERS = frozenset(
    {
        "DepthwiseConv2D",
        "BatchNormalization",
        "ReLU",
        "Activation",
        "ZeroPadding2D",
        "MaxPooling2D",
        "AveragePooling2D",
        "GlobalAveragePooling2D",
        "GlobalMaxPooling2D",
        "Dropout",
    }
)
# Element-wise merges: their inputs share one channel space.
MERGE_LAYERS = frozenset({"Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"})


@dataclass(frozen=True)
class ChannelGroup:
    """One channel space of the network and the layers that touch it."""

    id: int
    channels: int
    members: tuple[str, ...]
    """Layers whose output lies in this space, in network order."""
    producers: tuple[str, ...]
    """Convolution/dense layers whose filters create the channels."""
    consumers: tuple[str, ...]
    """Convolution/dense layers that read the channels as input channels."""
    prunable: bool
    """False for the input image's and the model output's space."""


@dataclass(frozen=True)
class ChannelGraph:
    """The channel groups of a model and which group each layer reads and writes."""

    groups: tuple[ChannelGroup, ...]
    output_group: Mapping[str, int]
    input_group: Mapping[str, int]
    """For every layer with one input: the group of that input."""
    inbound: Mapping[str, tuple[str, ...]]
    class_name: Mapping[str, str]

    def group_of(self, layer: str) -> ChannelGroup:
        """The group that `layer`'s output belongs to."""
        if layer not in self.output_group:
            raise InputError(f"the model has no layer {layer!r}")
        return self.groups[self.output_group[layer]]

    def ancestors(self, layer: str) -> set[str]:
        """`layer` and every layer its output depends on."""
        seen: set[str] = set()
        stack = [layer]
        while stack:
            name = stack.pop()
            if name not in seen:
                seen.add(name)
                stack.extend(self.inbound[name])
        return seen

    def producing_layers(self, layer: str) -> tuple[str, ...]:
        """The layers of `layer`'s group that its output depends on: what makes that tensor."""
        group = self.group_of(layer)
        upstream = self.ancestors(layer)
        return tuple(name for name in group.members if name in upstream)


class _UnionFind:
    def __init__(self) -> None:
        self.parent: list[int] = []

    def new(self) -> int:
        self.parent.append(len(self.parent))
        return len(self.parent) - 1

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> int:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)
        return min(ra, rb)


def _inbound_layers(layer_cfg: Mapping[str, Any]) -> tuple[str, ...]:
    nodes = layer_cfg.get("inbound_nodes") or []
    if len(nodes) > 1:
        raise InputError(
            f"layer {layer_cfg['name']!r} is called more than once; shared layers cannot be pruned"
        )
    if not nodes:
        return ()
    return tuple(str(entry[0]) for entry in nodes[0])


def _check_supported(name: str, cls: str, cfg: Mapping[str, Any]) -> None:
    known = cls in KERNEL_LAYERS | CHANNELWISE_LAYERS | MERGE_LAYERS | {"InputLayer"}
    if not known:
        raise InputError(
            f"layer {name!r} ({cls}) is not supported by channel pruning; supported: "
            "Conv2D, DepthwiseConv2D, Dense, BatchNormalization, activations, padding, pooling, Add"
        )
    if cls == "Conv2D" and int(cfg.get("groups", 1)) != 1:
        raise InputError(f"layer {name!r}: grouped convolutions cannot be pruned")
    if cls == "DepthwiseConv2D" and int(cfg.get("depth_multiplier", 1)) != 1:
        raise InputError(f"layer {name!r}: depthwise convolutions need depth_multiplier 1")
    if cls == "BatchNormalization":
        axis = cfg.get("axis", -1)
        axes = axis if isinstance(axis, list) else [axis]
        if axes not in ([-1], [3], [1]):
            raise InputError(f"layer {name!r}: batch normalization must be over the channel axis")


def channel_graph(model: Any) -> ChannelGraph:
    """Analyse a functional Keras model into channel groups (see the module docstring)."""
    config = model.get_config()
    if "layers" not in config or "output_layers" not in config:
        raise InputError("channel pruning needs a functional Keras model")
    uf = _UnionFind()
    out_id: dict[str, int] = {}
    in_id: dict[str, int] = {}
    inbound: dict[str, tuple[str, ...]] = {}
    classes: dict[str, str] = {}
    fixed: set[int] = set()
    order: list[str] = []
    for layer_cfg in config["layers"]:
        name, cls = str(layer_cfg["name"]), str(layer_cfg["class_name"])
        _check_supported(name, cls, layer_cfg.get("config", {}))
        parents = _inbound_layers(layer_cfg)
        inbound[name], classes[name] = parents, cls
        order.append(name)
        if cls == "InputLayer":
            out_id[name] = uf.new()
            fixed.add(out_id[name])
            continue
        if cls in MERGE_LAYERS:
            root = out_id[parents[0]]
            for parent in parents[1:]:
                root = uf.union(root, out_id[parent])
            out_id[name] = root
            continue
        if len(parents) != 1:
            raise InputError(f"layer {name!r} ({cls}) must have exactly one input")
        in_id[name] = out_id[parents[0]]
        out_id[name] = uf.new() if cls in KERNEL_LAYERS else in_id[name]
    for output in config["output_layers"]:
        fixed.add(out_id[str(output[0])])
    return _assemble(model, uf, order, out_id, in_id, inbound, classes, fixed)


def _assemble(
    model: Any,
    uf: _UnionFind,
    order: list[str],
    out_id: dict[str, int],
    in_id: dict[str, int],
    inbound: dict[str, tuple[str, ...]],
    classes: dict[str, str],
    fixed: set[int],
) -> ChannelGraph:
    """Renumber union-find roots 0..n-1 in network order and collect each group's layers."""
    renumber: dict[int, int] = {}
    for name in order:
        renumber.setdefault(uf.find(out_id[name]), len(renumber))
    out_group = {name: renumber[uf.find(i)] for name, i in out_id.items()}
    in_group = {name: renumber[uf.find(i)] for name, i in in_id.items()}
    fixed_groups = {renumber[uf.find(i)] for i in fixed}
    groups = []
    for gid in range(len(renumber)):
        members = tuple(n for n in order if out_group[n] == gid)
        shape = model.get_layer(members[0]).output.shape
        groups.append(
            ChannelGroup(
                id=gid,
                channels=int(shape[-1]),
                members=members,
                producers=tuple(n for n in members if classes[n] in KERNEL_LAYERS),
                consumers=tuple(
                    n for n in order if classes[n] in KERNEL_LAYERS and in_group.get(n) == gid
                ),
                prunable=gid not in fixed_groups,
            )
        )
    return ChannelGraph(
        groups=tuple(groups),
        output_group=out_group,
        input_group=in_group,
        inbound=inbound,
        class_name=classes,
    )
