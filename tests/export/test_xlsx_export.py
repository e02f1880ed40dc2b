from __future__ import annotations

import os

import openpyxl
import pytest
from openpyxl.chart import ScatterChart
from storage.factories import populate

from cnnpc._files import WriteError
from cnnpc.export import export_xlsx
from cnnpc.storage import Storage, StorageError

SHEETS = ["Summary", "Searches", "Plans", "Trials", "Pareto", "Chart data"]
TABLES = ["Searches", "Plans", "Trials", "Pareto"]  # styled tables (Summary is for people)


@pytest.fixture
def storage(tmp_path):
    with Storage(f"sqlite:///{tmp_path / 'cnnpc.db'}") as s:
        yield s


@pytest.fixture
def three_bandwidths(storage):
    """The same model at 1, 5 and 10 Mbps: three searches for one workbook."""
    return [populate(storage, bandwidth_mbps=mbps).id for mbps in (1.0, 5.0, 10.0)]


def _header(sheet) -> list[str]:
    return [c.value for c in sheet[1]]


def _records(sheet) -> list[dict]:
    header = _header(sheet)
    return [dict(zip(header, row, strict=True)) for row in sheet.iter_rows(2, values_only=True)]


def test_workbook_layout_and_styles(storage, three_bandwidths, tmp_path):
    path = tmp_path / "searches.xlsx"
    reports = export_xlsx(storage, three_bandwidths, path)
    assert [r.summary.search.id for r in reports] == three_bandwidths
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == SHEETS
    rows = {"Searches": 3, "Plans": 3, "Trials": 24, "Pareto": 9}
    for name in TABLES:
        sheet = book[name]
        assert sheet.freeze_panes == "A2"
        last = openpyxl.utils.get_column_letter(sheet.max_column)
        assert sheet.auto_filter.ref == f"A1:{last}{rows[name] + 1}"
        assert sheet.max_row == rows[name] + 1
        for cell in sheet[1]:
            assert cell.font.b is True
            assert cell.fill.fill_type == "solid" and cell.fill.fgColor.rgb.endswith("1F4E78")
        widths = [sheet.column_dimensions[c.column_letter].width for c in sheet[1]]
        assert all(8 <= w <= 60 for w in widths)


def test_workbook_values(storage, three_bandwidths, tmp_path):
    path = tmp_path / "searches.xlsx"
    export_xlsx(storage, three_bandwidths, path)
    book = openpyxl.load_workbook(path)

    summary = _records(book["Searches"])
    assert [r["search"] for r in summary] == three_bandwidths
    assert [r["bandwidth mbps"] for r in summary] == [1.0, 5.0, 10.0]
    first = summary[0]
    assert (first["trials"], first["complete"], first["pruned"], first["failed"]) == (8, 5, 1, 1)
    assert first["finetunes"] == 3 and first["finetune seconds"] == pytest.approx(7.5)
    assert first["best trial"] == 1 and first["best latency ms"] == 40.0
    assert first["best val accuracy"] == pytest.approx(0.90)
    assert first["created at (UTC)"].tzinfo is None  # Excel has no time zones

    plans = _records(book["Plans"])
    assert [(p["search"], p["trial"], p["latency ms"]) for p in plans] == [
        (i, 1, 40.0) for i in three_bandwidths
    ]
    assert plans[0]["keep"] == "block1=0.5" and plans[0]["splits"] == "block10"
    assert plans[0]["report.speedup vs best single tier"] == 2.0
    assert plans[0]["objective"] == "min latency, val acc >= 0.896"

    trials = _records(book["Trials"])
    assert [(t["search"], t["trial"]) for t in trials[:9]] == [
        *((three_bandwidths[0], n) for n in range(8)),
        (three_bandwidths[1], 0),
    ]
    pruned = trials[3]
    assert pruned["state"] == "pruned" and pruned["feasible"] == "no"
    assert pruned["reason"] == "surrogate: predicted 0.800 < floor 0.896"
    assert pruned["predicted accuracy"] == pytest.approx(0.80)
    assert trials[0]["end ms"] + trials[0]["uplink ms"] + trials[0]["edge ms"] + trials[0][
        "overhead ms"
    ] == pytest.approx(50.0)

    pareto = _records(book["Pareto"])
    assert [(p["search"], p["trial"]) for p in pareto] == [
        (i, n) for i in three_bandwidths for n in (2, 1, 4)
    ]


def test_number_formats(storage, three_bandwidths, tmp_path):
    path = tmp_path / "searches.xlsx"
    export_xlsx(storage, three_bandwidths, path)
    trials = openpyxl.load_workbook(path)["Trials"]
    column = {name: i + 1 for i, name in enumerate(_header(trials))}
    assert trials.cell(2, column["latency ms"]).number_format == "0.00"
    assert trials.cell(2, column["val accuracy"]).number_format == "0.00%"
    assert trials.cell(2, column["traffic kb"]).number_format == "#,##0.0"
    assert trials.cell(2, column["started at (UTC)"]).number_format == "yyyy-mm-dd hh:mm:ss"


def test_one_pareto_chart_per_search(storage, three_bandwidths, tmp_path):
    path = tmp_path / "searches.xlsx"
    export_xlsx(storage, three_bandwidths, path)
    book = openpyxl.load_workbook(path)
    charts = book["Pareto"]._charts
    assert len(charts) == 3 and all(isinstance(c, ScatterChart) for c in charts)
    for chart in charts:
        assert [s.tx.v for s in chart.series] == [
            "feasible",
            "infeasible",
            "Pareto front",
            "accuracy floor 0.896",
            "best plan (trial 1)",
        ]
        for series in chart.series:
            assert series.xVal.numRef.f.startswith("'Chart data'!$B$")
            assert series.yVal.numRef.f.startswith("'Chart data'!$C$")


def test_empty_search_still_gives_a_valid_workbook(storage, tmp_path):
    from storage.factories import spec

    empty = storage.get_or_create_search(spec())
    path = tmp_path / "empty.xlsx"
    export_xlsx(storage, [empty.id], path)
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == SHEETS[:-1]  # no measured trial: no chart data
    assert book["Searches"].max_row == 2 and book["Trials"].max_row == 1
    assert book["Pareto"]._charts == []
    lines = {r[0]: r[1] for r in book["Summary"].iter_rows(2, values_only=True) if r[0]}
    assert lines["Best plan"] == "none feasible yet" and lines["Latency (ms)"] == "-"


def test_unknown_search_writes_nothing(storage, three_bandwidths, tmp_path):
    path = tmp_path / "out.xlsx"
    with pytest.raises(StorageError, match="no search with id 99"):
        export_xlsx(storage, [three_bandwidths[0], 99], path)
    assert list(tmp_path.glob("*.xlsx")) == []


@pytest.mark.parametrize("target", ["missing/out.xlsx", "."])
def test_unwritable_path_is_a_one_line_error(storage, three_bandwidths, tmp_path, target):
    path = tmp_path / target
    with pytest.raises(WriteError, match="cannot write"):
        export_xlsx(storage, three_bandwidths, path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "cnnpc.db",
        "cnnpc.db-shm",
        "cnnpc.db-wal",
    ]


def test_failed_write_keeps_the_old_file(storage, three_bandwidths, tmp_path, monkeypatch):
    path = tmp_path / "out.xlsx"
    path.write_bytes(b"previous export")
    real_fsync = os.fsync

    def full_disk(fd):
        real_fsync(fd)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(WriteError) as info:
        export_xlsx(storage, three_bandwidths, path)
    assert str(info.value) == f"cannot write {path}: No space left on device"
    assert path.read_bytes() == b"previous export"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
