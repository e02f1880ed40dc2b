"""The model as a DAG of layers: what each computes and outputs, and which layers it reads."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cnnpc.errors import ProfileError
from cnnpc.profiles import LayerRow, Profile


@dataclass(frozen=True)
class LayerGraph:
    """Layers in topological order (row 0 is the input); ``inputs`` are indices of earlier rows.

    ``segment`` ties each layer to the profile segment whose measured time it shares.
    """

    names: tuple[str, ...]
    ops: tuple[str, ...]
    segments: tuple[int, ...]
    flops: tuple[int, ...]
    shapes: tuple[tuple[int, ...], ...]
    elements: tuple[int, ...]
    inputs: tuple[tuple[int, ...], ...]

    @property
    def n_layers(self) -> int:
        return len(self.names)

    @property
    def consumers(self) -> tuple[tuple[int, ...], ...]:
        """For each layer, the layers that read its output (its tensor is sent once to them)."""
        out: list[list[int]] = [[] for _ in self.names]
        for v, sources in enumerate(self.inputs):
            for u in dict.fromkeys(sources):
                out[u].append(v)
        return tuple(tuple(x) for x in out)

    @staticmethod
    def from_rows(rows: Sequence[LayerRow]) -> LayerGraph:
        index = {row.name: i for i, row in enumerate(rows)}
        return LayerGraph(
            names=tuple(r.name for r in rows),
            ops=tuple(r.op for r in rows),
            segments=tuple(r.segment for r in rows),
            flops=tuple(r.flops for r in rows),
            shapes=tuple(r.shape for r in rows),
            elements=tuple(r.elements for r in rows),
            inputs=tuple(tuple(index[x] for x in r.inputs) for r in rows),
        )

    @staticmethod
    def chain(profile: Profile) -> LayerGraph:
        """One layer per profile segment after an input layer: the graph the block planner sees.

        Layer k+1 is segment k and outputs boundary k+1; the last output never crosses a link,
        so its size is irrelevant (1 element).
        """
        tensors = profile.boundaries
        n = profile.n_segments
        shapes = [(t.height, t.width, t.channels) for t in tensors] + [(1,)]
        return LayerGraph(
            names=("input", *(s.name for s in profile.segments)),
            ops=("InputLayer", *("Segment" for _ in range(n))),
            segments=(0, *range(n)),
            flops=(0, *(1 for _ in range(n))),
            shapes=tuple(shapes),
            elements=(*(t.elements for t in tensors), 1),
            inputs=((), *((k,) for k in range(n))),
        )

    def check_against(self, profile: Profile) -> None:
        """Every segment of the profile must own at least one layer, and no layer another one."""
        n = profile.n_segments
        owned = set(self.segments)
        if not owned <= set(range(n)) or len(owned) != n:
            raise ProfileError(
                f"{profile.model}: the layer graph covers segments {sorted(owned)}, the profile "
                f"has 0..{n - 1}"
            )
