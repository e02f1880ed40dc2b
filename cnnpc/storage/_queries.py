"""Read queries over a session: trial ordering, per-search spend, best trial, Pareto front.

Kept apart from `Storage` (which owns transactions and writes) so each module has one job.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, case, func, select
from sqlalchemy.orm import Session

from cnnpc.storage._convert import search_record, trial_record
from cnnpc.storage._errors import StorageError
from cnnpc.storage._models import AccuracyCacheModel, SearchModel, TrialModel
from cnnpc.storage._records import SearchSummary, TrialRecord


def search_row(session: Session, search_id: int) -> SearchModel:
    row = session.get(SearchModel, search_id)
    if row is None:
        raise StorageError(f"no search with id {search_id} (see 'cnnpc searches')")
    return row


def trial_order(sort: str) -> list[Any]:
    """ORDER BY terms; `x IS NULL` first keeps unknown values last on every database."""
    latency = [TrialModel.latency_ms.is_(None), TrialModel.latency_ms.asc()]
    accuracy = [TrialModel.val_accuracy.is_(None), TrialModel.val_accuracy.desc()]
    number = [TrialModel.optuna_number.asc()]
    if sort == "latency":
        return [*latency, *accuracy, *number]
    if sort == "accuracy":
        return [*accuracy, *latency, *number]
    return number


def cache_query(model: str, workload: str, budget_key: str) -> Select[AccuracyCacheModel]:
    return select(AccuracyCacheModel).where(
        AccuracyCacheModel.model == model,
        AccuracyCacheModel.workload == workload,
        AccuracyCacheModel.budget_key == budget_key,
    )


def measured_query(search_id: int) -> Select[TrialModel]:
    """Complete trials with a latency and a validation accuracy, fastest first."""
    return (
        select(TrialModel)
        .where(
            TrialModel.search_id == search_id,
            TrialModel.state == "complete",
            TrialModel.latency_ms.is_not(None),
            TrialModel.val_accuracy.is_not(None),
        )
        .order_by(*trial_order("latency"))
    )


def pareto(measured: Sequence[TrialRecord]) -> list[TrialRecord]:
    """Non-dominated trials of a latency-sorted list (ties in accuracy: the faster wins).

    A trial at the same latency and accuracy as one already on the front (a re-suggested
    configuration) is left out, so each point appears once.
    """
    front: list[TrialRecord] = []
    for trial in measured:
        accuracy = trial.val_accuracy
        assert accuracy is not None
        if not front or accuracy > (front[-1].val_accuracy or 0.0):
            front.append(trial)
    return front


def objective_value(plan: Mapping[str, Any] | None, objective: str) -> float | None:
    """What `objective` minimises of a stored plan: latency (ms), the phone's energy (mJ) or the
    slowest pipeline stage (ms per frame); None: no plan, or one not priced for it."""
    if plan is None:
        return None
    if objective == "energy":
        value = plan.get("energy_mj")
    elif objective == "throughput":
        stages = plan.get("stages_ms")
        value = max(stages.values()) if isinstance(stages, Mapping) and stages else None
    else:
        value = plan.get("latency_ms")
    return None if value is None else float(value)


def best_row(session: Session, search: SearchModel) -> TrialModel | None:
    """The best feasible complete trial by the search's objective.

    acc_floor: the lowest latency (then the higher accuracy), or under an energy or throughput
    objective (recorded in `extra`) the lowest value of it (then the lower latency, the higher
    accuracy); latency_budget: the highest validation accuracy (then the lower latency).
    """
    sort = "accuracy" if search.mode == "latency_budget" else "latency"
    query = (
        select(TrialModel)
        .where(
            TrialModel.search_id == search.id,
            TrialModel.state == "complete",
            TrialModel.feasible.is_(True),
            TrialModel.latency_ms.is_not(None),
        )
        .order_by(*trial_order(sort))
    )
    objective = str((search.extra or {}).get("objective", "latency"))
    if sort == "accuracy" or objective not in ("energy", "throughput"):
        return session.scalars(query.limit(1)).first()
    priced = [
        (value, i, row)
        for i, row in enumerate(session.scalars(query))
        if (value := objective_value(row.plan, objective)) is not None
    ]
    return min(priced, key=lambda item: item[:2])[2] if priced else None


def summarize(session: Session, searches: Sequence[SearchModel]) -> list[SearchSummary]:
    """Trial counts, fine-tune spend and best trial of each search (one GROUP BY query)."""

    def count(condition: ColumnElement[bool]) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    finetuned = TrialModel.finetuned.is_(True)
    stats = select(
        TrialModel.search_id,
        func.count(TrialModel.id),
        count(TrialModel.state == "complete"),
        count(TrialModel.state == "pruned"),
        count(TrialModel.state == "failed"),
        count(TrialModel.state == "running"),
        count(finetuned),
        func.coalesce(
            func.sum(case((finetuned, func.coalesce(TrialModel.finetune_seconds, 0.0)), else_=0.0)),
            0.0,
        ),
    ).group_by(TrialModel.search_id)
    if len(searches) == 1:
        stats = stats.where(TrialModel.search_id == searches[0].id)
    by_id = {row[0]: tuple(row[1:]) for row in session.execute(stats).all()}
    out = []
    for search in searches:
        n, complete, pruned, failed, running, finetunes, seconds = by_id.get(
            search.id, (0, 0, 0, 0, 0, 0, 0.0)
        )
        best = best_row(session, search)
        out.append(
            SearchSummary(
                search=search_record(search),
                n_trials=int(n),
                n_complete=int(complete),
                n_pruned=int(pruned),
                n_failed=int(failed),
                n_running=int(running),
                finetunes=int(finetunes),
                finetune_seconds=float(seconds or 0.0),
                best=None if best is None else trial_record(best),
            )
        )
    return out
