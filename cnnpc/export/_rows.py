"""Flat rows (column -> value) of searches, trials and plans, shared by CSV and Excel.

Values stay typed (floats, datetimes, bools) so each writer formats them its own way.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cnnpc._text import BREAKDOWN_PARTS
from cnnpc.records import keep_text
from cnnpc.storage import SearchRecord, SearchSummary, TrialRecord


def objective_text(search: SearchRecord) -> str:
    """What the search optimised, under what: its goal and, when one was asked, its objective
    and the bounds of its plans (recorded in `extra`)."""
    extra = search.extra
    goal = str(extra.get("objective", "latency"))
    target = (
        f"val acc >= {search.target:g}"
        if search.mode == "acc_floor"
        else f"latency <= {search.target:g} ms"
    )
    bounds = "".join(
        ", " + form.format(extra[key])
        for key, form in (
            ("objective_budget_ms", "latency <= {:g} ms"),
            ("min_fps", ">= {:g} frames/s"),
            ("radio", "radio {}"),
        )
        if key in extra
    )
    if goal == "pareto":
        return f"Pareto front of latency, phone energy and val acc, {target}{bounds}"
    if goal == "energy":
        return f"min phone energy, {target}{bounds}"
    if goal == "throughput":
        return f"max frames/s, {target}{bounds}"
    if search.mode == "acc_floor":
        return f"min latency, {target}{bounds}"
    return f"max val acc, {target}{bounds}"


def summary_row(summary: SearchSummary) -> dict[str, Any]:
    s = summary.search
    best = summary.best
    return {
        "search": s.id,
        "study_name": s.study_name,
        "model": s.model,
        "device": s.device,
        "workload": s.workload,
        "uplink_mbps": s.links.uplink_mbps,
        "bandwidth_mbps": s.links.bandwidth_mbps,
        "mode": s.mode,
        "target": s.target,
        "strategy": s.strategy,
        "seed": s.seed,
        "budget": s.budget_key,
        "status": s.status,
        "trials": summary.n_trials,
        "complete": summary.n_complete,
        "pruned": summary.n_pruned,
        "failed": summary.n_failed,
        "running": summary.n_running,
        "finetunes": summary.finetunes,
        "finetune_seconds": summary.finetune_seconds,
        "best_trial": None if best is None else best.optuna_number,
        "best_latency_ms": None if best is None else best.latency_ms,
        "best_val_accuracy": None if best is None else best.val_accuracy,
        "best_test_accuracy": None if best is None else best.test_accuracy,
        "created_at": s.created_at,
        "updated_at": s.updated_at,
        "code_version": s.code_version,
        "message": s.message,
    }


def trial_row(trial: TrialRecord, *, search_id: bool = True) -> dict[str, Any]:
    breakdown = trial.breakdown
    row: dict[str, Any] = {"search": trial.search_id} if search_id else {}
    row |= {
        "trial": trial.optuna_number,
        "state": trial.state,
        "feasible": trial.feasible,
        "latency_ms": trial.latency_ms,
        "val_accuracy": trial.val_accuracy,
        "test_accuracy": trial.test_accuracy,
        "predicted_accuracy": trial.predicted_accuracy,
        "mode": trial.mode,
        "splits": " ".join(trial.splits),
        "keep": keep_text(trial.keep),
    }
    row |= {part: breakdown.get(part) for part in BREAKDOWN_PARTS}
    row |= {
        "traffic_kb": None if trial.traffic_bytes is None else trial.traffic_bytes / 1024.0,
        "finetuned": trial.finetuned,
        "finetune_seconds": trial.finetune_seconds,
        "started_at": trial.started_at,
        "finished_at": trial.finished_at,
        "duration_s": trial.duration_s,
        "reason": trial.reason,
    }
    return row


def pareto_row(trial: TrialRecord) -> dict[str, Any]:
    return {
        "search": trial.search_id,
        "trial": trial.optuna_number,
        "latency_ms": trial.latency_ms,
        "val_accuracy": trial.val_accuracy,
        "test_accuracy": trial.test_accuracy,
        "mode": trial.mode,
        "splits": " ".join(trial.splits),
        "keep": keep_text(trial.keep),
        "traffic_kb": None if trial.traffic_bytes is None else trial.traffic_bytes / 1024.0,
    }


def front_row(trial: TrialRecord) -> dict[str, Any]:
    """A row of a pareto search's front: the Pareto row with the phone's energy."""
    energy = None if trial.plan is None else trial.plan.get("energy_mj")
    row = pareto_row(trial)
    return {**dict(list(row.items())[:3]), "energy_mj": energy, **dict(list(row.items())[3:])}


def flatten_scalars(payload: dict[str, Any], *, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """Dotted-path -> value for every number, string and bool in a JSON object.

    Lists and the sub-objects named in `skip` (e.g. a breakdown shown elsewhere) are left
    out, so a best-plan report becomes a row of columns.
    """
    out: dict[str, Any] = {}

    def walk(obj: dict[str, Any], prefix: str) -> None:
        for key, value in obj.items():
            if key in skip:
                continue
            name = f"{prefix}{key}"
            if isinstance(value, dict):
                walk(value, f"{name}.")
            elif isinstance(value, bool | int | float | str):
                out[name] = value

    walk(payload, "")
    return out


def plain(value: Any) -> Any:
    """A CSV cell: ISO times, empty for None, everything else as is."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    return value
