"""Plan sets on the hand-computed toy profile of tests/sweep (no TensorFlow).

Edge only costs 5 ms; t1 kept 25 % edge->cloud 4 + 1/x; cloud only 3 + 8/x (x: edge->cloud Mbps).
Crossovers at 1 and 7 Mbps. With a 10 % hysteresis a rising rate switches edge only -> split at
4 + 1/x <= 4.5 (x = 2), split -> cloud at 3 + 8/x <= 0.9 (4 + 1/x) (x = 7.1 / 0.6); a falling
rate switches back at 4 + 1/x >= 5 / 0.9 (x = 0.643) and 4 + 1/x <= 0.9 (3 + 8/x) (x = 6.2 / 1.3).
"""

from __future__ import annotations

import dataclasses
import json

import pytest
from sweep.test_thresholds import ToySource, planner_at

from cnnpc.errors import InputError
from cnnpc.planner import LinkOptions
from cnnpc.planset import bandwidth_range, sweep_plan_set
from cnnpc.records import PlanSet, PlanSetError
from cnnpc.search import CachedAccuracies


@pytest.fixture
def storage(tmp_path):
    from cnnpc.storage import Storage

    store = Storage(f"sqlite:///{tmp_path / 'cnnpc.db'}")
    store.upgrade()
    return store


def _set(storage, hysteresis=0.1, measured=({}, {"t1": 0.25})):
    source = ToySource()
    cache = CachedAccuracies("toy", source, storage)
    for config in measured:
        cache.measure(config)
    calls = len(source.calls)
    found = sweep_plan_set(
        "toy",
        "synthetic",
        acc_floor=0.8,
        options=LinkOptions(uplink_mbps=8.0),
        low_mbps=0.5,
        high_mbps=20.0,
        hysteresis=hysteresis,
        design_mbps=10.0,
        source=source,
        storage=storage,
        planner_at=planner_at,
    )
    assert len(source.calls) == calls  # from the cache only: nothing is fine-tuned
    return found


def test_plans_and_switching_table_match_the_hand_computation(storage):
    found = _set(storage)
    assert [(p.label, p.config_key, p.mode) for p in found.plans] == [
        ("P1", "baseline", "edge_only"),
        ("P2", "t1=0.25", "edge_cloud"),
        ("P3", "baseline", "cloud_only"),
    ]
    low, high = found.switches
    assert (low.low, low.high, high.low, high.high) == ("P1", "P2", "P2", "P3")
    assert low.crossover_mbps == pytest.approx(1.0) and high.crossover_mbps == pytest.approx(7.0)
    assert low.up_mbps == pytest.approx(2.0) and low.down_mbps == pytest.approx(0.5 / 0.7777778)
    assert high.up_mbps == pytest.approx(7.1 / 0.6) and high.down_mbps == pytest.approx(6.2 / 1.3)
    for plan in found.plans:  # its own prediction equals the sweep's price where it won
        for x in plan.best_mbps:
            links = dataclasses.replace(found.links, bandwidth_mbps=x)
            assert plan.predict_ms(links) == pytest.approx(found.best(links).predict_ms(links))
    assert found.plan("P2").predict_ms(dataclasses.replace(found.links, bandwidth_mbps=2)) == (
        pytest.approx(4.5)
    )


def test_hysteresis_holds_a_plan_near_a_threshold(storage):
    found = _set(storage)

    def at(x):
        return dataclasses.replace(found.links, bandwidth_mbps=x)

    assert found.choose(None, at(1.05)).label == "P2"  # no current plan: simply the best
    assert found.choose("P1", at(1.05)).label == "P1"  # 4.95 vs 5: within 10 %, stay
    assert found.choose("P1", at(2.1)).label == "P2"
    assert found.choose("P2", at(0.7)).label == "P2"  # falling: stays above 0.643
    assert found.choose("P2", at(0.6)).label == "P1"
    assert found.choose("P2", at(11.0)).label == "P2" and found.choose("P2", at(12)).label == "P3"
    flat = _set(storage, hysteresis=0.0)
    assert flat.choose("P1", at(1.05)).label == "P2"


def test_latency_on_the_cloud_link_enters_the_prediction(storage):
    found = _set(storage)
    far = dataclasses.replace(found.links, bandwidth_mbps=100.0, latency_ms=2.0)
    # 2 ms one way is paid there and back: P3 3 + 8/100 + 4, P2 4 + 1/100 + 4, P1 (no cloud) 5
    assert found.plan("P3").predict_ms(far) == pytest.approx(7.08)
    assert found.plan("P2").predict_ms(far) == pytest.approx(8.01)
    assert found.best(far).label == "P1"
    assert found.best(dataclasses.replace(far, latency_ms=0.0)).label == "P3"


def test_round_trip_and_bad_input(storage, tmp_path):
    found = _set(storage)
    again = PlanSet.parse(json.loads(json.dumps(found.as_dict())))
    assert again == found
    raw = found.as_dict()
    raw["plans"][1]["n_segments"] = 5
    with pytest.raises(PlanSetError, match="disagree on the model or the workload"):
        PlanSet.parse(raw)
    raw = found.as_dict()
    raw["plans"][0]["uplink_bytes"] = -1
    with pytest.raises(PlanSetError, match=">= 0"):
        PlanSet.parse(raw)
    with pytest.raises(InputError, match="no measured configuration meets the floor"):
        _set(storage.__class__(f"sqlite:///{tmp_path / 'empty.db'}"), measured=())
    with pytest.raises(InputError, match="hysteresis"):
        _set(storage, hysteresis=1.5)
    assert bandwidth_range("2:40") == (2.0, 40.0)
    for bad, message in [("40:2", "STOP must be > START"), ("x:2", "numbers"), ("5", "START:STOP")]:
        with pytest.raises(InputError, match=message):
            bandwidth_range(bad)
