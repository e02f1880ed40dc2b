"""The outcome of a search: best feasible plan with its comparisons, Pareto front, spend."""

from __future__ import annotations

from typing import Any

from cnnpc.planner import Planner
from cnnpc.search._settings import SearchSettings


def _trial_dict(t: Any) -> dict[str, Any]:
    return {
        "trial": t.optuna_number,
        "latency_ms": t.plan.get("latency_ms"),
        "val_accuracy": t.val_accuracy,
        "test_accuracy": t.test_accuracy,
        "mode": t.plan.get("mode"),
        "splits": t.plan.get("splits", []),
        "keep": t.keep,
        "feasible": t.feasible,
    }


def best_payload(t: Any, planner: Planner, finetunes: int) -> dict[str, Any]:
    """Everything a user needs about the chosen plan, with the uncompressed comparisons."""
    uncompressed = planner.best()
    base = planner.baselines()
    single = min(
        (base[k] for k in ("end_only", "edge_only", "cloud_only")), key=lambda p: p.latency_ms
    )
    plan = t.plan
    latency = plan["latency_ms"]
    traffic = plan["traffic_bytes"]
    n = planner.profile.n_segments
    names = [s.name for s in planner.profile.segments]
    a, b = plan["end_segments"], n - plan["cloud_segments"]
    return {
        "trial": t.optuna_number,
        "latency_ms": latency,
        "accuracy": t.test_accuracy,
        "accuracy_split": "test",
        "val_accuracy": t.val_accuracy,
        "test_accuracy": t.test_accuracy,
        "mode": plan["mode"],
        "splits": plan["splits"],
        "keep": t.keep,
        "tiers": {"end": names[:a], "edge": names[a:b], "cloud": names[b:]},
        "breakdown": plan["breakdown"],
        "traffic_bytes": traffic,
        "uncompressed_best_latency_ms": uncompressed.latency_ms,
        "uncompressed_best_traffic_bytes": uncompressed.breakdown.traffic_bytes,
        "best_single_tier": single.mode,
        "best_single_tier_latency_ms": single.latency_ms,
        "speedup_vs_best_single_tier": single.latency_ms / latency,
        "speedup_vs_uncompressed_plan": uncompressed.latency_ms / latency,
        "traffic_reduction_vs_uncompressed": (
            1.0 - traffic / uncompressed.breakdown.traffic_bytes
            if uncompressed.breakdown.traffic_bytes > 0
            else 0.0
        ),
        "finetunes": finetunes,
    }


def summarise(
    storage: Any, search_id: int, planner: Planner, settings: SearchSettings
) -> dict[str, Any]:
    trials = storage.list_trials(search_id, sort="number")
    finetunes = sum(1 for t in trials if t.finetuned)
    feasible = [t for t in trials if t.state == "complete" and t.feasible]
    best = None
    if feasible:
        if settings.mode == "acc_floor":
            chosen = min(feasible, key=lambda t: (t.plan["latency_ms"], -t.val_accuracy))
        else:
            chosen = max(feasible, key=lambda t: (t.val_accuracy, -t.plan["latency_ms"]))
        best = best_payload(chosen, planner, finetunes)
        storage.set_best_plan(search_id, chosen.optuna_number, best)
    pareto = [_trial_dict(t) for t in storage.pareto_front(search_id)]
    done = sum(1 for t in trials if t.state in ("complete", "pruned"))
    return {"finetunes": finetunes, "trials": done, "best": best, "pareto": pareto}
