"""Per-layer costs: FLOPs apportioning keeps every segment's time; transfers use the links."""

from __future__ import annotations

import numpy as np
import pytest

from cnnpc.errors import ProfileError
from cnnpc.latency import Conventions
from cnnpc.layergraph import LayerGraph, apportion, layer_costs
from cnnpc.profiles import TIERS, load_layers, load_profile, make_profile
from cnnpc.records import LinkSetting


@pytest.mark.parametrize("model", ["resnet", "mobilenet"])
@pytest.mark.parametrize("device", ["MI8", "MI8SE"])
def test_apportioned_layers_add_up_to_each_segment(model, device):
    profile = load_profile(model, device)
    graph = LayerGraph.from_rows(load_layers(profile))
    compute = apportion(profile, graph)
    segments = np.array(graph.segments)
    for t, tier in enumerate(TIERS):
        for s, seg in enumerate(profile.segments):
            assert compute[t, segments == s].sum() == pytest.approx(seg.on(tier), rel=1e-12)
    flops = np.array(graph.flops)
    assert np.all(compute[:, flops == 0] == 0.0)
    assert np.all(compute[:, flops > 0] > 0.0)


def test_share_is_proportional_to_flops():
    profile = load_profile("resnet", "MI8")
    graph = LayerGraph.from_rows(load_layers(profile))
    compute = apportion(profile, graph)
    i = graph.names.index("stage2_unit1_conv1")
    j = graph.names.index("stage2_unit1_shortcut")
    assert graph.segments[i] == graph.segments[j] == 2
    assert compute[0, i] / compute[0, j] == pytest.approx(graph.flops[i] / graph.flops[j])
    # stage 2 on MI8: 35.9714 ms; conv1 (3x3x64->128 at 28x28) is 2*28*28*128*576 of its FLOPs
    assert graph.flops[i] == 115_605_504
    seg_flops = sum(f for f, s in zip(graph.flops, graph.segments, strict=True) if s == 2)
    assert compute[0, i] == pytest.approx(35.9714 * 115_605_504 / seg_flops)


def test_transfers_follow_the_links_and_bytes_per_element():
    profile = load_profile("mobilenet", "MI8")
    graph = LayerGraph.from_rows(load_layers(profile))
    links = LinkSetting(uplink_mbps=20.0, bandwidth_mbps=10.0)
    costs = layer_costs(profile, graph, links, Conventions(bytes_per_element=4.0))
    v = graph.names.index("Conv1_relu")  # 112x112x32
    assert costs.bytes[v] == 112 * 112 * 32 * 4
    assert costs.link_ms[0, v] == pytest.approx(112 * 112 * 32 * 4 * 8 / 20e6 * 1000)
    assert costs.link_ms[1, v] == pytest.approx(2 * costs.link_ms[0, v])
    assert costs.overhead_ms == pytest.approx(1.66)


def test_chain_graph_and_a_segment_without_flops():
    profile = make_profile([(4.0, 2.0, 1.0), (6.0, 3.0, 1.5)], [(8, 8, 3), (4, 4, 8)])
    chain = LayerGraph.chain(profile)
    assert chain.names == ("input", "s0", "s1") and chain.inputs == ((), (0,), (1,))
    assert np.allclose(apportion(profile, chain), [[0, 4, 6], [0, 2, 3], [0, 1, 1.5]])
    flat = LayerGraph(
        names=("in", "a", "b", "c"),
        ops=("InputLayer", "ReLU", "ReLU", "ReLU"),
        segments=(0, 0, 1, 1),
        flops=(0, 0, 0, 0),
        shapes=((1,),) * 4,
        elements=(1, 1, 1, 1),
        inputs=((), (0,), (1,), (2,)),
    )
    assert np.allclose(apportion(profile, flat)[0], [0, 4, 3, 3])  # equal shares, input 0
    missing = LayerGraph(**{**flat.__dict__, "segments": (0, 0, 0, 0)})
    with pytest.raises(ProfileError, match="covers segments"):
        apportion(profile, missing)
