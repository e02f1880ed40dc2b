"""The shared accuracy cache in bulk: every row of a model, and an all-or-nothing import.

`cnnpc accuracy export` lists a model's measured accuracies across workloads and budgets;
`cnnpc accuracy import` (and a search on a table) adds many rows in one transaction, so a
conflict anywhere leaves the database as it was.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from cnnpc.errors import InputError
from cnnpc.storage._convert import cached_accuracy
from cnnpc.storage._models import AccuracyCacheModel, utcnow
from cnnpc.storage._records import Accuracy, CachedAccuracy, finite, json_value, required

_INSERT_BATCH = 5000
"""Rows per INSERT statement (bounds the statement's size on every driver)."""


@dataclass(frozen=True)
class CacheEntry(Accuracy):
    """One accuracy to put in the cache (`where` names its place in the input, for errors)."""

    where: str = ""

    def columns(self) -> dict[str, object]:
        """The cache row's checked columns: the one spelling of the row (put and import)."""
        if len(self.config_key) > 1024:
            if self.where:
                raise InputError(f"{self.where}: configuration key longer than 1024 characters")
            raise InputError(f"config_key is {len(self.config_key)} characters (at most 1024)")
        return {
            "model": self.model,
            "workload": self.workload,
            "budget_key": self.budget_key,
            "config_key": self.config_key,
            "val_accuracy": required(self.val_accuracy, "val_accuracy", lo=0.0, hi=1.0),
            "test_accuracy": finite(self.test_accuracy, "test_accuracy", lo=0.0, hi=1.0),
            "finetune_seconds": finite(self.finetune_seconds, "finetune_seconds", lo=0.0),
            "params": None if self.params is None else int(self.params),
            "flops": None if self.flops is None else int(self.flops),
            "details": json_value(self.origin.to_json(), "details"),
        }


@dataclass(frozen=True)
class ImportCount:
    added: int
    already_there: int


def rows_of(session: Session, model: str, workload: str | None) -> list[CachedAccuracy]:
    """Every cached accuracy of `model` (one workload, or all), by workload, budget, age."""
    query = select(AccuracyCacheModel).where(AccuracyCacheModel.model == model)
    if workload is not None:
        query = query.where(AccuracyCacheModel.workload == workload)
    order = (AccuracyCacheModel.workload, AccuracyCacheModel.budget_key, AccuracyCacheModel.id)
    return [cached_accuracy(r) for r in session.scalars(query.order_by(*order)).all()]


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a - b) <= 1e-9


def import_entries(session: Session, entries: Sequence[CacheEntry]) -> ImportCount:
    """Add `entries`; an equal row already there is kept, a different one is an InputError
    (the caller's transaction then rolls back: nothing is written).

    In bulk: one validation pass, one read of each cache cell the entries touch, one
    multi-row INSERT (a row at a time cost 3 ms of CPU each: 100,000 rows took minutes).
    """
    existing: dict[tuple[str, str, str], dict[str, tuple[float, float | None]]] = {}
    for cell in dict.fromkeys((e.model, e.workload, e.budget_key) for e in entries):
        rows = session.execute(
            select(
                AccuracyCacheModel.config_key,
                AccuracyCacheModel.val_accuracy,
                AccuracyCacheModel.test_accuracy,
            ).where(
                AccuracyCacheModel.model == cell[0],
                AccuracyCacheModel.workload == cell[1],
                AccuracyCacheModel.budget_key == cell[2],
            )
        )
        existing[cell] = {key: (val, test) for key, val, test in rows}
    new: list[dict[str, object]] = []
    present = 0
    now = utcnow()
    for e in entries:
        known = existing[(e.model, e.workload, e.budget_key)]
        there = known.get(e.config_key)
        if there is not None:
            if not (_same(there[0], e.val_accuracy) and _same(there[1], e.test_accuracy)):
                raise InputError(
                    f"{e.where}: the database already holds {e.config_key} with validation "
                    f"accuracy {there[0]:.6g} (table: {e.val_accuracy:.6g}); "
                    "nothing was imported"
                )
            present += 1
            continue
        row = e.columns() | {"created_at": now}
        known[e.config_key] = (e.val_accuracy, e.test_accuracy)
        new.append(row)
    for start in range(0, len(new), _INSERT_BATCH):
        session.execute(insert(AccuracyCacheModel), new[start : start + _INSERT_BATCH])
    session.flush()
    return ImportCount(added=len(new), already_there=present)
