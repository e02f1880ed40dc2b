"""Moving accuracy tables in and out of a database's shared cache (all or nothing)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cnnpc._files import write_text
from cnnpc.accuracy._table import (
    AccuracyTable,
    TableRow,
    format_table,
    kept_of,
    read_table,
)
from cnnpc.codec import split_bits
from cnnpc.errors import InputError
from cnnpc.records import Origin, join_config, keep_key, parse_keep_key, split_config
from cnnpc.spaces import load_space
from cnnpc.storage import CacheEntry, ImportCount, Storage


@dataclass(frozen=True)
class ExportedTable:
    path: Path
    model: str
    workload: str
    budget_key: str
    rows: int


def export_table(
    storage: Storage,
    model: str,
    path: str | Path,
    *,
    workload: str | None = None,
    budget_key: str | None = None,
) -> ExportedTable:
    """Write every configuration measured for `model` (one workload and budget) to `path`."""
    space = load_space(model)
    cached = storage.accuracy_rows(model, workload)
    if budget_key is not None:
        cached = [c for c in cached if c.budget_key == budget_key]
    cells = sorted({(c.workload, c.budget_key) for c in cached})
    if not cells:
        what = model + ("" if workload is None else f" on {workload}")
        raise InputError(f"no measured accuracies for {what} in this database")
    if len(cells) > 1:
        listed = "; ".join(f"--workload {w} --budget {b!r}" for w, b in cells)
        raise InputError(f"{model} has accuracies for several workloads or budgets: give {listed}")
    (the_workload, the_budget) = cells[0]
    rows = []
    for i, c in enumerate(cached, start=1):
        fractions, widths = split_config(parse_keep_key(c.config_key))
        rows.append(
            TableRow(
                kept=kept_of(space, fractions),
                val_accuracy=c.val_accuracy,
                test_accuracy=c.test_accuracy,
                finetune_seconds=c.finetune_seconds,
                row=i,
                bits=split_bits(widths, space.names),
            )
        )
    written = write_text(path, format_table(model, the_workload, the_budget, rows))
    return ExportedTable(written, model, the_workload, the_budget, len(rows))


def cache_entries(table: AccuracyTable, budget_key: str | None = None) -> list[CacheEntry]:
    """The table's rows as cache rows (under its own budget key, or `budget_key`)."""
    space = load_space(table.model)  # once: parsing it per row was most of an import's time
    return [
        CacheEntry(
            model=table.model,
            workload=table.workload,
            budget_key=table.budget_key if budget_key is None else budget_key,
            config_key=keep_key(join_config(r.config(space), r.bits)),  # block1@bits=4 below 8
            val_accuracy=r.val_accuracy,
            test_accuracy=r.test_accuracy,
            finetune_seconds=r.finetune_seconds,
            origin=Origin.table(table.path, r.row),
            where=f"{table.path}: row {r.row}",
        )
        for r in table.rows
    ]


@dataclass(frozen=True)
class ImportedTable:
    table: AccuracyTable
    count: ImportCount


def import_table(
    storage: Storage, path: str | Path, *, model: str | None = None, workload: str | None = None
) -> ImportedTable:
    """Validate every row of `path`, then add them to the shared cache in one transaction."""
    table = read_table(path, model=model, workload=workload)
    return ImportedTable(table, storage.import_accuracies(cache_entries(table)))
