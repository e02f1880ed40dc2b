"""Channel groups: the sets of tensors whose channels must be pruned together.

A convolution or dense layer starts a new channel space; channel-wise layers (batch norm,
activations, depthwise convolution, padding, pooling) keep their input's; an element-wise sum
merges the spaces of its inputs, because channel i of every addend meets channel i of the others.
A concatenation lays its inputs' spaces side by side: its space is *composite*, pruned through
each of its parts (the leaves). A Flatten keeps its input's channels, repeated once per spatial
position, so a Dense layer after it loses H x W input rows per removed channel.

Removing channel i of a group therefore means removing filter i of every convolution that produces
the group, entry i of every channel-wise layer in it, and input channel i of every layer that
consumes it. A layer the surgery does not know (a Lambda, a custom layer, a grouped convolution
...) is opaque: the spaces it reads and writes are fixed, and the reason names the layer. The graph
is read from the model's config (layer classes and inbound connections), so this works for a
user's saved model as well as for ours.
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
        "LeakyReLU",
        "ELU",
        "Softmax",
        "ZeroPadding2D",
        "Cropping2D",
        "UpSampling2D",
        "MaxPooling2D",
        "AveragePooling2D",
        "GlobalAveragePooling2D",
        "GlobalMaxPooling2D",
        "Dropout",
        "SpatialDropout2D",
        "GaussianNoise",
        "GaussianDropout",
        "Rescaling",
    }
)
# Element-wise merges: their inputs share one channel space.
MERGE_LAYERS = frozenset({"Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"})
CONCAT_LAYERS = frozenset({"Concatenate"})


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
    """False for the input image's and the model output's space, and spaces of opaque layers."""
    parts: tuple[int, ...] = ()
    """A concatenation's space: the leaf groups it lays side by side, in channel order."""
    reason: str = ""
    """Why the group cannot be pruned (empty when it can)."""

    @property
    def leaves(self) -> tuple[int, ...]:
        """The leaf groups whose channels make up this one (itself for a leaf)."""
        return self.parts or (self.id,)


@dataclass(frozen=True)
class ChannelGraph:
    """The channel groups of a model and which group each layer reads and writes."""

    groups: tuple[ChannelGroup, ...]
    output_group: Mapping[str, int]
    input_group: Mapping[str, int]
    """For every layer with one input: the group of that input."""
    inbound: Mapping[str, tuple[str, ...]]
    class_name: Mapping[str, str]
    input_repeat: Mapping[str, int]
    """For a layer reading a flattened tensor: spatial positions per channel (else absent)."""

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


def inbound_layers(layer_cfg: Mapping[str, Any]) -> tuple[str, ...]:
    nodes = layer_cfg.get("inbound_nodes") or []
    if len(nodes) > 1:
        raise InputError(
            f"layer {layer_cfg['name']!r} is called more than once; shared layers cannot be pruned"
        )
    if not nodes:
        return ()
    node = nodes[0]
    if isinstance(node, Mapping):  # Keras 3 style config
        args = node.get("args", [])
        found: list[str] = []
        _history_names(args, found)
        return tuple(found)
    return tuple(str(entry[0]) for entry in node)


def _history_names(value: Any, found: list[str]) -> None:
    if isinstance(value, Mapping):
        history = value.get("config", {}).get("keras_history")
        if history:
            found.append(str(history[0]))
            return
        for item in value.values():
            _history_names(item, found)
    elif isinstance(value, list | tuple):
        for item in value:
            _history_names(item, found)


def opaque_reason(cls: str, cfg: Mapping[str, Any]) -> str | None:
    """Why the surgery cannot pass channels through a layer of class `cls` (None if it can)."""
    known = KERNEL_LAYERS | CHANNELWISE_LAYERS | MERGE_LAYERS | CONCAT_LAYERS
    if cls not in known | {"InputLayer", "Flatten", "Reshape"}:
        return f"{cls} is not a layer the surgery knows"
    if cls == "Conv2D" and int(cfg.get("groups", 1)) != 1:
        return "grouped convolutions cannot be pruned"
    if cls == "DepthwiseConv2D" and int(cfg.get("depth_multiplier", 1)) != 1:
        return "depthwise convolutions need depth_multiplier 1"
    if cls == "BatchNormalization":
        axis = cfg.get("axis", -1)
        axes = axis if isinstance(axis, list) else [axis]
        if axes not in ([-1], [3], [1]):
            return "batch normalization must be over the channel axis"
    if cls == "Concatenate" and int(cfg.get("axis", -1)) not in (-1, 3):
        return "only concatenations along the channel axis can be pruned"
    return None


