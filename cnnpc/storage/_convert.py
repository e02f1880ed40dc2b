"""ORM rows to frozen records (the only place that reads model attributes for callers)."""

from __future__ import annotations

from cnnpc.records import Origin
from cnnpc.storage._models import AccuracyCacheModel, BestPlanModel, SearchModel, TrialModel
from cnnpc.storage._plan import BestPlan
from cnnpc.storage._records import BestPlanRecord, CachedAccuracy, SearchRecord, TrialRecord


def search_record(row: SearchModel) -> SearchRecord:
    return SearchRecord(
        id=row.id,
        study_name=row.study_name,
        model=row.model,
        device=row.device,
        workload=row.workload,
        links=row.links,
        mode=row.mode,
        target=row.target,
        strategy=row.strategy,
        seed=row.seed,
        budget_key=row.budget_key,
        epochs=row.epochs,
        code_version=row.code_version,
        extra=dict(row.extra),
        status=row.status,
        message=row.message,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def trial_record(row: TrialModel) -> TrialRecord:
    plan = None if row.plan is None else dict(row.plan)
    splits = tuple(str(s) for s in (plan or {}).get("splits") or ())
    return TrialRecord(
        id=row.id,
        search_id=row.search_id,
        optuna_number=row.optuna_number,
        keep={str(k): float(v) for k, v in row.keep.items()},
        plan=plan,
        mode=row.plan_mode,
        splits=splits,
        latency_ms=row.latency_ms,
        traffic_bytes=row.traffic_bytes,
        val_accuracy=row.val_accuracy,
        test_accuracy=row.test_accuracy,
        predicted_accuracy=row.predicted_accuracy,
        state=row.state,
        reason=row.reason,
        feasible=row.feasible,
        finetuned=row.finetuned,
        finetune_seconds=row.finetune_seconds,
        started_at=row.started_at,
        finished_at=row.finished_at,
    )


def cached_accuracy(row: AccuracyCacheModel) -> CachedAccuracy:
    return CachedAccuracy(
        id=row.id,
        model=row.model,
        workload=row.workload,
        budget_key=row.budget_key,
        config_key=row.config_key,
        val_accuracy=row.val_accuracy,
        test_accuracy=row.test_accuracy,
        finetune_seconds=row.finetune_seconds,
        params=row.params,
        flops=row.flops,
        origin=Origin.from_json(row.details),
        created_at=row.created_at,
    )


def best_plan_record(row: BestPlanModel) -> BestPlanRecord:
    return BestPlanRecord(
        search_id=row.search_id,
        plan=BestPlan.from_dict(row.payload, f"search {row.search_id}'s stored best plan"),
        updated_at=row.updated_at,
    )
