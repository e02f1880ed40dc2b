"""The accuracy cache's bulk import: all rows or none, in a bounded number of statements."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from cnnpc.errors import InputError
from cnnpc.storage import CacheEntry, Storage, StorageError


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
        details={"row": i},
        origin=f"t.csv: row {i}",
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
    assert rows["c7"].test_accuracy == 0.4 and rows["c7"].details == {"row": 7}


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