def _shape(model: Any, name: str) -> tuple[int | None, ...]:
    shape = model.get_layer(name).output_shape
    shape = shape[0] if isinstance(shape, list) else shape
    return tuple(shape)


class _Spaces:
    """Channel spaces while the graph is read: leaves in a union-find, composites as part lists."""

    def __init__(self) -> None:
        self.uf = _UnionFind()
        self.composite: dict[int, tuple[int, ...]] = {}  # handle -> leaf handles
        self.fixed: dict[int, str] = {}  # leaf handle -> reason

    def leaf(self) -> int:
        return self.uf.new()

    def concat(self, handles: list[int]) -> int:
        parts: list[int] = []
        for h in handles:
            parts.extend(self.composite.get(h, (h,)))
        handle = self.uf.new()
        self.composite[handle] = tuple(parts)
        return handle

    def leaves(self, handle: int) -> tuple[int, ...]:
        return self.composite.get(handle, (handle,))

    def fix(self, handle: int, reason: str) -> None:
        for leaf in self.leaves(handle):
            self.fixed.setdefault(leaf, reason)


def channel_graph(model: Any) -> ChannelGraph:
    """Analyse a functional Keras model into channel groups (see the module docstring)."""
    config = model.get_config()
    if "layers" not in config or "output_layers" not in config:
        raise InputError("channel pruning needs a functional Keras model")
    sp = _Spaces()
    out_id: dict[str, int] = {}
    in_id: dict[str, int] = {}
    repeat: dict[str, int] = {}
    in_repeat: dict[str, int] = {}
    inbound: dict[str, tuple[str, ...]] = {}
    classes: dict[str, str] = {}
    order: list[str] = []
    for layer_cfg in config["layers"]:
        name, cls = str(layer_cfg["name"]), str(layer_cfg["class_name"])
        parents = inbound_layers(layer_cfg)
        inbound[name], classes[name] = parents, cls
        order.append(name)
        _read_layer(
            model,
            sp,
            name,
            cls,
            layer_cfg.get("config", {}),
            parents,
            out_id,
            in_id,
            repeat,
            in_repeat,
        )
    for layer_cfg in config["layers"]:
        if str(layer_cfg["class_name"]) == "InputLayer":
            sp.fix(out_id[str(layer_cfg["name"])], "they are the input image's channels")
    for output in config["output_layers"]:
        sp.fix(out_id[str(output[0])], "they are the model's outputs")
    return _assemble(model, sp, order, out_id, in_id, inbound, classes, in_repeat)


def _read_layer(
    model: Any,
    sp: _Spaces,
    name: str,
    cls: str,
    cfg: Mapping[str, Any],
    parents: tuple[str, ...],
    out_id: dict[str, int],
    in_id: dict[str, int],
    repeat: dict[str, int],
    in_repeat: dict[str, int],
) -> None:
    """Give layer `name` its output space (and its input's, for single-input layers)."""
    repeat[name] = 1
    reason = opaque_reason(cls, cfg)
    if cls == "InputLayer":
        out_id[name] = sp.leaf()
        return
    if reason is None and cls in MERGE_LAYERS:
        handles = [out_id[p] for p in parents]
        reps = {repeat[p] for p in parents}
        if any(h in sp.composite for h in handles) or len(reps) != 1:
            reason = "it merges a concatenation or a flattened tensor element-wise"
        else:
            root = handles[0]
            for h in handles[1:]:
                root = sp.uf.union(root, h)
            out_id[name], repeat[name] = root, reps.pop()
            return
    if reason is None and cls in CONCAT_LAYERS:
        if any(repeat[p] != 1 for p in parents):
            reason = "it concatenates flattened tensors"
        else:
            out_id[name] = sp.concat([out_id[p] for p in parents])
            return
    if reason is None and len(parents) != 1:
        reason = f"{cls} with {len(parents)} inputs is not a layer the surgery knows"
    if reason is None:
        parent = parents[0]
        reason = _single_input(model, sp, name, cls, parent, out_id, in_id, repeat, in_repeat)
        if reason is None:
            return
    why = f"layer {name!r} ({cls}) reads or writes them: {reason}"
    for parent in parents:
        sp.fix(out_id[parent], why)
    out_id[name] = sp.leaf()
    sp.fix(out_id[name], why)


