"""Per-layer costs: each tier's compute time and each link's transfer time, from a profile.

The profiles measure whole segments, not layers, so a segment's time on a tier is shared among
its layers in proportion to their FLOPs. Layers without FLOPs (batch norm, activations, additions,
pooling, the input) get 0 ms: deployed int8 graphs fold batch norm into the convolution and fuse
the activation into its kernel, and an addition or pooling is a memory pass that is small next to
the convolutions; a made-up epsilon would only move time away from the layers that measurably
cost it. Their placement is then decided by transfers alone, and ties keep them on the lower
tier, with the layer that feeds them. A segment with no FLOPs at all (a synthetic one) shares its
time equally among its layers.

Transfers use the block planner's model (cnnpc.latency): bytes = elements x bytes per element at
the links' rates, plus each used link's fixed cost (latency there and back, per-message cost);
the raw input starts on the end device; the output's way back is the fixed overhead.

With a choice of codecs, every layer output but the raw input travels under the codec that makes
it smallest (bits / 8 over the coder's ratio, measured per layer name, else 1): without codec
time, the smallest tensor is the fastest on either link and on a relay, so the per-tensor choice
keeps the minimum cut exact. Encode/decode times are refused here: a relayed tensor's codec time
is paid once, a cost no minimum cut represents (the block planner prices it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cnnpc.codec import DEFAULT_CODEC, Codec, CodecChoice
from cnnpc.errors import InputError
from cnnpc.latency import Conventions
from cnnpc.layergraph._graph import LayerGraph
from cnnpc.profiles import TIERS, Profile
from cnnpc.records import FloatArray, LinkSetting


@dataclass(frozen=True)
class LayerCosts:
    """compute[t, v]: ms of layer v on tier t (end, edge, cloud); link_ms[k, v]: ms to send v's
    output over link k (0: end->edge, 1: edge->cloud); bytes[v]: that output's size;
    link_fixed[k]: what a plan pays once for using link k at all."""

    compute: FloatArray
    link_ms: FloatArray
    bytes: FloatArray
    overhead_ms: float
    link_fixed: FloatArray
    codecs: tuple[Codec, ...] | None = None
    """Per layer, the codec its output travels under (None: int8, no codec choice)."""


def apportion(profile: Profile, graph: LayerGraph) -> FloatArray:
    """(3, layers) compute times: each segment's time split by its layers' share of FLOPs."""
    graph.check_against(profile)
    segments = np.array(graph.segments)
    flops = np.array(graph.flops, dtype=np.float64)
    share = np.zeros(graph.n_layers)
    for s in range(profile.n_segments):
        members = segments == s
        total = flops[members].sum()
        if total > 0:
            share[members] = flops[members] / total
        else:
            members[0] = False  # the input layer never computes
            share[members] = 1.0 / max(1, int(members.sum()))
    times = np.array([[seg.on(t) for seg in profile.segments] for t in TIERS])
    compute: FloatArray = times[:, segments] * share[None, :]
    return compute


def _smallest(graph: LayerGraph, choice: CodecChoice) -> tuple[Codec, ...]:
    """Each layer output's smallest codec (the raw input: none; ties: the wider)."""
    if any(m.encode_ms or m.decode_ms for m in choice.measures):
        raise InputError(
            "the layer planner prices codecs without encode/decode time (a relayed tensor's "
            "codec time is no minimum cut); use --granularity block"
        )
    return tuple(
        DEFAULT_CODEC
        if not graph.inputs[v]
        else min(choice.codecs, key=lambda c: choice.factor(name, c))
        for v, name in enumerate(graph.names)
    )


def layer_costs(
    profile: Profile,
    graph: LayerGraph,
    links: LinkSetting,
    conventions: Conventions | None = None,
    codecs: CodecChoice | None = None,
) -> LayerCosts:
    """Everything the layer planner prices, as arrays (no pruning: every tensor whole)."""
    conv = conventions or Conventions()
    bpe = conv.bytes_per_element or profile.bytes_per_element
    n_bytes = np.array(graph.elements, dtype=np.float64) * bpe
    chosen = None
    if codecs is not None:
        chosen = _smallest(graph, codecs)
        factors = [codecs.factor(name, c) for name, c in zip(graph.names, chosen, strict=True)]
        n_bytes = n_bytes * np.array(factors)
    link_ms = np.vstack(
        [
            np.asarray(links.ms(n_bytes, links.uplink_mbps), dtype=np.float64),
            np.asarray(links.ms(n_bytes, links.bandwidth_mbps), dtype=np.float64),
        ]
    )
    return LayerCosts(
        compute=apportion(profile, graph),
        link_ms=link_ms,
        bytes=n_bytes,
        overhead_ms=conv.overhead_ms,
        link_fixed=np.array([links.uplink_fixed_ms, links.fixed_ms], dtype=np.float64),
        codecs=chosen,
    )
