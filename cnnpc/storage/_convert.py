"""ORM rows to frozen records (the only place that reads model attributes for callers)."""

from __future__ import annotations

from dataclasses import fields
from typing import TYPE_CHECKING, TypeVar

from cnnpc.records import Origin
from cnnpc.storage._models import AccuracyCacheModel, Base, BestPlanModel, SearchModel, TrialModel
from cnnpc.storage._plan import BestPlan
from cnnpc.storage._records import BestPlanRecord, CachedAccuracy, SearchRecord, TrialRecord

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

R = TypeVar("R", bound="DataclassInstance")


def _record(record: type[R], row: Base, **converted: object) -> R:
    """`record` of `row`: each field is the column of its name, but those `converted` gives."""
    names = [f.name for f in fields(record) if f.name not in converted]
    return record(**{name: getattr(row, name) for name in names}, **converted)


def search_record(row: SearchModel) -> SearchRecord:
    return _record(SearchRecord, row, extra=dict(row.extra))


def trial_record(row: TrialModel) -> TrialRecord:
    plan = None if row.plan is None else dict(row.plan)
    return _record(
        TrialRecord,
        row,
        keep={str(k): float(v) for k, v in row.keep.items()},
        plan=plan,
        mode=row.plan_mode,
        splits=tuple(str(s) for s in (plan or {}).get("splits") or ()),
    )


def cached_accuracy(row: AccuracyCacheModel) -> CachedAccuracy:
    return _record(CachedAccuracy, row, origin=Origin.from_json(row.details))


def best_plan_record(row: BestPlanModel) -> BestPlanRecord:
    return BestPlanRecord(
        search_id=row.search_id,
        plan=BestPlan.from_dict(row.payload, f"search {row.search_id}'s stored best plan"),
        updated_at=row.updated_at,
    )
