"""`cnnpc export --xlsx`: one workbook for one or more searches.

Summary is for people (one block per search, see _summary_sheet); Searches, Plans, Trials and
Pareto are styled tables: bold filled header, frozen header row, autofilter, number formats by
column, widths from the content. The Pareto sheet carries one latency/accuracy chart per search
(see _pareto_chart), whose points are on the Chart data sheet.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from cnnpc.export._overview import overview
from cnnpc.export._pareto_chart import add_pareto_charts
from cnnpc.export._report import SearchReport
from cnnpc.export._rows import (
    flatten_scalars,
    front_row,
    objective_text,
    pareto_row,
    summary_row,
    trial_row,
)
from cnnpc.export._summary_sheet import write_summary

HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill(fill_type="solid", start_color="1F4E78", end_color="1F4E78")
HEADER_BORDER = Border(bottom=Side(style="thin", color="000000"))
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
MAX_REPORT_COLUMNS = 40


def number_format(column: str) -> str | None:
    """Excel number format for a column, by its name (None: leave General)."""
    if "accuracy" in column:
        return "0.00%"
    if column.endswith("_ms"):
        return "0.00"
    if column.endswith("_mj"):
        return "0.00"
    if column.endswith("_kb"):
        return "#,##0.0"
    if column.endswith(("_seconds", "_s")):
        return "0.0"
    if column.endswith("_mbps"):
        return "0.###"
    if "speedup" in column:
        return '0.00"x"'
    if "reduction" in column:
        return "0.0%"
    return None


def xlsx_bytes(reports: Sequence[SearchReport]) -> bytes:
    """The workbook of `reports`, built in memory (written by the caller, with other files)."""
    workbook = Workbook()
    summary = workbook.active
    assert summary is not None
    summary.title = "Summary"
    write_summary(summary, [overview(r) for r in reports])
    _table(workbook.create_sheet("Searches"), [summary_row(r.summary) for r in reports])
    _table(workbook.create_sheet("Plans"), [_plan_row(r) for r in reports if r.best])
    _table(workbook.create_sheet("Trials"), [trial_row(t) for r in reports for t in r.trials])
    pareto = workbook.create_sheet("Pareto")
    _table(pareto, [pareto_row(t) for r in reports for t in r.pareto])
    add_pareto_charts(workbook, pareto, reports)
    if any(r.multi_objective for r in reports):  # only then: other workbooks stay as they were
        _table(workbook.create_sheet("Front"), [front_row(t) for r in reports for t in r.front])

    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _plan_row(report: SearchReport) -> dict[str, Any]:
    search = report.summary.search
    assert report.best is not None
    row: dict[str, Any] = {
        "search": search.id,
        "model": search.model,
        "device": search.device,
        "uplink_mbps": search.links.uplink_mbps,
        "bandwidth_mbps": search.links.bandwidth_mbps,
        "objective": objective_text(search),
        "strategy": search.strategy,
        "status": search.status,
        "finetunes": report.summary.finetunes,
    }
    row |= trial_row(report.best, search_id=False)
    for name in ("started_at", "finished_at", "duration_s", "reason", "state"):
        row.pop(name, None)
    if report.best_plan is not None:
        extra = flatten_scalars(report.best_plan.plan.as_dict(), skip=("breakdown", "keep"))
        for name, value in list(extra.items())[:MAX_REPORT_COLUMNS]:
            row.setdefault(f"report.{name}", value)
    return row


def _table(sheet: Worksheet, rows: list[dict[str, Any]]) -> None:
    """Write dict rows under a styled header (columns: union of keys, first-seen order)."""
    columns: list[str] = []
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    if not columns:
        columns = ["(no rows)"]
    sheet.append([c.replace("_", " ") + (" (UTC)" if c.endswith("_at") else "") for c in columns])
    for cell in sheet[1]:
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        cell.border = HEADER_BORDER
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for row in rows:
        sheet.append([_cell(row.get(c)) for c in columns])
    for index, column in enumerate(columns, start=1):
        letter = get_column_letter(index)
        fmt = number_format(column)
        width = len(column) + 2
        for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
            if isinstance(cell.value, datetime):
                cell.number_format = DATETIME_FORMAT
                width = max(width, 21)
            elif fmt is not None and isinstance(cell.value, int | float):
                cell.number_format = fmt
                width = max(width, len(f"{cell.value:,.2f}") + 3)
            elif cell.value is not None:
                width = max(width, len(str(cell.value)) + 2)
        sheet.column_dimensions[letter].width = min(max(width, 8), 60)
    sheet.freeze_panes = "A2"
    sheet.page_setup.orientation = "landscape"  # printed: wide tables, header on every page
    sheet.print_title_rows = "1:1"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{max(1, len(rows) + 1)}"


def _cell(value: Any) -> Any:
    """Excel has no time zones: times go in as naive UTC (the headers say *_at, UTC)."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.replace(tzinfo=None)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return value
