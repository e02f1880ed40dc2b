"""Exports of stored searches: an Excel workbook and a JSON deployment plan.

openpyxl is imported only when a workbook is written, so importing this package is cheap.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, BinaryIO

from cnnpc.export._atomic import ExportError, save_png, write_atomically
from cnnpc.export._report import SCHEMA_VERSION, SearchReport, collect, deployment_plan
from cnnpc.storage import Storage

__all__ = [
    "SCHEMA_VERSION",
    "ExportError",
    "SearchReport",
    "collect",
    "deployment_plan",
    "export_json",
    "export_xlsx",
    "save_png",
    "styled_table",
    "write_atomically",
]


def export_xlsx(storage: Storage, search_ids: Sequence[int], path: Path) -> list[SearchReport]:
    """Write the searches (every one must exist) to one workbook; return what was written."""
    from cnnpc.export._xlsx import write_xlsx

    reports = [collect(storage, i, with_trials=True) for i in dict.fromkeys(search_ids)]
    write_xlsx(reports, Path(path))
    return reports


def styled_table(sheet: Any, rows: list[dict[str, Any]]) -> None:
    """Write dict rows to an openpyxl sheet in the style of every cnnpc workbook."""
    from cnnpc.export._xlsx import _table

    _table(sheet, rows)


def export_json(storage: Storage, search_id: int, path: Path) -> dict[str, Any]:
    """Write the search's deployment plan (schema_version 1) as JSON; return it."""
    plan = deployment_plan(collect(storage, search_id), storage.display_url)
    data = (json.dumps(plan, indent=2, allow_nan=False) + "\n").encode()

    def write(handle: BinaryIO) -> None:
        handle.write(data)

    write_atomically(Path(path), write)
    return plan
