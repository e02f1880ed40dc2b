"""`cnnpc accuracy export|import` as library calls: the shared accuracy cache as a CSV table."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cnnpc.jobs._options import option, storage_option

TABLE = "FILE.csv"


@dataclass(frozen=True, kw_only=True)
class AccuracyExport:
    """What `cnnpc accuracy export` is asked."""

    model: str = option("--model")
    workload: str | None = option(
        "--workload", default=None, help="one workload (when there are several)"
    )
    budget_key: str | None = option(
        "--budget", default=None, metavar="KEY", help="one fine-tune budget key"
    )
    storage: str | None = storage_option()
    file: Path = option(type=Path, metavar=TABLE)


@dataclass(frozen=True, kw_only=True)
class AccuracyImport:
    """What `cnnpc accuracy import` is asked."""

    model: str | None = option("--model", default=None, help="refuse a table for another model")
    workload: str | None = option(
        "--workload", default=None, help="refuse a table for another workload"
    )
    storage: str | None = storage_option()
    file: Path = option(type=Path, metavar=TABLE)


def export_accuracies(job: AccuracyExport) -> dict[str, Any]:
    """Write a model's measured accuracies to `job.file` (the database is only read)."""
    storage_url, model, file = job.storage, job.model, job.file
    workload, budget_key = job.workload, job.budget_key
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


def import_accuracies(job: AccuracyImport) -> dict[str, Any]:
    """Load `job.file` into the shared accuracy cache, all or nothing (read before any
    database)."""
    from cnnpc.accuracy import cache_entries, read_table
    from cnnpc.storage import Storage, display_url, resolve_url

    file = job.file
    table = read_table(file, model=job.model, workload=job.workload)
    with Storage(resolve_url(job.storage)) as storage:
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
