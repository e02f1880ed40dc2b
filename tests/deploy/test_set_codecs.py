"""deploy --adaptive --bits: a plan set whose plans may differ only in their codec (no
conversion: the sweep's plan and its links are made up, the selection is what is tested)."""

from __future__ import annotations

import dataclasses

import pytest

from cnnpc.codec import Codec, CodecChoice, CodecMeasure
from cnnpc.deploy._setcodecs import coded_plan_set
from cnnpc.records import LinkSetting, LinkSpec, PlanSet, SetPlan, TensorSpec, switches

UP = LinkSpec("end", "edge", "block1", TensorSpec((1, 8, 8, 8), "int8", 0.1, 0), 20.0, 1e6)
DOWN = LinkSpec("edge", "cloud", "block10", TensorSpec((1, 4, 4, 16), "int8", 0.2, 3), 1.0, 1e6)
# 2 bits cost 1 + 1 ms of coding; the 256-byte downlink tensor saves 1.536 / Mbps ms: 2 bits
# win below 0.768 Mbps; on the 20 Mbps uplink they never pay
MEASURES = tuple(CodecMeasure(t, 2, 1.0, 1.0, 1.0) for t in ("block1", "block10"))


def _table(low: float = 0.05, high: float = 5.0) -> PlanSet:
    row = SetPlan(
        label="P1",
        file="plan-P1.json",
        config_key="k",
        keep={},
        a=2,
        b=5,
        n_segments=8,
        mode="end_edge_cloud",
        splits=("block1", "block10"),
        val_accuracy=0.9,
        compute_ms=(1.0, 1.0, 0.5),
        overhead_ms=0.0,
        uplink_bytes=512.0,
        downlink_bytes=256.0,
        best_mbps=(low, high),
    )
    links = LinkSetting(uplink_mbps=20.0, bandwidth_mbps=1.0)
    return PlanSet("mobilenet", "test", low, high, 0.1, links, (row,), switches((row,), links, 0.1))


def test_plans_that_differ_only_in_their_codec():
    table, coded = coded_plan_set(
        _table(), {"P1": [UP, DOWN]}, {"P1": MEASURES}, CodecChoice((8, 2))
    )
    # low rates first: 2 bits on the slow edge->cloud link, int8 above the crossover
    assert [(p.label, p.codecs) for p in table.plans] == [
        ("P1", {"edge->cloud": Codec(2)}),
        ("P2", {}),
    ]
    low, high = table.plans
    assert (low.a, low.b, low.uplink_bytes) == (high.a, high.b, 512.0)
    assert low.downlink_bytes == 64.0 and high.downlink_bytes == 256.0
    assert low.compute_ms == (1.0, 2.0, 1.5) and high.compute_ms == (1.0, 1.0, 0.5)
    assert max(low.best_mbps) < 0.768 < min(high.best_mbps)
    (switch,) = table.switches
    assert switch.crossover_mbps == pytest.approx(0.768)
    assert switch.down_mbps < 0.768 < switch.up_mbps  # the hysteresis holds either side
    assert {k: c.source for k, c in coded.items()} == {"P1": "P1", "P2": "P1"}
    assert [lk.codec for lk in coded["P1"].links] == [Codec(), Codec(2)]
    assert [lk.codec for lk in coded["P2"].links] == [Codec(), Codec()]
    assert PlanSet.parse({"kind": "cnnpc.planset", **table.as_dict()}).plans == table.plans


def test_the_coders_ratio_prices_the_link():
    ratios = (CodecMeasure("block10", 4, 2.0), CodecMeasure("block10", 8, 4.0))
    table, coded = coded_plan_set(
        _table(), {"P1": [DOWN]}, {"P1": ratios}, CodecChoice((8, 4), "zstd")
    )
    # no coding time measured: 8 bits at a ratio of 4 (64 bytes) beats 4 bits at 2 (64.0 too:
    # the tie goes to the wider) everywhere
    (plan,) = table.plans
    assert plan.codecs == {"edge->cloud": Codec(8, "zstd")} and plan.downlink_bytes == 64.0
    assert coded["P1"].links[0].entropy_ratio == 4.0


def test_a_relayed_tensor_is_coded_once():
    relay = SetPlan.parse({**_table().plans[0].as_dict(), "a": 5, "b": 5}, "relay")
    table = PlanSet("m", "t", 0.05, 5.0, 0.1, _table().links, (relay,), ())
    same = dataclasses.replace(UP, tensor="block10")  # the tensor the edge relays
    coded, _ = coded_plan_set(table, {"P1": [same, DOWN]}, {"P1": MEASURES}, CodecChoice((2,)))
    (plan,) = coded.plans
    # one codec on both links: encoded on the end, decoded on the cloud, the edge only relays
    assert plan.compute_ms == (2.0, 1.0, 1.5)
