from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import openpyxl
import pytest
from openpyxl.utils import range_boundaries
from storage.factories import patched_main, populate, spec

from cnnpc.storage import Storage


@pytest.fixture
def main(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CNNPC_STORAGE", raising=False)
    return patched_main(monkeypatch)


@pytest.fixture
def searches(main, tmp_path):
    with Storage(f"sqlite:///{tmp_path / 'r.db'}") as storage:
        ids = [populate(storage, bandwidth_mbps=b).id for b in (1.0, 5.0, 10.0)]
        ids.append(storage.get_or_create_search(spec(seed=3)).id)  # nothing feasible
    return ids


STORE = ["--storage", "sqlite:///r.db"]


def test_xlsx_of_several_searches(main, searches, tmp_path, capsys):
    assert main(["export", "1", "2", "cnnpc-3", "--xlsx", "sweep.xlsx", *STORE]) == 0
    assert capsys.readouterr().out == "wrote sweep.xlsx (3 searches, 24 trials)\n"
    book = openpyxl.load_workbook(tmp_path / "sweep.xlsx")
    assert book.sheetnames == ["Summary", "Searches", "Plans", "Trials", "Pareto", "Chart data"]
    assert [r[0] for r in book["Searches"].iter_rows(2, values_only=True)] == [1, 2, 3]
    assert len(book["Pareto"]._charts) == 3
    assert len(book["Summary"]._charts) == 3


def test_json_and_xlsx_together(main, searches, tmp_path, capsys):
    assert main(["export", "2", "--json", "plan.json", "--xlsx", "one.xlsx", *STORE]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "wrote one.xlsx (1 search, 8 trials)",
        "wrote plan.json (search 2, best plan 40.00 ms)",
    ]
    plan = json.loads((tmp_path / "plan.json").read_text())
    assert plan["schema_version"] == 1 and plan["search"]["bandwidth_mbps"] == 5.0
    assert plan["plan"]["latency_ms"] == 40.0 and plan["plan"]["keep"] == {"block1": 0.5}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["1"], "cnnpc export: error: nothing to do: give --xlsx FILE and/or --json FILE"),
        (
            ["1", "2", "--json", "p.json"],
            "cnnpc export: error: --json exports one search, got 2 (use --xlsx for several)",
        ),
        (["1", "99", "--xlsx", "x.xlsx"], "cnnpc export: error: no search with id 99 (see "),
        (["1", "--xlsx", "no/such/dir/x.xlsx"], "cnnpc export: error: cannot write no/such/dir"),
        (["1", "--json", "."], "cnnpc export: error: cannot write .: it is a directory"),
        (  # the workbook is fine, the plan's folder is missing: neither is written
            ["2", "--xlsx", "ok.xlsx", "--json", "no/dir/p.json"],
            "cnnpc export: error: cannot write no/dir/p.json: folder no/dir does not exist",
        ),
        (
            ["2", "--xlsx", "same.json", "--json", "./same.json"],
            "cnnpc export: error: same.json and same.json name the same file",
        ),
        (
            ["4", "--json", "p.json", "--xlsx", "x.xlsx"],
            "cnnpc export: error: search 4 has no feasible plan to export (status: running)",
        ),
    ],
)
def test_errors_are_one_line_and_write_nothing(main, searches, tmp_path, argv, message, capsys):
    before = sorted(p.name for p in tmp_path.iterdir())
    assert main(["export", *argv, *STORE]) == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_missing_database_is_not_created(main, tmp_path, capsys):
    assert main(["export", "1", "--xlsx", "x.xlsx"]) == 2
    assert "no cnnpc database at results/cnnpc.db" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("kind", ["symlink", "fifo", "device"])
def test_special_targets_are_refused_and_left_alone(main, searches, tmp_path, kind, capsys):
    """A rename would turn a symlink, FIFO or device node into a regular file: refuse it."""
    target = tmp_path / "plan.json"
    if kind == "symlink":
        (tmp_path / "real.json").write_text("mine")
        target.symlink_to(tmp_path / "real.json")
    elif kind == "fifo":
        os.mkfifo(target)
    else:
        target = Path("/dev/null")
    assert main(["export", "2", "--xlsx", "ok.xlsx", "--json", str(target), *STORE]) == 2
    err = capsys.readouterr().err
    word = {"symlink": "a symbolic link", "fifo": "a FIFO", "device": "a device"}[kind]
    assert err == (
        f"cnnpc export: error: cannot write {target}: it is {word}; cnnpc replaces only "
        "regular files (give another path)\n"
    )
    assert not (tmp_path / "ok.xlsx").exists()
    if kind == "symlink":
        assert target.is_symlink() and (tmp_path / "real.json").read_text() == "mine"
    elif kind == "fifo":
        assert stat.S_ISFIFO(target.lstat().st_mode)
    else:
        assert stat.S_ISCHR(target.stat().st_mode)


def _blocks(sheet) -> list[dict]:
    """The Summary sheet read back: per search block, label -> value and its breakdown rows."""
    blocks: list[dict] = []
    rows = list(sheet.iter_rows(values_only=True))
    for i, row in enumerate(rows):
        if isinstance(row[0], str) and row[0].startswith("Search "):
            blocks.append({"title": row[0], "lines": {}, "bars": {}})
        elif blocks and row[0] == "plan":  # the breakdown table's header
            j = i + 1
            while j < len(rows) and rows[j][0]:
                blocks[-1]["bars"][rows[j][0]] = rows[j]
                j += 1
        elif blocks and row[0] and row[1] is not None and not blocks[-1]["bars"]:
            blocks[-1]["lines"][row[0]] = row[1]
    return blocks


