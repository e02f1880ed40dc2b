"""The parameters each segment holds under any keep configuration, without TensorFlow.

Read from the model's layer graph (``layers.csv``) and its per-segment counts (``params.csv``):

- a Conv2D, DepthwiseConv2D or Dense layer holds its kernel, FLOPs / (2 x output positions)
  (the FLOP rule of `layer_flops`: 2 per multiply-accumulate), which is kh*kw*in*out (Conv2D),
  kh*kw*channels (depthwise) or in*out (Dense);
- a BatchNormalization holds 4 per channel (scale, offset, moving mean and variance);
- what ``params.csv`` counts beyond these (biases: the head's Dense bias in the shipped models)
  is kept whole.

Pruning a candidate removes channels from its whole channel space, as the surgery does
(`cnnpc.compression`): a Conv2D or Dense starts a new space, an element-wise merge (Add ...)
joins its inputs' spaces, a Concatenate lays its inputs' spaces side by side, every other layer
keeps its input's. A kernel shrinks by the kept fraction of the space it reads and of the space
it writes; a depthwise kernel and a batch norm by the kept fraction of their space. Kept counts
follow the one rule (`kept_count`, per part of a concatenation), so a pruned candidate's
producers lose output filters and its consumers in the next segment lose input channels.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from cnnpc.errors import ProfileError
from cnnpc.profiles._layers import LayerRow, load_layers
from cnnpc.profiles._params import load_params
from cnnpc.profiles._schema import Profile
from cnnpc.spaces import SearchSpace, kept_count

KERNELS = frozenset({"Conv2D", "DepthwiseConv2D", "Dense"})
MERGES = frozenset({"Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"})
BN_PER_CHANNEL = 4


@dataclass(frozen=True)
class WeightTerm:
    """Parameters of one layer at full width and the channel spaces whose kept fractions
    scale them (None: not scaled on that side)."""

    segment: int
    count: int
    space_in: int | None
    space_out: int | None


@dataclass(frozen=True)
class SegmentWeights:
    """Every segment's parameters as terms over channel spaces (see the module docstring)."""

    n_segments: int
    terms: tuple[WeightTerm, ...]
    fixed: tuple[int, ...]
    """Per segment: parameters no pruning removes (params.csv beyond the terms)."""
    leaves: Mapping[int, tuple[tuple[int, int], ...]]
    """Per space: its (leaf space, width) parts (one part for a plain space)."""
    candidates: Mapping[str, int]
    """The space of each candidate's tensor."""

    def counts(self, fractions: Mapping[str, float] | None = None) -> tuple[int, ...]:
        """Parameters of each segment with `fractions` kept at the named candidates (after
        ties: `KeepConfig.pruned`); unnamed candidates are kept whole."""
        kept: dict[int, int] = {}
        for name, fraction in (fractions or {}).items():
            if fraction < 1.0:
                for leaf, width in self.leaves[self.candidates[name]]:
                    kept[leaf] = kept_count(fraction, width)
        totals = [float(v) for v in self.fixed]
        for term in self.terms:
            totals[term.segment] += (
                term.count * self._share(term.space_in, kept) * self._share(term.space_out, kept)
            )
        return tuple(round(v) for v in totals)

    def _share(self, space: int | None, kept: Mapping[int, int]) -> float:
        if space is None:
            return 1.0
        parts = self.leaves[space]
        return sum(kept.get(leaf, width) for leaf, width in parts) / sum(w for _, w in parts)


class _Spaces:
    """Channel spaces while the graph is read: leaves joined by merges, concatenations as parts."""

    def __init__(self) -> None:
        self.parent: list[int] = []
        self.width: list[int] = []
        self.parts: dict[int, tuple[int, ...]] = {}

    def leaf(self, width: int) -> int:
        self.parent.append(len(self.parent))
        self.width.append(width)
        return len(self.parent) - 1

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            i = self.parent[i]
        return i

    def concat(self, handles: list[int]) -> int:
        parts = [p for h in handles for p in self.parts.get(h, (h,))]
        handle = self.leaf(sum(self.width[p] for p in parts))
        self.parts[handle] = tuple(parts)
        return handle

    def merge(self, handles: list[int]) -> int:
        if any(h in self.parts for h in handles):  # the surgery leaves these whole
            return self.leaf(self.width[handles[0]])
        root = self.find(handles[0])
        for h in handles[1:]:
            other = self.find(h)
            if other != root:
                self.parent[max(root, other)] = min(root, other)
                root = min(root, other)
        return root

    def resolve(self, handle: int) -> tuple[tuple[int, int], ...]:
        parts = self.parts.get(handle, (handle,))
        return tuple((self.find(p), self.width[p]) for p in parts)


def _positions(row: LayerRow) -> int:
    out = 1
    for d in row.shape[:-1]:
        out *= d
    return out


def segment_weights(
    rows: tuple[LayerRow, ...], space: SearchSpace, params: tuple[int, ...], n_segments: int
) -> SegmentWeights:
    """The weight terms of a layer graph (`rows`, checked against the profile) whose segments
    hold `params` parameters at full width."""
    spaces = _Spaces()
    out: dict[str, int] = {}
    terms: list[tuple[int, int, int | None, int | None]] = []
    for row in rows:
        parents = [out[p] for p in row.inputs]
        channels = row.shape[-1]
        if not parents:
            out[row.name] = spaces.leaf(channels)
        elif row.op in ("Conv2D", "Dense"):
            out[row.name] = spaces.leaf(channels)
            kernel = row.flops // (2 * _positions(row))
            terms.append((row.segment, kernel, parents[0], out[row.name]))
        elif row.op in MERGES:
            out[row.name] = spaces.merge(parents)
        elif row.op == "Concatenate":
            out[row.name] = spaces.concat(parents)
        elif len(parents) > 1:
            out[row.name] = spaces.leaf(channels)
        else:
            out[row.name] = parents[0]
            if row.op == "DepthwiseConv2D":
                terms.append((row.segment, row.flops // (2 * _positions(row)), None, out[row.name]))
            elif row.op == "BatchNormalization":
                terms.append((row.segment, BN_PER_CHANNEL * channels, None, out[row.name]))
    fixed = list(params)
    for segment, count, _, _ in terms:
        fixed[segment] -= count
    if len(fixed) != n_segments:
        raise ProfileError(f"{len(fixed)} parameter counts for {n_segments} segments")
    handles = {h for _, _, a, b in terms for h in (a, b) if h is not None}
    by_name = {}
    for cand in space.candidates:
        if not cand.layers or cand.layers[-1] not in out:
            raise ProfileError(f"candidate {cand.name}: its layer is not in the layer graph")
        by_name[cand.name] = out[cand.layers[-1]]
        handles.add(by_name[cand.name])
    return SegmentWeights(
        n_segments=n_segments,
        terms=tuple(
            WeightTerm(segment, count, a, b) for segment, count, a, b in terms if count > 0
        ),
        fixed=tuple(fixed),
        leaves={h: spaces.resolve(h) for h in handles},
        candidates=by_name,
    )


def profile_weights(profile: Profile) -> SegmentWeights:
    """`segment_weights` of `profile`'s model from its shipped or added files."""
    return segment_weights(
        load_layers(profile), profile.space, load_params(profile), profile.n_segments
    )
