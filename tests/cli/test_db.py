from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import pytest
from storage.factories import patched_main


@pytest.fixture
def main(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CNNPC_STORAGE", raising=False)
    return patched_main(monkeypatch)


def test_upgrade_then_current(main, tmp_path, capsys):
    assert main(["db", "upgrade"]) == 0
    assert capsys.readouterr().out == (
        "sqlite:///results/cnnpc.db: upgraded from empty to revision 0004 (newest)\n"
    )
    assert (tmp_path / "results" / "cnnpc.db").is_file()
    assert main(["db", "upgrade"]) == 0
    assert "already at revision 0004" in capsys.readouterr().out
    assert main(["db", "current"]) == 0
    assert capsys.readouterr().out == "sqlite:///results/cnnpc.db: revision 0004 (newest schema)\n"
    assert main(["db", "current", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "storage": "sqlite:///results/cnnpc.db",
        "revision": "0004",
        "head": "0004",
        "state": "current",
    }


def test_storage_option_and_environment(main, tmp_path, monkeypatch, capsys):
    other = tmp_path / "other.db"
    assert main(["db", "upgrade", "--storage", f"sqlite:///{other}"]) == 0
    assert other.is_file() and not (tmp_path / "results").exists()
    capsys.readouterr()
    monkeypatch.setenv("CNNPC_STORAGE", f"sqlite:///{other}")
    assert main(["db", "current"]) == 0
    assert capsys.readouterr().out.startswith(f"sqlite:///{other}: revision 0004")


def test_current_on_a_database_without_cnnpc_tables(main, tmp_path, capsys):
    sqlite3.connect(tmp_path / "optuna_only.db").execute(
        "CREATE TABLE studies (x)"
    ).connection.close()
    assert main(["db", "current", "--storage", "sqlite:///optuna_only.db"]) == 0
    assert "revision - (no cnnpc tables yet" in capsys.readouterr().out


def test_errors_are_one_line_exit_2(main, tmp_path, capsys):
    assert main(["db", "current"]) == 2  # nothing there yet, and nothing created
    err = capsys.readouterr().err
    assert err.startswith("cnnpc db: error: no cnnpc database at results/cnnpc.db")
    assert err.count("\n") == 1 and not (tmp_path / "results").exists()

    (tmp_path / "bad.db").write_text("not sqlite at all, just text " * 20)
    assert main(["db", "upgrade", "--storage", "sqlite:///bad.db"]) == 2
    assert capsys.readouterr().err == (
        "cnnpc db: error: sqlite:///bad.db is not a readable cnnpc database: "
        "file is not a database\n"
    )

    assert main(["db", "upgrade"]) == 0
    with sqlite3.connect(tmp_path / "results" / "cnnpc.db") as db:
        db.execute("UPDATE cnnpc_alembic_version SET version_num = '0099'")
    capsys.readouterr()
    for action in ("current", "upgrade"):
        assert main(["db", action]) == 2
        err = capsys.readouterr().err
        assert err.startswith(
            "cnnpc db: error: database schema 0099 is newer than this cnnpc; upgrade cnnpc"
        )
        assert err.count("\n") == 1

    with pytest.raises(SystemExit) as info:
        main(["db"])
    assert info.value.code == 2


def test_command_modules_import_nothing_heavy():
    """Building the parser must stay instant: no SQLAlchemy, Alembic, openpyxl, pandas, TF."""
    code = (
        "import sys\n"
        "import cnnpc.cli._db, cnnpc.cli._browse, cnnpc.cli._export\n"
        "heavy = ['sqlalchemy', 'alembic', 'openpyxl', 'pandas', 'tensorflow', 'optuna']\n"
        "print([m for m in heavy if m in sys.modules])\n"
        "import cnnpc.storage, cnnpc.export\n"
        "print([m for m in heavy[1:] if m in sys.modules])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert out.splitlines() == ["[]", "[]"]


def test_no_command_prints_the_url_password(main, tmp_path, capsys, synthetic):
    """Every place a storage URL is printed or written (text, JSON, plan.json) masks the
    password; SQLite ignores the query password, so one database serves every command."""
    secret = "TOPSECRET1"
    url = f"sqlite:///{tmp_path / 'r.db'}?password={secret}"
    table = tmp_path / "t.csv"
    table.write_text(
        "model,workload,budget_key,kept_channels,val_accuracy,test_accuracy,finetune_seconds\n"
        "mobilenet,synthetic,b,,0.95,0.94,1\nmobilenet,synthetic,b,block6=8,0.93,0.92,1\n"
    )
    search = ["search", "--model", "mobilenet", "--device", "MI8", "--bandwidth", "10"]
    search += ["--acc-floor", "0.9", "--trials", "4", "--storage", url]
    sweep = ["sweep", "--model", "mobilenet", "--device", "MI8", "--bandwidth", "5,10"]
    sweep += ["--acc-floor", "0.9", "--max-finetunes", "2", "--storage", url, "--json"]
    runs = [
        ["db", "upgrade", "--storage", url],
        ["db", "current", "--storage", url],
        ["db", "current", "--storage", url, "--json"],
        ["searches", "--storage", url],
        ["accuracy", "import", "--storage", url, str(table)],
        ["accuracy", "import", "--storage", url, str(table), "--json"],
        search,
        [*search, "--json"],
        sweep,
        ["export", "1", "--storage", url, "--json", str(tmp_path / "plan.json")],
    ]
    for args in runs:
        assert main(args) == 0, args
        captured = capsys.readouterr()
        printed = captured.out + captured.err
        assert secret not in printed, args
        assert "password=***" in printed or args[0] == "export", args
    assert "password=***" in (tmp_path / "plan.json").read_text()
    assert secret not in (tmp_path / "plan.json").read_text()


def test_special_database_files_are_one_line(main, tmp_path, capsys):
    """A FIFO (SQLite would block on it), a link to nothing (it would be created at the
    target), a folder and an over-long name: one line, exit 2, nothing created."""
    import os

    os.mkfifo(tmp_path / "fifo.db")
    (tmp_path / "dangling.db").symlink_to(tmp_path / "nowhere" / "x.db")
    cases = [
        ("fifo.db", "is not a regular file"),
        ("dangling.db", "is a link to nothing"),
        (".", "is a directory"),
        ("a" * 300 + ".db", "File name too long"),
    ]
    for name, message in cases:
        for command in (["db", "upgrade"], ["db", "current"], ["searches"]):
            assert main([*command, "--storage", f"sqlite:///{name}"]) == 2, (name, command)
            err = capsys.readouterr().err
            assert message in err and err.count("\n") == 1, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dangling.db", "fifo.db"]
