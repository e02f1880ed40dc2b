"""Exports of stored searches: an Excel workbook and a JSON deployment plan.

openpyxl is imported only when a workbook is written, so importing this package is cheap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cnnpc._files import check_file_targets, write_files
from cnnpc._text import json_text
from cnnpc.export._console import (
    show_json,
    show_lines,
    summaries_csv,
    summaries_text,
    trials_csv,
    trials_text,
)
from cnnpc.export._layout import layout_text
from cnnpc.export._overview import PART_LABELS, Overview, overview
from cnnpc.export._png import save_png
from cnnpc.export._report import (
    SCHEMA_VERSION,
    ExportError,
    SearchReport,
    collect,
    deployment_plan,
)
from cnnpc.export._rows import objective_text, plain, summary_row, trial_row
from cnnpc.storage import Storage

__all__ = [
    "PART_LABELS",
    "SCHEMA_VERSION",
    "ExportError",
    "Exported",
    "Overview",
    "SearchReport",
    "collect",
    "deployment_plan",
    "export",
    "export_json",
    "export_xlsx",
    "layout_text",
    "objective_text",
    "overview",
    "plain",
    "save_png",
    "show_json",
    "show_lines",
    "styled_table",
    "summaries_csv",
    "summaries_text",
    "summary_row",
    "trial_row",
    "trials_csv",
    "trials_text",
    "write_search_png",
]


@dataclass(frozen=True)
class Exported:
    """What `export` wrote: the workbook's reports and/or the deployment plan."""

    reports: tuple[SearchReport, ...] = ()
    plan: dict[str, Any] | None = None


def export(
    storage: Storage,
    search_ids: Sequence[int],
    *,
    xlsx: Path | None = None,
    json_path: Path | None = None,
) -> Exported:
    """Write a workbook of the searches and/or the first one's deployment plan, all or nothing.

    Both targets are checked before anything is read, both files are built in memory, and they
    are renamed into place together: a bad path or an empty search leaves no file behind.
    """
    targets = [p for p in (xlsx, json_path) if p is not None]
    check_file_targets(targets)
    ids = list(dict.fromkeys(search_ids))
    files: dict[Path, bytes] = {}
    reports: tuple[SearchReport, ...] = ()
    plan: dict[str, Any] | None = None
    if json_path is not None:
        plan = deployment_plan(collect(storage, ids[0]), storage.display_url)
        files[Path(json_path)] = json_text(plan).encode()
    if xlsx is not None:
        from cnnpc.export._xlsx import xlsx_bytes

        reports = tuple(collect(storage, i, with_trials=True) for i in ids)
        files = {Path(xlsx): xlsx_bytes(reports), **files}
    write_files(files)
    return Exported(reports, plan)


def export_xlsx(storage: Storage, search_ids: Sequence[int], path: Path) -> list[SearchReport]:
    """Write the searches (every one must exist) to one workbook; return what was written."""
    return list(export(storage, search_ids, xlsx=Path(path)).reports)


def styled_table(sheet: Any, rows: list[dict[str, Any]]) -> None:
    """Write dict rows to an openpyxl sheet in the style of every cnnpc workbook."""
    from cnnpc.export._xlsx import _table

    _table(sheet, rows)


def export_json(storage: Storage, search_id: int, path: Path) -> dict[str, Any]:
    """Write the search's deployment plan (schema_version 1) as JSON; return it."""
    plan = export(storage, [search_id], json_path=Path(path)).plan
    assert plan is not None
    return plan


def write_search_png(report: SearchReport, path: Path) -> Path:
    """`cnnpc show --png`: Pareto front, breakdown vs baselines, best so far (read the report
    with its trials)."""
    from cnnpc.export._figure import write_png

    return write_png(report, overview(report), Path(path))
