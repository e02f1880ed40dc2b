"""`cnnpc accuracy export|import` as library calls: the shared accuracy cache as a CSV table."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def export_accuracies(
    storage_url: str | None,
    model: str,
    file: Path,
    workload: str | None = None,
    budget_key: str | None = None,
) -> dict[str, Any]:
    """Write a model's measured accuracies to `file` (the database is only read)."""
    from cnnpc._files import check_file_target
    from cnnpc.accuracy import export_table
    from cnnpc.storage import Storage, resolve_url

    check_file_target(file)  # before the database: a bad target leaves nothing opened
    with Storage(resolve_url(storage_url), create=False) as storage:
        done = export_table(storage, model, file, workload=workload, budget_key=budget_key)
    return {
        "file": str(done.path),
        "model": done.model,
        "workload": done.workload,
        "budget_key": done.budget_key,
        "rows": done.rows,
    }


def exported_text(report: dict[str, Any]) -> str:
    return (
        f"wrote {report['rows']} configurations of {report['model']} on {report['workload']} "
        f"(budget {report['budget_key']}) to {report['file']}"
    )


def import_accuracies(
    storage_url: str | None, file: Path, model: str | None = None, workload: str | None = None
) -> dict[str, Any]:
    """Load `file` into the shared accuracy cache, all or nothing (read before any database)."""
    from cnnpc.accuracy import cache_entries, read_table
    from cnnpc.storage import Storage, display_url, resolve_url

    table = read_table(file, model=model, workload=workload)
    with Storage(resolve_url(storage_url)) as storage:
        count = storage.import_accuracies(cache_entries(table))
        url = display_url(storage.url)
    return {
        "file": str(file),
        "model": table.model,
        "workload": table.workload,
        "budget_key": table.budget_key,
        "rows": len(table.rows),
        "added": count.added,
        "already_there": count.already_there,
        "storage": url,
    }


def imported_text(report: dict[str, Any]) -> str:
    return (
        f"imported {report['added']} configurations of {report['model']} on "
        f"{report['workload']} (budget {report['budget_key']}) into {report['storage']}; "
        f"{report['already_there']} were already there"
    )
