"""Layer-granularity planner: the optimal end / edge / cloud placement of every layer.

Block-boundary plans cut the model only where one tensor crosses (the profile's candidates).
Here every layer may go to any tier, so a cut may run through a residual block, with the shortcut
and the main branch both crossing. The optimum over all placements is one minimum s-t cut
(cnnpc.planner.solve_tiered_cut: exact for three tiers too). Every block plan is a layer placement
with the same latency, so the layer plan is never slower than the block planner's best.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from cnnpc.codec import Codec, CodecChoice
from cnnpc.errors import InputError
from cnnpc.latency import Breakdown, Conventions
from cnnpc.layergraph._costs import LayerCosts, layer_costs
from cnnpc.layergraph._graph import LayerGraph
from cnnpc.planner import LinkOptions, Planner, planner_for, price_assignment, solve_tiered_cut
from cnnpc.profiles import TIERS, Profile, load_layers
from cnnpc.records import LinkSetting

LINKS = ("end->edge", "edge->cloud")
_MODE_OF_TIERS = {
    ("end",): "end_only",
    ("edge",): "edge_only",
    ("cloud",): "cloud_only",
    ("end", "edge"): "end_edge",
    ("end", "cloud"): "end_cloud",
    ("edge", "cloud"): "edge_cloud",
    ("end", "edge", "cloud"): "end_edge_cloud",
}


@dataclass(frozen=True)
class Crossing:
    """A layer's output sent over one link."""

    link: str
    layer: str
    shape: tuple[int, ...]
    bytes: float
    ms: float
    codec: Codec | None = None
    """The codec it travels under (None: int8, no codec choice)."""

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "link": self.link,
            "layer": self.layer,
            "shape": "x".join(map(str, self.shape)),
            "bytes": self.bytes,
            "ms": self.ms,
        }
        return out if self.codec is None else out | self.codec.as_dict()


@dataclass(frozen=True)
class LayerPlan:
    """Where every layer runs, what crosses each link, and the latency breakdown."""

    tiers: tuple[str, ...]  # per layer, in the graph's order
    names: tuple[str, ...]
    mode: str
    breakdown: Breakdown
    crossings: tuple[Crossing, ...]
    solve_ms: float = 0.0

    @property
    def latency_ms(self) -> float:
        return self.breakdown.total_ms

    def runs(self) -> list[tuple[str, str, str, int]]:
        """Maximal runs of consecutive layers on one tier: (tier, first, last, count)."""
        out: list[tuple[str, str, str, int]] = []
        for name, tier in zip(self.names, self.tiers, strict=True):
            if out and out[-1][0] == tier:
                t, first, _, count = out[-1]
                out[-1] = (t, first, name, count + 1)
            else:
                out.append((tier, name, name, 1))
        return out

    def layers_on(self, tier: str) -> list[str]:
        return [n for n, t in zip(self.names, self.tiers, strict=True) if t == tier]

    def as_dict(self) -> dict[str, object]:
        return {
            "latency_ms": self.latency_ms,
            "mode": self.mode,
            "layers_per_tier": {t: len(self.layers_on(t)) for t in TIERS},
            "runs": [{"tier": t, "first": a, "last": b, "layers": n} for t, a, b, n in self.runs()],
            "crossings": [c.as_dict() for c in self.crossings],
            "traffic_bytes": self.breakdown.traffic_bytes,
            "breakdown": self.breakdown.as_dict(),
            "solve_ms": self.solve_ms,
        }