def _single_input(
    model: Any,
    sp: _Spaces,
    name: str,
    cls: str,
    parent: str,
    out_id: dict[str, int],
    in_id: dict[str, int],
    repeat: dict[str, int],
    in_repeat: dict[str, int],
) -> str | None:
    """Spaces of a one-input layer; a reason string when the surgery cannot follow it."""
    handle, rep = out_id[parent], repeat[parent]
    if cls in KERNEL_LAYERS:
        if rep != 1 and cls != "Dense":
            return "a convolution reads a flattened tensor"
        if rep != 1:
            in_repeat[name] = rep
        in_id[name], out_id[name] = handle, sp.leaf()
        return None
    if cls == "Flatten":
        shape = _shape(model, parent)
        if any(d is None for d in shape[1:]):
            return "it flattens a tensor of unknown size"
        positions = 1
        for d in shape[1:-1]:
            positions *= int(d)  # type: ignore[arg-type]
        in_id[name], out_id[name], repeat[name] = handle, handle, rep * positions
        return None
    if cls == "Reshape":
        before, after = _shape(model, parent), _shape(model, name)
        if rep != 1 or before[-1] != after[-1]:
            return "it reshapes the channel axis"
    if cls in ("GlobalAveragePooling2D", "GlobalMaxPooling2D") and rep != 1:
        return "it pools a flattened tensor"
    in_id[name], out_id[name], repeat[name] = handle, handle, rep
    return None


def _assemble(
    model: Any,
    sp: _Spaces,
    order: list[str],
    out_id: dict[str, int],
    in_id: dict[str, int],
    inbound: dict[str, tuple[str, ...]],
    classes: dict[str, str],
    in_repeat: dict[str, int],
) -> ChannelGraph:
    """Number spaces 0..n-1 in network order (leaves and composites) and collect their layers."""

    def key(handle: int) -> int:
        return handle if handle in sp.composite else sp.uf.find(handle)

    renumber: dict[int, int] = {}
    for name in order:
        h = out_id[name]
        for leaf in sp.leaves(h):
            renumber.setdefault(key(leaf), len(renumber))
        renumber.setdefault(key(h), len(renumber))
    out_group = {name: renumber[key(h)] for name, h in out_id.items()}
    in_group = {name: renumber[key(h)] for name, h in in_id.items()}
    reasons: dict[int, str] = {}
    for leaf, reason in sp.fixed.items():
        reasons.setdefault(renumber[key(leaf)], reason)
    by_id = {gid: h for h, gid in renumber.items()}
    groups: list[ChannelGroup] = []
    for gid in range(len(renumber)):
        handle = by_id[gid]
        parts = tuple(renumber[key(p)] for p in sp.composite.get(handle, ()))
        members = tuple(n for n in order if out_group[n] == gid)
        if parts:
            channels = sum(groups[p].channels for p in parts)
            reason = next((groups[p].reason for p in parts if groups[p].reason), "")
        else:
            channels = _leaf_channels(model, members, order, out_group, in_group, gid)
            reason = reasons.get(gid, "")
        groups.append(
            ChannelGroup(
                id=gid,
                channels=channels,
                members=members,
                producers=tuple(n for n in members if classes[n] in KERNEL_LAYERS),
                consumers=tuple(
                    n for n in order if classes[n] in KERNEL_LAYERS and in_group.get(n) == gid
                ),
                prunable=not reason,
                parts=parts,
                reason=reason,
            )
        )
    return ChannelGraph(
        groups=tuple(groups),
        output_group=out_group,
        input_group=in_group,
        inbound=inbound,
        class_name=classes,
        input_repeat=in_repeat,
    )


def _leaf_channels(
    model: Any,
    members: tuple[str, ...],
    order: list[str],
    out_group: Mapping[str, int],
    in_group: Mapping[str, int],
    gid: int,
) -> int:
    """Width of a leaf space: its first member's last axis (a leaf only read: its reader's)."""
    if members:
        return int(_shape(model, members[0])[-1] or 0)
    reader = next(n for n in order if in_group.get(n) == gid)  # pragma: no cover - defensive
    return int(_shape(model, reader)[-1] or 0)
