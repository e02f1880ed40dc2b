"""Everything about one search that `show` and the exports present, read in one place."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cnnpc import __version__
from cnnpc.errors import CnnpcError
from cnnpc.storage import BestPlanRecord, SearchSummary, Storage, TrialRecord, study_front

SCHEMA_VERSION = 1


class ExportError(CnnpcError):
    """The search has nothing to export (no feasible plan)."""


@dataclass(frozen=True)
class SearchReport:
    summary: SearchSummary
    best_plan: BestPlanRecord | None
    best: TrialRecord | None  # the trial of the stored best plan, else the best feasible one
    pareto: list[TrialRecord]
    trials: list[TrialRecord]
    front: list[TrialRecord] = field(default_factory=list)
    """A pareto search's front (Optuna's best trials: latency, energy, accuracy); else empty."""

    @property
    def multi_objective(self) -> bool:
        """Whether the search is a pareto search (its front is `front`)."""
        return self.summary.search.extra.get("objective") == "pareto"

    @property
    def spend(self) -> dict[str, Any]:
        s = self.summary
        return {
            "trials": s.n_trials,
            "complete": s.n_complete,
            "pruned": s.n_pruned,
            "failed": s.n_failed,
            "running": s.n_running,
            "finetunes": s.finetunes,
            "finetune_seconds": s.finetune_seconds,
        }


def collect(storage: Storage, search_id: int, *, with_trials: bool = False) -> SearchReport:
    """Read a search's summary, best plan, Pareto front (and all trials if asked)."""
    summary = storage.summary(search_id)
    best_plan = storage.get_best_plan(search_id)
    best = summary.best
    if best_plan is not None:
        best = storage.get_trial(search_id, best_plan.plan.trial) or best
    return SearchReport(
        summary=summary,
        best_plan=best_plan,
        best=best,
        pareto=storage.pareto_front(search_id),
        trials=storage.list_trials(search_id) if with_trials else [],
        front=study_front(storage, search_id),
    )


def plan_dict(trial: TrialRecord) -> dict[str, Any]:
    """The deployable part of a trial: where to split, what to keep, what it costs."""
    return {
        "trial_number": trial.optuna_number,
        "mode": trial.mode,
        "splits": list(trial.splits),
        "keep": dict(trial.keep),
        "latency_ms": trial.latency_ms,
        "breakdown": trial.breakdown,
        "traffic_bytes": trial.traffic_bytes,
        "val_accuracy": trial.val_accuracy,
        "test_accuracy": trial.test_accuracy,
    }


def deployment_plan(report: SearchReport, storage_url: str) -> dict[str, Any]:
    """`cnnpc export --json`: the plan to deploy, with what produced it (schema_version 1)."""
    search = report.summary.search
    if report.best is None and report.best_plan is None:
        raise ExportError(
            f"search {search.id} has no feasible plan to export (status: {search.status}"
            + (f": {search.message}" if search.message else "")
            + ")"
        )
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": "cnnpc.deployment_plan",
        "exported_at": datetime.now(UTC).isoformat(),
        "cnnpc_version": __version__,
        "storage": storage_url,
        "search": search.as_dict(),
        "plan": None if report.best is None else plan_dict(report.best),
        "report": None if report.best_plan is None else report.best_plan.plan.as_dict(),
        "spend": report.spend,
        "pareto": [plan_dict(t) for t in report.pareto],
    }
