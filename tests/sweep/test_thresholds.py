"""Sweep on a 2-segment synthetic profile whose thresholds are computed by hand.

Segments (end, edge, cloud ms): (10, 2, 1) twice; input 1,000 B, candidate t1 500 B; uplink
8 Mbps (input 1 ms, t1 0.5 ms), no overhead, edge->cloud bandwidth x Mbps:
  edge only 5;  cloud only 1 + 8/x + 2 = 3 + 8/x;  t1 kept 25 % (125 B), edge->cloud 4 + 1/x.
With t1=0.25 accurate enough the best plan is edge only below 1 Mbps, the pruned edge->cloud
split between 1 and 7 Mbps (4 + 1/x = 5 at x = 1; = 3 + 8/x at x = 7), cloud only above 7.
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from cnnpc.latency import Conventions
from cnnpc.planner import Planner
from cnnpc.profiles import make_profile
from cnnpc.records import LinkSetting
from cnnpc.search import Measurement
from cnnpc.sweep import SweepSettings, run_sweep

PROFILE = make_profile(
    [(10.0, 2.0, 1.0), (10.0, 2.0, 1.0)], [(1, 1, 1000), (1, 1, 500)], model="toy"
)
ACCURACY = {"baseline": 0.90, "t1=0.25": 0.85, "t1=0.5": 0.88, "t1=0.75": 0.89}
GRID = (0.5, 2.0, 5.0, 6.5, 7.5, 10.0)


class ToySource:
    workload = "toy"
    budget_key = "toy-v1"
    trains = True
    table_rows = None

    def __init__(self) -> None:
        self.calls: list[str] = []

    def measure(self, config: Mapping[str, float]) -> Measurement:
        key = ",".join(f"{k}={v:g}" for k, v in sorted(config.items())) or "baseline"
        self.calls.append(key)
        acc = ACCURACY[key]
        return Measurement(acc, acc - 0.01, 0.0, 1, 1)


def planner_at(device: str, bandwidth: float) -> Planner:
    return Planner(
        PROFILE, LinkSetting(uplink_mbps=8.0, bandwidth_mbps=bandwidth), Conventions(0.0)
    )


def sweep(storage, source, floor=0.8, max_finetunes=10):
    settings = SweepSettings(
        model="toy",
        devices=("synthetic",),
        bandwidths=GRID,
        acc_floor=floor,
        max_finetunes=max_finetunes,
        surrogate=False,
    )
    return run_sweep(settings, source, storage, planner_at=planner_at)


def test_thresholds_and_crossovers_match_the_hand_computation(storage):
    source = ToySource()
    result = sweep(storage, source)
    best = [(p.best.config_key, p.best.mode) for p in result.points]
    assert best == [
        ("baseline", "edge_only"),
        ("t1=0.25", "edge_cloud"),
        ("t1=0.25", "edge_cloud"),
        ("t1=0.25", "edge_cloud"),
        ("baseline", "cloud_only"),
        ("baseline", "cloud_only"),
    ]
    assert [p.best.latency_ms for p in result.points] == pytest.approx(
        [5.0, 4.5, 4.2, 4 + 1 / 6.5, 3 + 8 / 7.5, 3.8]
    )
    (low, high) = result.thresholds
    assert (low.low_mbps, low.high_mbps, low.from_plan, low.to_plan) == (0.5, 2.0, "P1", "P2")
    assert low.crossover_mbps == pytest.approx(1.0) and low.crossover_inside
    assert (high.low_mbps, high.high_mbps, high.to_plan) == (6.5, 7.5, "P3")
    assert high.crossover_mbps == pytest.approx(7.0) and high.crossover_inside
    # lazily: the baseline at 0.5 Mbps, t1=0.25 at 2 Mbps; nothing else is ever fine-tuned
    assert source.calls == ["baseline", "t1=0.25"] and result.finetunes == 2


def test_regret_of_keeping_each_plan(storage):
    result = sweep(storage, ToySource())
    regret = {r.plan: r for r in result.regrets}
    edge_only = regret["P1"]  # 5 ms everywhere; the best is 3.8 ms at 10 Mbps
    assert edge_only.max_ms == pytest.approx(1.2) and edge_only.max_at_mbps == 10.0
    assert edge_only.max_pct == pytest.approx(100 * 1.2 / 3.8)
    gaps = [0, 0.5, 0.8, 1 - 1 / 6.5, 5 - 3 - 8 / 7.5, 1.2]
    assert edge_only.mean_ms == pytest.approx(sum(gaps) / 6)
    cloud_only = regret["P3"]  # 19 ms at 0.5 Mbps against 5
    assert cloud_only.max_ms == pytest.approx(14.0) and cloud_only.max_at_mbps == 0.5
    assert (cloud_only.alpha_ms, cloud_only.beta_ms_mbps) == pytest.approx((3.0, 8.0))
    assert regret["P2"].best_at_mbps == (2.0, 5.0, 6.5)


def test_budget_exhausted_reports_unverified_faster_candidates(storage):
    source = ToySource()
    result = sweep(storage, source, max_finetunes=1)
    assert source.calls == ["baseline"]
    at_2 = result.points[1]
    assert at_2.best is not None and at_2.best.config_key == "baseline"
    assert at_2.unverified >= 1
    assert at_2.unverified_fastest[0].config_key == "t1=0.25"
    assert at_2.unverified_fastest[0].latency_ms == pytest.approx(4.5)


def test_cache_is_shared_and_floor_respected(storage):
    sweep(storage, ToySource())
    again = ToySource()
    result = sweep(storage, again, floor=0.86, max_finetunes=10)
    assert "t1=0.25" not in again.calls  # measured before, below this floor: never re-measured
    assert all(p.best.val_accuracy >= 0.86 for p in result.points)
    at_5 = result.points[2].best  # t1=0.5: 4 + 2/5; at 2 Mbps it only ties edge only (5 ms)
    assert at_5.config_key == "t1=0.5" and at_5.latency_ms == pytest.approx(4.4)
    assert result.points[1].best.config_key == "baseline"


def test_no_budget_and_empty_cache_finds_nothing(storage):
    result = sweep(storage, ToySource(), max_finetunes=0)
    assert all(p.best is None for p in result.points) and result.finetunes == 0
    assert all(p.unverified > 0 for p in result.points)
