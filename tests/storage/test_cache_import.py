"""The accuracy cache's bulk import: all rows or none, in a bounded number of statements."""

from __future__ import annotations

import pytest
from sqlalchemy import event, insert, select

from cnnpc.errors import InputError
from cnnpc.records import CandidateBytes, Origin
from cnnpc.storage import CacheEntry, Storage, StorageError
from cnnpc.storage._models import AccuracyCacheModel, utcnow


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'c.db'}"
    return request.getfixturevalue("postgres_url_factory")()


def _entry(i: int, val: float = 0.5, test: float | None = 0.4, **kw: object) -> CacheEntry:
    fields = {"model": "m", "workload": "w", "budget_key": "b", "config_key": f"c{i}"} | kw
    return CacheEntry(
        **fields,  # type: ignore[arg-type]
        val_accuracy=val,
        test_accuracy=test,
        finetune_seconds=1.0,
        origin=Origin.table("t.csv", i),
        where=f"t.csv: row {i}",
    )


def _statements(storage: Storage) -> list[str]:
    seen: list[str] = []
    event.listen(storage._engine, "before_cursor_execute", lambda *args: seen.append(str(args[2])))
    return seen


def test_import_in_bulk_then_again(url):
    entries = [_entry(i, val=i / 20_000) for i in range(12_000)]
    with Storage(url) as storage:
        seen = _statements(storage)
        count = storage.import_accuracies(entries)
        assert (count.added, count.already_there) == (12_000, 0)
        inserts = [s for s in seen if s.lstrip().upper().startswith("INSERT")]
        assert 1 <= len(inserts) <= 10 and len(seen) <= 20  # not a statement a row
        again = storage.import_accuracies([*entries[:5], _entry(99_999)])
        assert (again.added, again.already_there) == (1, 5)
        rows = {r.config_key: r for r in storage.accuracy_rows("m")}
    assert len(rows) == 12_001
    assert rows["c7"].val_accuracy == pytest.approx(7 / 20_000)
    assert rows["c7"].test_accuracy == 0.4 and rows["c7"].origin == Origin.table("t.csv", 7)


def test_a_conflict_or_a_bad_value_writes_nothing(url):
    with Storage(url) as storage:
        storage.import_accuracies([_entry(1)])
        cases = [
            ([_entry(2), _entry(1, val=0.9)], "already holds c1 with validation accuracy 0.5"),
            ([_entry(3), _entry(3, val=0.7)], "already holds c3"),  # twice in one import
            ([_entry(4), _entry(5, val=1.5)], "val_accuracy must be in"),
            ([_entry(6), _entry(7, config_key="k" * 1025)], "longer than 1024 characters"),
        ]
        for entries, message in cases:
            with pytest.raises((InputError, StorageError)) as info:
                storage.import_accuracies(entries)
            assert message in str(info.value)
            assert [r.config_key for r in storage.accuracy_rows("m")] == ["c1"]
        same = storage.import_accuracies([_entry(8), _entry(8)])  # equal twice: one row
        assert (same.added, same.already_there) == (1, 1)


@pytest.mark.parametrize(
    ("details", "origin"),
    [
        ({"source": "table", "file": "acc.csv", "row": 2}, Origin.table("acc.csv", 2)),
        (
            {"source": "supernet", "kept": {"block1": 8}, "supernet": "ab12"},
            Origin.estimate("ab12", {"block1": 8}),
        ),
        (
            {"keep": {"block1": 0.5}, "candidates": [{"name": "b", "channels": 8, "bytes": 64}]},
            Origin.finetuned({"block1": 0.5}, (CandidateBytes("b", 8, 64),)),
        ),
        ({}, Origin()),
        ({"who": "a Python user"}, Origin()),
    ],
)
def test_rows_the_previous_release_wrote_load_and_new_rows_store_the_same_json(
    tmp_path, details, origin
):
    """The `details` column keeps its JSON: a row written as the previous release wrote it
    (a JSON object in that column) reads as its Origin, and storing that Origin writes it back."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    with Storage(url) as storage:
        with storage.session_scope() as session:
            session.execute(
                insert(AccuracyCacheModel).values(
                    model="m", workload="w", budget_key="old", config_key="c",
                    val_accuracy=0.9, test_accuracy=0.8, finetune_seconds=1.0,
                    params=1, flops=2, details=details, created_at=utcnow(),
                )
            )  # fmt: skip
        row = storage.get_cached_accuracy("m", "w", "old", "c")
        assert row is not None and row.origin == origin
        storage.put_cached_accuracy(CacheEntry("m", "w", "new", "c", 0.9, 0.8, 1.0, 1, 2, origin))
        bulk = CacheEntry("m", "w", "bulk", "c", 0.9, 0.8, 1.0, 1, 2, origin=origin)
        storage.import_accuracies([bulk])
        with storage.session_scope() as session:
            stored = dict(
                session.execute(
                    select(AccuracyCacheModel.budget_key, AccuracyCacheModel.details)
                ).all()
            )
    known = {} if origin == Origin() else details
    assert stored == {"old": details, "new": known, "bulk": known}
