from __future__ import annotations

import math

import pytest

from cnnpc.errors import InputError, SearchSpaceError
from cnnpc.latency import Conventions, breakdown, cost_tables
from cnnpc.profiles import load_profile, make_profile
from cnnpc.records import MBIT_SI, KeepConfig, LinkSetting
from cnnpc.spaces import kept_count


@pytest.fixture(scope="module")
def tiny():
    # 3 segments; boundaries: input 10x10x3 (300), t1 2x2x8 (32), t2 1x1x4 (4)
    return make_profile(
        times=[(10.0, 2.0, 1.0), (20.0, 4.0, 2.0), (30.0, 6.0, 3.0)],
        tensors=[(10, 10, 3), (2, 2, 8), (1, 1, 4)],
    )


def test_breakdown_by_hand(tiny):
    links = LinkSetting(uplink_mbps=8.0, bandwidth_mbps=4.0, mbit_bits=1000.0)  # 1 byte = 1 ms up
    tables = cost_tables(tiny, links, conventions=Conventions(overhead_ms=1.0))
    bd = breakdown(tables, 1, 2)  # end: s0, edge: s1, cloud: s2; t1 up, t2 down
    assert bd.end_ms == 10.0
    assert bd.uplink_ms == pytest.approx(32.0)
    assert bd.edge_ms == 4.0
    assert bd.downlink_ms == pytest.approx(8.0)  # 4 bytes at half the rate
    assert bd.cloud_ms == 3.0
    assert bd.total_ms == pytest.approx(10 + 32 + 4 + 8 + 3 + 1)
    assert bd.traffic_bytes == 36.0
    relay = breakdown(tables, 1, 1)  # end -> cloud through the edge: both links carry t1
    assert relay.edge_ms == 0.0
    assert relay.uplink_bytes == relay.downlink_bytes == 32.0
    end_only = breakdown(tables, 3, 3)
    assert end_only.traffic_bytes == 0.0
    assert end_only.total_ms == pytest.approx(61.0)
    with pytest.raises(InputError):
        breakdown(tables, 2, 1)


def test_pruning_shrinks_transfer_in_proportion_to_channels(tiny):
    links = LinkSetting(8.0, 4.0, 1000.0)
    comp = KeepConfig.from_fractions(tiny.space, {"t1": 0.25})
    assert comp.channels == {"t1": 2}
    tables = cost_tables(tiny, links, comp, Conventions(overhead_ms=0.0))
    assert tables.bytes[1] == 8.0
    assert tables.end.tolist() == [10.0, 20.0, 30.0]  # "none": compute untouched


def test_linear_compute_rule(tiny):
    comp = KeepConfig.from_fractions(tiny.space, {"t1": 0.5, "t2": 0.5})
    tables = cost_tables(tiny, LinkSetting(), comp, Conventions(prune_compute="linear"))
    # segment 0: (1 + 0.5)/2, segment 1: (0.5 + 0.5)/2, segment 2: (0.5 + 1)/2
    assert tables.end.tolist() == pytest.approx([7.5, 10.0, 22.5])
    assert tables.cloud.tolist() == pytest.approx([0.75, 1.0, 2.25])


def test_kept_count_rounds_and_keeps_one():
    assert kept_count(0.5, 24) == 12
    assert kept_count(0.01, 16) == 1
    assert kept_count(1.0, 7) == 7


def test_groups_share_a_fraction():
    profile = load_profile("resnet", "MI8")
    comp = KeepConfig.from_fractions(profile.space, {"block6": 0.5})
    assert comp.channels == {"block1": 32, "block6": 32}
    with pytest.raises(InputError, match="share a channel group"):
        KeepConfig.from_fractions(profile.space, {"block1": 0.5, "block6": 0.25})
    with pytest.raises(SearchSpaceError, match="unknown candidate"):
        KeepConfig.from_fractions(profile.space, {"nope": 0.5})
    with pytest.raises(InputError, match=r"must be in \(0, 1\]"):
        KeepConfig.from_fractions(profile.space, {"block11": 1.5})


@pytest.mark.parametrize("value", [0.0, -1.0, math.nan, math.inf])
def test_links_reject_bad_rates(value):
    with pytest.raises(InputError):
        LinkSetting(uplink_mbps=value)
    with pytest.raises(InputError):
        LinkSetting(bandwidth_mbps=value)


def test_si_megabit():
    links = LinkSetting(uplink_mbps=20.0, bandwidth_mbps=10.0)
    assert links.mbit_bits == MBIT_SI
    assert links.ms(1_250_000.0, 10.0) == pytest.approx(1000.0)
