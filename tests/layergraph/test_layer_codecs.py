"""The layer planner with a codec per tensor against brute force over placements and codecs."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from cnnpc.codec import Codec, CodecChoice, CodecMeasure
from cnnpc.errors import InputError
from cnnpc.latency import Conventions
from cnnpc.layergraph import LayerGraph, LayerPlanner
from cnnpc.profiles import make_profile
from cnnpc.records import LinkSetting


def _problem(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 8))
    n_segments = int(rng.integers(1, n))
    segments = (
        0,
        *sorted(rng.choice(n_segments, n - 1 - n_segments, replace=True)),
        *range(n_segments),
    )
    segments = tuple(sorted(int(s) for s in segments))
    inputs = (
        (),
        *(
            tuple(sorted({int(x) for x in rng.choice(v, size=min(v, int(rng.integers(1, 3))))}))
            for v in range(1, n)
        ),
    )
    elements = tuple(int(rng.integers(1, 5000)) for _ in range(n))
    graph = LayerGraph(
        names=tuple(f"l{v}" for v in range(n)),
        ops=("InputLayer", *("Conv2D" for _ in range(n - 1))),
        segments=segments,
        flops=(0, *(int(rng.integers(0, 100)) for _ in range(n - 1))),
        shapes=tuple((e,) for e in elements),
        elements=elements,
        inputs=inputs,
    )
    times = [tuple(float(x) for x in rng.uniform(0, 20, 3)) for _ in range(n_segments)]
    profile = make_profile(times, [(4, 4, 4)] * n_segments)
    links = LinkSetting(
        uplink_mbps=float(rng.uniform(0.5, 50)),
        bandwidth_mbps=float(rng.uniform(0.5, 50)),
        uplink_latency_ms=float(rng.choice([0.0, 2.0])),
        message_ms=float(rng.choice([0.0, 1.0])),
    )
    bits = tuple(
        int(b) for b in rng.choice(np.arange(1, 9), size=int(rng.integers(1, 4)), replace=False)
    )
    entropy = str(rng.choice(["none", "zstd"]))
    measures = tuple(
        CodecMeasure(name, b, ratio=float(rng.uniform(0.7, 5)))
        for name, b in itertools.product(graph.names, bits)
        if rng.random() < 0.5
    )
    return graph, profile, links, CodecChoice(bits, entropy, measures)


def _placements(inputs):
    def extend(prefix):
        v = len(prefix)
        if v == len(inputs):
            yield tuple(prefix)
            return
        low = max((prefix[u] for u in inputs[v]), default=0)
        for t in range(low, 3):
            if v > 0 or t == 0:  # the input layer stays on the end device
                yield from extend([*prefix, t])

    yield from extend([])


def _reference(graph, links, choice, compute, tiers):
    """Compute, then each crossing tensor under its cheapest codec (one codec on every link it
    crosses: a relay forwards it as coded), then each used link's fixed cost."""
    measured = {(m.candidate, m.bits): m.ratio for m in choice.measures}
    total = sum(compute[t][v] for v, t in enumerate(tiers))
    total += links.uplink_fixed_ms if max(tiers) >= 1 else 0.0
    total += links.fixed_ms if max(tiers) >= 2 else 0.0
    rates = (links.uplink_mbps, links.bandwidth_mbps)
    for u, name in enumerate(graph.names):
        users = [w for w, src in enumerate(graph.inputs) if u in src]
        top = max((tiers[w] for w in users), default=tiers[u])
        crossed = range(tiers[u], top)
        if not crossed:
            continue
        codecs = [Codec()] if u == 0 else choice.codecs
        prices = []
        for c in codecs:
            ratio = measured.get((name, c.bits), 1.0) if c.entropy == "zstd" else 1.0
            size = graph.elements[u] * (c.bits / 8 / ratio if u else 1.0)
            prices.append(sum(size * 8 / (rates[k] * links.mbit_bits) * 1000 for k in crossed))
        total += min(prices)
    return total


@pytest.mark.parametrize("seed", range(40))
def test_layer_plan_with_codecs_equals_brute_force(seed):
    graph, profile, links, choice = _problem(seed)
    planner = LayerPlanner(profile, graph, links, Conventions(overhead_ms=0.5), choice)
    compute = planner.costs.compute.tolist()
    brute = min(_reference(graph, links, choice, compute, p) for p in _placements(graph.inputs))
    best = planner.best()
    assert best.latency_ms == pytest.approx(brute + 0.5, rel=1e-6, abs=1e-6)
    for crossing in best.crossings:
        assert crossing.codec is not None
        assert crossing.as_dict()["bits"] == crossing.codec.bits
        if crossing.layer != graph.names[0]:
            assert crossing.codec in choice.codecs


def test_without_a_choice_nothing_changes():
    graph, profile, links, _ = _problem(3)
    plain = LayerPlanner(profile, graph, links)
    assert plain.costs.codecs is None
    for c in plain.best().crossings:
        assert "bits" not in c.as_dict()
    same = LayerPlanner(profile, graph, links, codecs=CodecChoice())
    assert np.array_equal(same.costs.link_ms, plain.costs.link_ms)


def test_codec_times_are_refused_at_layer_granularity():
    graph, profile, links, _ = _problem(1)
    timed = CodecChoice((4,), measures=(CodecMeasure("l1", 4, encode_ms=1.0),))
    with pytest.raises(InputError, match="--granularity block"):
        LayerPlanner(profile, graph, links, codecs=timed)
