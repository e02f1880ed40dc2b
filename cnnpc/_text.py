"""The console's text forms, shared by every stage that renders a report: aligned tables, the
latency breakdown's columns and JSON. Low in the house (no cnnpc imports) so that each stage's
report renders itself and the CLI only prints it.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence

BREAKDOWN_HEADERS = ["end", "uplink", "edge", "downlink", "cloud", "overhead", "total ms"]
BREAKDOWN_PARTS = ("end_ms", "uplink_ms", "edge_ms", "downlink_ms", "cloud_ms", "overhead_ms")
"""A latency breakdown's parts, in the order every table, sheet and chart shows them."""
BREAKDOWN_KEYS = (*BREAKDOWN_PARTS, "total_ms")


def breakdown_cells(bd: Mapping[str, float]) -> list[object]:
    """A latency breakdown (its JSON form) as table cells, in BREAKDOWN_HEADERS order."""
    return [bd[k] for k in BREAKDOWN_KEYS]


def json_text(obj: object) -> str:
    """The one JSON form cnnpc prints: indented, strict (no NaN), newline-terminated."""
    return json.dumps(obj, indent=2, allow_nan=False) + "\n"


def format_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Plain aligned text table; numbers right-aligned, text left-aligned."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    numeric = [
        all(isinstance(row[i], int | float) for row in rows if row[i] is not None) and bool(rows)
        for i in range(len(headers))
    ]

    def line(values: Sequence[str]) -> str:
        out = [
            v.rjust(w) if num else v.ljust(w)
            for v, w, num in zip(values, widths, numeric, strict=True)
        ]
        return "  ".join(out).rstrip()

    sep = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), sep, *(line(r) for r in cells)])


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)


def csv_text(rows: Sequence[Mapping[str, object]]) -> str:
    """Rows as CSV with one header row: the union of their keys, in first-seen order."""
    columns: list[str] = []
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(c) for c in columns])
    return out.getvalue()
