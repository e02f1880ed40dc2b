from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import openpyxl
import pytest
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
    assert book.sheetnames == ["Summary", "Plans", "Trials", "Pareto"]
    assert [r[0] for r in book["Summary"].iter_rows(2, values_only=True)] == [1, 2, 3]
    assert len(book["Pareto"]._charts) == 1


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
