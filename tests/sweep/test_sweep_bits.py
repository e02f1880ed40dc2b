"""`sweep --bits`: at every bandwidth the best plan is the brute-force optimum over (keep, bits)
above the floor, and the report says where the best plan's split tensors change width."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from cnnpc.records import split_config
from cnnpc.search import Measurement, normalise, split_aware_grid
from cnnpc.sweep import SweepSettings, run_sweep

GRID = (0.25, 0.5, 1.0)  # a coarse keep grid: the brute force stays short
BITS = (8, 4, 2)
FLOOR = 0.9
BANDWIDTHS = (0.5, 2.0, 10.0, 50.0)
PENALTY = {"conv1": 0.3, "block1": 0.25, "block3": 0.2, "block6": 0.15, "block10": 0.1}
BIT_PENALTY = {4: 0.004, 2: 0.04}


class BitsSource:
    """Accuracy falls with pruning and with each split tensor sent below 8 bits."""

    workload = "synthetic-bits"
    budget_key = "synthetic-bits-v1"
    epochs = None
    trains = True
    table_file = None
    table_rows = None
    confirms_with = None

    def accuracy(self, config: Mapping[str, float]) -> float:
        fractions, bits = split_config(config)
        lost = sum(PENALTY.get(k, 0.05) * (1 - v) ** 2 for k, v in fractions.items())
        return 0.97 - lost - sum(BIT_PENALTY[b] for b in bits.values())

    def measure(self, config: Mapping[str, float]) -> Measurement:
        acc = self.accuracy(config)
        return Measurement(acc, acc - 0.005, 0.01, 1000, 2000)


def _settings(**extra: object) -> SweepSettings:
    base = {"model": "mobilenet", "devices": ("MI8",), "bandwidths": BANDWIDTHS}
    return SweepSettings(  # no surrogate: every configuration faster than the answer is measured
        **base, acc_floor=FLOOR, keep_grid=GRID, max_finetunes=10_000, surrogate=False, **extra
    )  # type: ignore[arg-type]


def _brute_force(settings: SweepSettings, bandwidth: float, source: BitsSource) -> float:
    planner = settings.planner("MI8", bandwidth)
    best = float("inf")
    for config in split_aware_grid(planner.profile.space, BITS):
        reduced, plan = normalise(planner, config)
        if source.accuracy(reduced) >= FLOOR:
            best = min(best, plan.latency_ms)
    return best


def test_the_best_plan_at_each_bandwidth_is_the_optimum_over_keep_and_bits(storage):
    source = BitsSource()
    settings = _settings(bits=BITS)
    result = run_sweep(settings, source, storage)
    for point in result.points:
        assert point.best is not None
        assert point.best.latency_ms == pytest.approx(
            _brute_force(settings, point.bandwidth_mbps, source)
        ), point.bandwidth_mbps
    int8 = run_sweep(_settings(), source, storage)
    faster = [
        p.best.latency_ms < q.best.latency_ms - 1e-9
        for p, q in zip(result.points, int8.points, strict=True)
        if p.best is not None and q.best is not None
    ]
    assert any(faster)
    report = result.as_dict()
    assert report["bits"] == [8, 4, 2]
    widths = [c.to_bits for c in result.bit_changes] + [c.from_bits for c in result.bit_changes]
    assert result.bit_changes, "the best widths never change across 0.5..50 Mbps"
    assert any("=2" in w or "=4" in w for w in widths)
    assert "bit_changes" not in int8.as_dict()  # an int8 sweep's JSON is what it was
