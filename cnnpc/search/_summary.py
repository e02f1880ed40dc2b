"""The outcome of a search: best feasible plan with its comparisons, Pareto front, spend."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cnnpc.planner import Planner

if TYPE_CHECKING:
    from cnnpc.storage import Storage, TrialRecord


@dataclass(frozen=True)
class TrialEvent:
    """Progress report after each trial (the CLI draws its progress bar from these)."""

    done: int
    total: int
    finetunes: int
    best_latency_ms: float | None
    best_accuracy: float | None
    state: str
    reason: str | None


@dataclass(frozen=True)
class SearchResult:
    search_id: int
    status: str
    message: str | None
    finetunes: int
    trials: int
    best: dict[str, Any] | None
    pareto: list[dict[str, Any]] = field(default_factory=list)
    storage_url: str = ""


def _trial_dict(t: TrialRecord) -> dict[str, Any]:
    assert t.plan is not None  # the Pareto front holds complete trials only
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


def best_payload(t: TrialRecord, planner: Planner, finetunes: int) -> dict[str, Any]:
    """Everything a user needs about the chosen plan, with the uncompressed comparisons."""
    assert t.plan is not None  # a best trial is complete: it has a plan
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


def summarise(storage: Storage, search_id: int, planner: Planner) -> dict[str, Any]:
    """Spend, finished trials, the best plan (stored for export and deploy) and the front.

    The best trial is the storage's one query for it (Storage.best_trial / summary).
    """
    summary = storage.summary(search_id)
    best = None
    if summary.best is not None:
        best = best_payload(summary.best, planner, summary.finetunes)
        storage.set_best_plan(search_id, summary.best.optuna_number, best)
    pareto = [_trial_dict(t) for t in storage.pareto_front(search_id)]
    done = summary.n_complete + summary.n_pruned
    return {"finetunes": summary.finetunes, "trials": done, "best": best, "pareto": pareto}