class LayerPlanner:
    """Prices and solves layer placements of one model under fixed links and conventions."""

    def __init__(
        self,
        profile: Profile,
        graph: LayerGraph,
        links: LinkSetting,
        conventions: Conventions | None = None,
        codecs: CodecChoice | None = None,
    ) -> None:
        self.profile = profile
        self.graph = graph
        self.links = links
        self.conventions = conventions or Conventions()
        self.costs: LayerCosts = layer_costs(profile, graph, links, self.conventions, codecs)
        self._consumers = graph.consumers

    def price(self, tiers: Sequence[int]) -> LayerPlan:
        """The plan of a given placement (tier index per layer: 0 end, 1 edge, 2 cloud)."""
        if len(tiers) != self.graph.n_layers or any(t not in (0, 1, 2) for t in tiers):
            raise InputError(f"need one tier in 0..2 for each of {self.graph.n_layers} layers")
        parts = price_assignment(
            self.graph.inputs, self.costs.compute, self.costs.link_ms, tiers, self.costs.link_fixed
        )
        crossings = []
        sent = [0.0, 0.0]
        for u, users in enumerate(self._consumers):
            top = max((tiers[w] for w in users), default=tiers[u])
            for k in range(tiers[u], top):
                sent[k] += float(self.costs.bytes[u])
                crossings.append(
                    Crossing(
                        link=LINKS[k],
                        layer=self.graph.names[u],
                        shape=self.graph.shapes[u],
                        bytes=float(self.costs.bytes[u]),
                        ms=float(self.costs.link_ms[k, u]),
                        codec=None if self.costs.codecs is None else self.costs.codecs[u],
                    )
                )
        used = tuple(TIERS[t] for t in sorted(set(tiers[1:] or tiers)))
        return LayerPlan(
            tiers=tuple(TIERS[t] for t in tiers),
            names=self.graph.names,
            mode=_MODE_OF_TIERS[used],
            breakdown=Breakdown(
                end_ms=parts.compute[0],
                uplink_ms=parts.transfer[0],
                edge_ms=parts.compute[1],
                downlink_ms=parts.transfer[1],
                cloud_ms=parts.compute[2],
                overhead_ms=self.conventions.overhead_ms,
                uplink_bytes=sent[0],
                downlink_bytes=sent[1],
            ),
            crossings=tuple(sorted(crossings, key=lambda c: LINKS.index(c.link))),
        )

    def best(self, tiers: Sequence[str] = TIERS) -> LayerPlan:
        """The fastest placement using only `tiers` (ordered, starting with "end", where the
        input is): ("end", "edge", "cloud") is the 3-tier cut, ("end", "edge") or
        ("end", "cloud") a single s-t cut (end->cloud tensors are relayed: both links)."""
        chosen = [TIERS.index(t) for t in tiers if t in TIERS]
        if len(chosen) != len(tiers) or chosen != sorted(set(chosen)) or chosen[:1] != [0]:
            raise InputError(f"tiers must be 'end' then edge and/or cloud in order, got {tiers}")
        if len(chosen) == 1:
            return self.price([0] * self.graph.n_layers)
        compute = self.costs.compute[chosen]
        cum = np.vstack([np.zeros(self.graph.n_layers), np.cumsum(self.costs.link_ms, axis=0)])
        transfer = np.vstack([cum[b] - cum[a] for a, b in itertools.pairwise(chosen)])
        fixed_cum = np.concatenate([[0.0], np.cumsum(self.costs.link_fixed)])
        fixed = [fixed_cum[b] - fixed_cum[a] for a, b in itertools.pairwise(chosen)]
        roots = {v: 0 for v, src in enumerate(self.graph.inputs) if not src}
        # SciPy's first import (~0.3 s) is not part of the solve time
        from scipy.sparse import csgraph  # type: ignore[import-untyped]  # noqa: F401

        start = time.perf_counter()
        cut = solve_tiered_cut(self.graph.inputs, compute, transfer, roots, fixed)
        elapsed = (time.perf_counter() - start) * 1000.0
        plan = self.price([chosen[t] for t in cut.tiers])
        return replace(plan, solve_ms=elapsed)

    def block_placement(self, a: int, b: int) -> list[int]:
        """The block plan (a, b) as a placement: segments [0, a) end, [a, b) edge, rest cloud.

        The input layer stays on the end device (a block plan with a = 0 sends the raw input).
        """
        tiers = [0 if s < a else (1 if s < b else 2) for s in self.graph.segments]
        tiers[0] = 0
        return tiers


def layer_planner_for(
    model: str,
    device: str,
    *,
    bandwidth_mbps: float,
    options: LinkOptions | None = None,
    codecs: CodecChoice | None = None,
) -> tuple[LayerPlanner, Planner]:
    """The layer planner of a shipped model and the block planner with the same settings
    (`options`: the links besides the edge->cloud rate; default `LinkOptions()`)."""
    blocks = planner_for(
        model, device, bandwidth_mbps=bandwidth_mbps, options=options, codecs=codecs
    )
    graph = LayerGraph.from_rows(load_layers(blocks.profile))
    layers = LayerPlanner(blocks.profile, graph, blocks.links, blocks.conventions, codecs)
    return layers, blocks


def layer_plan_report(
    model: str,
    device: str,
    bandwidth_mbps: float,
    options: LinkOptions,
    codecs: CodecChoice | None = None,
) -> dict[str, Any]:
    """`cnnpc plan --granularity layer` as a JSON-able dict: the exact layer-level placement
    beside the block plan with the same settings (and the same choice of codecs)."""
    layers, blocks = layer_planner_for(
        model, device, bandwidth_mbps=bandwidth_mbps, options=options, codecs=codecs
    )
    best = layers.best()
    block = blocks.best()
    block_layers = layers.price(layers.block_placement(block.a, block.b))
    cuts = {(c.link, c.layer) for c in best.crossings}
    block_cuts = {(c.link, c.layer) for c in block_layers.crossings}
    return {
        "model": layers.profile.model,
        "device": layers.profile.device,
        "granularity": "layer",
        "links": blocks.links.as_dict(),
        "overhead_ms": layers.conventions.overhead_ms,
        "layers": layers.graph.n_layers,
        "best": best.as_dict(),
        "two_tier": {
            "end_edge": layers.best(("end", "edge")).as_dict(),
            "end_cloud": layers.best(("end", "cloud")).as_dict(),
        },
        "block_best": block.as_dict()
        | {"crossings": [c.as_dict() for c in block_layers.crossings]},
        "difference": {
            "latency_ms": best.latency_ms - block.latency_ms,
            "speedup": block.latency_ms / best.latency_ms,
            "same_cut": cuts == block_cuts,
        },
    }
