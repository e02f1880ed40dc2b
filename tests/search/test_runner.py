from __future__ import annotations

import pytest

from cnnpc.errors import InputError
from cnnpc.records import KeepConfig
from cnnpc.search import SearchSettings, normalise, run_search, split_aware_grid

FLOOR = 0.93


def _truth(settings: SearchSettings, source) -> tuple[float, dict]:
    """Brute force: the fastest split-aware configuration whose accuracy meets the floor."""
    planner = settings.planner()
    best = None
    for config in split_aware_grid(planner.profile.space):
        if source.accuracy(config) < FLOOR:
            continue
        lat = planner.best(KeepConfig.from_fractions(planner.profile.space, config)).latency_ms
        if best is None or lat < best[0]:
            best = (lat, config)
    assert best is not None
    return best


def _settings(**kw) -> SearchSettings:
    base = {"model": "mobilenet", "device": "MI8SE", "bandwidth_mbps": 10.0, "acc_floor": FLOOR}
    return SearchSettings(**(base | kw))


def test_exhaustive_finds_the_true_optimum(source, storage):
    settings = _settings(strategy="exhaustive", trials=2000)
    result = run_search(settings, source, storage)
    truth_latency, _ = _truth(settings, source)
    assert result.best is not None
    assert result.best.latency_ms == pytest.approx(truth_latency)
    assert result.best.val_accuracy >= FLOOR
    assert result.best.speedup_vs_uncompressed_plan > 1.0
    stored = storage.get_best_plan(result.search_id)  # the same typed plan comes back
    assert stored is not None and stored.plan == result.best
    names = [s.name for s in settings.planner().profile.segments]
    assert [*result.best.tiers.end, *result.best.tiers.edge, *result.best.tiers.cloud] == names
    front = [p.as_dict() for p in result.pareto]  # typed points, the JSON keys at the edge
    assert front and all(p["latency_ms"] is not None for p in front)
    assert set(front[0]) == {
        "trial",
        "latency_ms",
        "val_accuracy",
        "test_accuracy",
        "mode",
        "splits",
        "keep",
        "feasible",
    }
    # the latency bound skips most of the grid without fine-tuning it
    assert result.finetunes < sum(1 for _ in split_aware_grid(settings.planner().profile.space)) / 2
    assert len(source.calls) == result.finetunes


def test_tpe_is_feasible_and_cache_is_shared(source, storage):
    first = run_search(_settings(strategy="tpe", trials=25, seed=1), source, storage)
    assert first.best is not None and first.best.val_accuracy >= FLOOR
    assert first.best.latency_ms <= first.best.baselines.uncompressed_latency_ms + 1e-9
    calls = len(source.calls)
    assert calls == first.finetunes and len({str(sorted(c.items())) for c in source.calls}) == calls
    # re-running the same search resumes it: already at its total, nothing new is fine-tuned
    again = run_search(_settings(strategy="tpe", trials=25, seed=1), source, storage)
    assert again.search_id == first.search_id and len(source.calls) == calls
    # another bandwidth is another search, but every accuracy already measured is re-used
    other = run_search(_settings(strategy="random", trials=10, bandwidth_mbps=5.0), source, storage)
    assert other.search_id != first.search_id
    trials = storage.list_trials(other.search_id)
    cached = [t for t in trials if t.state == "complete" and not t.finetuned]
    assert cached, "the baseline at least comes from the cache"


def test_cnnpc_strategy_meets_the_floor_and_beats_no_compression(source, storage):
    settings = _settings(strategy="cnnpc", trials=400)
    result = run_search(settings, source, storage)
    assert result.best is not None
    assert result.best.val_accuracy >= FLOOR
    truth_latency, _ = _truth(settings, source)
    latency = result.best.latency_ms
    assert truth_latency - 1e-9 <= latency < result.best.baselines.uncompressed_latency_ms


def test_floor_above_baseline_is_infeasible(source, storage):
    result = run_search(_settings(acc_floor=0.99, trials=3), source, storage)
    assert result.status == "infeasible" and "below the floor" in (result.message or "")
    assert storage.get_search(result.search_id).status == "infeasible"


def test_latency_budget_mode(source, storage):
    settings = _settings(acc_floor=None, latency_budget_ms=70.0, strategy="exhaustive", trials=2000)
    result = run_search(settings, source, storage)
    planner = settings.planner()
    best_acc = max(
        source.accuracy(c)
        for c in split_aware_grid(planner.profile.space)
        if planner.best(KeepConfig.from_fractions(planner.profile.space, c)).latency_ms <= 70.0
    )
    assert result.best is not None
    assert result.best.latency_ms <= 70.0
    assert result.best.val_accuracy == pytest.approx(best_acc)


@pytest.mark.parametrize(
    "kw",
    [
        {"acc_floor": 0.0},
        {"acc_floor": 1.5},
        {"acc_floor": None},
        {"latency_budget_ms": 5.0},
        {"trials": 0},
        {"strategy": "grid"},
        {"acc_floor": None, "latency_budget_ms": -1.0},
        {"acc_floor": None, "latency_budget_ms": 50.0, "strategy": "cnnpc"},
    ],
)
def test_bad_settings(kw):
    with pytest.raises(InputError):
        _settings(**kw)


def test_normalise_keeps_only_split_pruning():
    planner = _settings().planner()
    config = {"conv1": 0.5, "block3": 0.125, "block16": 0.5}
    reduced, plan = normalise(planner, config)
    assert set(reduced) <= set(plan.splits)
    full = planner.best(KeepConfig.from_fractions(planner.profile.space, config))
    assert plan.latency_ms == pytest.approx(full.latency_ms)