def _series_points(book, series) -> list[tuple[float, float]]:
    """The (x, y) cells a chart series points at, read from the workbook."""

    def cells(ref: str) -> list[float]:
        sheet_name, area = ref.rsplit("!", 1)
        min_col, min_row, max_col, max_row = range_boundaries(area.replace("$", ""))
        sheet = book[sheet_name.strip("'")]
        cells = sheet.iter_rows(min_row, max_row, min_col, max_col, values_only=True)
        return [value for row in cells for value in row]

    return list(zip(cells(series.xVal.numRef.f), cells(series.yVal.numRef.f), strict=True))


def test_summary_block_equals_show_json(main, tmp_path, synthetic, capsys):
    """A real (synthetic-accuracy) search: the workbook's Summary block says what
    `cnnpc show --json` says, and its speedups match what the search itself computed."""
    from cnnpc.export import layout_text

    url = f"sqlite:///{tmp_path / 's.db'}"
    search = ["search", "--model", "mobilenet", "--device", "MI8", "--bandwidth", "1"]
    assert main([*search, "--acc-floor", "0.93", "--trials", "15", "--storage", url]) == 0
    assert main(["export", "1", "--xlsx", "s.xlsx", "--storage", url]) == 0
    capsys.readouterr()
    assert main(["show", "1", "--json", "--storage", url]) == 0
    shown = json.loads(capsys.readouterr().out)
    book = openpyxl.load_workbook(tmp_path / "s.xlsx")
    (block,) = _blocks(book["Summary"])
    lines, best, payload = block["lines"], shown["best"], shown["best_plan"]["payload"]
    assert block["title"] == shown["overview"]["title"]
    expected = shown["overview"]["lines"]
    assert list(lines) == list(expected)
    for label, value in expected.items():  # Excel keeps 15 significant digits
        if isinstance(value, float):
            assert lines[label] == pytest.approx(value, rel=1e-12)
        else:
            assert lines[label] == ("-" if value is None else value)
    assert lines["Best plan"] == f"trial {best['optuna_number']}"
    assert lines["Latency (ms)"] == best["latency_ms"]
    assert lines["Validation accuracy"] == best["val_accuracy"] >= 0.93
    assert lines["Test accuracy"] == best["test_accuracy"]
    assert lines["Layout"] == layout_text(best["mode"], best["splits"])
    assert lines["Fine-tunes"] == shown["spend"]["finetunes"] == len(synthetic.calls)
    assert lines["Traffic (KB per inference)"] == pytest.approx(best["traffic_bytes"] / 1024)
    speedup = payload["speedup_vs_best_single_tier"]
    assert lines["Speedup vs best single tier"] == pytest.approx(speedup)
    assert lines["Speedup vs best uncompressed"] == pytest.approx(
        payload["speedup_vs_uncompressed_plan"]
    )
    assert lines["Traffic saved vs uncompressed"] == pytest.approx(
        payload["traffic_reduction_vs_uncompressed"]
    )
    bars = {b["label"]: b for b in shown["overview"]["bars"]}
    assert list(block["bars"]) == list(bars) == [
        "best plan", "end only", "edge only", "cloud only", "best single split",
        "best uncompressed",
    ]  # fmt: skip
    for label, row in block["bars"].items():
        parts = list(bars[label]["breakdown"].values())
        assert list(row[1:7]) == pytest.approx(parts)
        assert row[7] == pytest.approx(bars[label]["latency_ms"])
    assert block["bars"]["best plan"][7] == pytest.approx(best["latency_ms"])
    assert block["bars"]["best uncompressed"][7] == pytest.approx(
        payload["uncompressed_best_latency_ms"]
    )

    (breakdown,) = book["Summary"]._charts
    assert breakdown.grouping == "stacked" and len(breakdown.series) == 6

    (pareto,) = book["Pareto"]._charts
    series = {s.tx.v: _series_points(book, s) for s in pareto.series}
    assert set(series) == {
        "feasible",
        "infeasible",
        "Pareto front",
        "accuracy floor 0.93",
        f"best plan (trial {best['optuna_number']})",
    }
    points = [p for name in ("feasible", "infeasible", "Pareto front") for p in series[name]]
    x, y = pareto.x_axis.scaling, pareto.y_axis.scaling
    assert all(x.min <= px <= x.max and y.min <= py <= y.max for px, py in points)
    ys = [py for _, py in points] + [0.93]
    assert y.max - y.min <= 2 * (max(ys) - min(ys)) + 0.05  # fitted, not 0..120 %
    assert y.max <= 1.0 and x.min > 0.0
    floor = series["accuracy floor 0.93"]
    assert [py for _, py in floor] == [0.93, 0.93] and [px for px, _ in floor] == [x.min, x.max]
    assert series[f"best plan (trial {best['optuna_number']})"] == [
        (pytest.approx(best["latency_ms"]), pytest.approx(best["val_accuracy"]))
    ]
    measured = [t for t in json.loads(_trials_json(main, url, capsys)) if t["state"] == "complete"]
    assert len(series["feasible"]) == sum(t["feasible"] for t in measured)
    assert len(series["infeasible"]) == sum(not t["feasible"] for t in measured)


def _trials_json(main, url, capsys) -> str:
    assert main(["trials", "1", "--json", "--storage", url]) == 0
    return capsys.readouterr().out
