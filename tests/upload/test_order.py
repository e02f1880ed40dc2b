"""IONN upload order on a 3-segment profile checked by hand.

End 10 ms per segment, edge 1 ms; input 8,000 B, both candidates 1,000 B; uplink 8 Mbps (8 ms
and 1 ms), no overhead. End/edge only, so the edge runs a suffix [a, 3):
  a=3 (end only) 30;  a=2: 20 + 1 + 1 = 22;  a=1: 10 + 1 + 2 = 13;  a=0: 8 + 3 = 11 ms.
Parameters: 100, 1,000 and 100 B. From nothing (30 ms), benefit per byte of each upload:
  s2: 8 / 100 = 0.08;  s1+s2: 17 / 1,100;  all: 19 / 1,200          -> s2 first (22 ms)
then s1: 9 / 1,000 = 0.009;  s0+s1: 11 / 1,100 = 0.01;  s0 alone: 0  -> s0+s1 (11 ms)
At 800 bit/s the steps complete at 1 s and 12 s; with 1 query/s, 12 queries are issued during
the whole model's 12 s: incremental 30 + 11 x 22 = 272 ms, whole-first 12 x 30 = 360 ms.
"""

from __future__ import annotations

import pytest

from cnnpc.errors import InputError
from cnnpc.latency import Conventions
from cnnpc.planner import Planner
from cnnpc.profiles import make_profile
from cnnpc.records import LinkSetting
from cnnpc.upload import compare, upload_order

PROFILE = make_profile([(10.0, 1.0, 0.1)] * 3, [(1, 1, 8000), (1, 1, 1000), (1, 1, 1000)])
PLANNER = Planner(PROFILE, LinkSetting(uplink_mbps=8.0, bandwidth_mbps=10.0), Conventions(0.0))
SIZES = [100.0, 1000.0, 100.0]
RATE = 0.0008  # Mbps: 100 B per second


def test_upload_order_matches_the_hand_computation():
    order = upload_order(PLANNER, SIZES, RATE)
    assert order.initial.latency_ms == pytest.approx(30.0) and order.initial.mode == "end_only"
    assert order.full.latency_ms == pytest.approx(11.0) and order.full.mode == "edge_only"
    assert [s.segments for s in order.steps] == [("s2",), ("s0", "s1")]
    assert [s.latency_ms for s in order.steps] == pytest.approx([22.0, 11.0])
    assert [s.bytes for s in order.steps] == [100.0, 1100.0]
    assert [s.done_s for s in order.steps] == pytest.approx([1.0, 12.0])
    assert order.whole_upload_s == pytest.approx(12.0) and order.full_benefit_s == 12.0
    assert order.unneeded_bytes == 0
    assert order.latency_at(0.5) == 30.0 and order.latency_at(1.0) == pytest.approx(22.0)


def test_comparison_with_whole_model_first():
    c = compare(upload_order(PLANNER, SIZES, RATE), query_rate=1.0)
    assert c.queries == 12
    assert c.incremental_mean_ms == pytest.approx(272 / 12)
    assert c.whole_first_mean_ms == pytest.approx(30.0)
    assert c.saved_s == pytest.approx(0.088) and c.saved_pct == pytest.approx(100 * 88 / 360)


def test_parts_that_never_help_are_not_uploaded():
    # a cheap edge for the last segment only: edge runs [2, 3), the rest stays on the phone
    profile = make_profile(
        [(10.0, 50.0, 0.1), (10.0, 50.0, 0.1), (10.0, 1.0, 0.1)],
        [(1, 1, 8000), (1, 1, 1000), (1, 1, 1000)],
    )
    planner = Planner(profile, LinkSetting(uplink_mbps=8.0, bandwidth_mbps=10.0), Conventions(0.0))
    order = upload_order(planner, SIZES, RATE)
    assert [s.segments for s in order.steps] == [("s2",)]
    assert order.unneeded_bytes == 1100.0 and order.full_benefit_s == pytest.approx(1.0)


def test_cloud_flag_lets_a_first_part_help():
    """With the cloud (0.1 ms per segment, 10 Mbps: input 6.4 ms, a candidate 0.8 ms):
    before any upload the best is end->cloud after s0: 10 + 1 + 0.8 + 0.2 = 12.0 ms; with s0 on
    the edge, edge->cloud: 8 + 1 + 0.8 + 0.2 = 10.0 ms, the best of all layouts."""
    order = upload_order(PLANNER, SIZES, RATE, cloud=True)
    assert (order.initial.mode, order.initial.latency_ms) == ("end_cloud", pytest.approx(12.0))
    assert (order.full.mode, order.full.latency_ms) == ("edge_cloud", pytest.approx(10.0))
    assert [s.segments for s in order.steps] == [("s0",)]
    assert order.unneeded_bytes == 1100.0


def test_bad_input():
    with pytest.raises(InputError):
        upload_order(PLANNER, SIZES[:2], RATE)
    with pytest.raises(InputError):
        upload_order(PLANNER, SIZES, 0.0)
    with pytest.raises(InputError):
        compare(upload_order(PLANNER, SIZES, RATE), query_rate=0.0)
