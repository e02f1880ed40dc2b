"""The layer planner: equal to the block planner on chains, never worse on real models."""

from __future__ import annotations

import itertools

import pytest

from cnnpc.errors import InputError
from cnnpc.latency import Conventions
from cnnpc.layergraph import LayerGraph, LayerPlanner, layer_planner_for
from cnnpc.planner import LinkOptions, Planner
from cnnpc.profiles import synthetic_profile
from cnnpc.records import LinkSetting


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("bandwidth", [1.0, 10.0, 200.0])
def test_chain_layer_plan_equals_block_plan(seed, bandwidth):
    """When layers are the segments, the min cut and the block planner solve the same problem."""
    profile = synthetic_profile(3 + seed, seed=seed)
    links = LinkSetting(
        uplink_mbps=[5.0, 20.0, 100.0][seed % 3],
        bandwidth_mbps=bandwidth,
        uplink_latency_ms=[0.0, 0.5, 3.0, 0.0][seed % 4],  # latencies in a few cases
        latency_ms=[0.0, 0.0, 25.0, 4.0][seed % 4],
        message_ms=[0.0, 0.2][seed % 2],
    )
    conv = Conventions(overhead_ms=1.0)
    layers = LayerPlanner(profile, LayerGraph.chain(profile), links, conv)
    blocks = Planner(profile, links, conv)
    best, block = layers.best(), blocks.best()
    assert best.latency_ms == pytest.approx(block.latency_ms, rel=1e-9)
    assert best.breakdown.total_ms == pytest.approx(
        layers.price(layers.block_placement(block.a, block.b)).latency_ms, rel=1e-12
    )
    two = {
        ("end", "edge"): ("end_only", "edge_only", "end_edge"),
        ("end", "cloud"): ("end_only", "cloud_only", "end_cloud"),
    }
    for tiers, modes in two.items():
        assert layers.best(tiers).latency_ms == pytest.approx(
            blocks.best(modes=modes).latency_ms, rel=1e-9
        )


@pytest.mark.parametrize("model", ["resnet", "mobilenet"])
@pytest.mark.parametrize("latency", [0.0, 15.0])
def test_every_block_plan_prices_the_same_at_layer_granularity(model, latency):
    options = LinkOptions(uplink_mbps=40.0, uplink_latency_ms=latency / 10, latency_ms=latency)
    layers, blocks = layer_planner_for(model, "MI8SE", bandwidth_mbps=5.0, options=options)
    n = blocks.profile.n_segments
    for a, b in itertools.product(range(n + 1), repeat=2):
        if a > b:
            continue
        block = blocks.plan(a, b)
        layer = layers.price(layers.block_placement(a, b))
        assert layer.breakdown.as_dict() == pytest.approx(block.breakdown.as_dict(), rel=1e-9)
        assert layer.mode == block.mode
    assert layers.best().latency_ms <= blocks.best().latency_ms + 1e-9


@pytest.mark.parametrize(
    ("model", "device", "bandwidth", "layer_ms", "block_ms", "cut"),
    [
        # ResNet at 50 Mbps: the cloud takes over one residual unit earlier than block16
        ("resnet", "MI8", 50.0, 86.138, 89.379, ("edge->cloud", "stage3_unit1_out")),
        # MobileNetV2: the end device stops after the stride-2 block 3, not after block 5's add
        ("mobilenet", "MI8SE", 10.0, 66.124, 71.887, ("end->edge", "block_3_project_BN")),
        ("mobilenet", "MI8", 1.0, 47.346, 50.864, ("end->edge", "block_6_project_BN")),
        ("resnet", "MI8SE", 10.0, 100.349, 100.349, ("end->edge", "input")),
    ],
)
def test_layer_plans_on_shipped_models(model, device, bandwidth, layer_ms, block_ms, cut):
    layers, blocks = layer_planner_for(model, device, bandwidth_mbps=bandwidth)
    best = layers.best()
    assert best.latency_ms == pytest.approx(layer_ms, abs=1e-3)
    assert blocks.best().latency_ms == pytest.approx(block_ms, abs=1e-3)
    assert cut in {(c.link, c.layer) for c in best.crossings}
    assert best.breakdown.traffic_bytes == sum(c.bytes for c in best.crossings)
    assert sum(n for *_, n in best.runs()) == layers.graph.n_layers
    assert best.tiers[0] == "end"


def test_tier_choices_and_bad_ones():
    layers, _ = layer_planner_for("mobilenet", "MI8", bandwidth_mbps=10.0)
    end_only = layers.best(("end",))
    assert end_only.mode == "end_only" and end_only.latency_ms == pytest.approx(80.0886)
    three = layers.best()
    for tiers in (("end", "edge"), ("end", "cloud")):
        two = layers.best(tiers)
        assert set(two.tiers) <= set(tiers)
        assert three.latency_ms <= two.latency_ms + 1e-9
    for bad in (("edge", "cloud"), ("end", "cloud", "edge"), ("end", "fog")):
        with pytest.raises(InputError, match="tiers must be"):
            layers.best(bad)
    with pytest.raises(InputError, match=r"one tier in 0\.\.2"):
        layers.price([0, 1])
