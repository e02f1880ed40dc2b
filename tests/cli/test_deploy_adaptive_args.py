"""`deploy --adaptive` refuses bad options with one line and exit 2, before any work."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from cnnpc.cli import main


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--adaptive", "--bandwidth", "5:2"], "STOP must be > START"),
        (
            ["--adaptive", "--bandwidth", "0:2"],
            "START must be a finite number >= 0.001 and <= 1e+06",
        ),
        (["--adaptive", "--bandwidth", "2"], "expected START:STOP"),
        (["--bandwidth", "2:5"], "--adaptive and --bandwidth START:STOP go together"),
        (["--adaptive"], "--adaptive and --bandwidth START:STOP go together"),
        (["--adaptive", "--bandwidth", "2:5", "--hysteresis", "1"], "--hysteresis must be in"),
        (["--adaptive", "--bandwidth", "2:5", "--hysteresis", "-0.1"], "must be a finite number"),
    ],
)
def test_bad_adaptive_options(extra, message, tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'r.db'}"
    with pytest.raises(SystemExit) as exc:
        raise SystemExit(
            main(["deploy", "1", "--out", str(tmp_path / "p"), "--storage", url, *extra])
        )
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "p").exists()


def test_checked_before_tensorflow_is_imported(tmp_path):
    import subprocess
    import sys

    code = (
        "import sys; from cnnpc.cli import main; "
        f"main(['deploy', '1', '--out', 'p', '--adaptive', '--bandwidth', '2:5', '--hysteresis', "
        f"'2', '--storage', 'sqlite:///{tmp_path / 'r.db'}']); "
        "print('tensorflow' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False" and "--hysteresis must be in" in out.stderr


@pytest.mark.parametrize("kind", [[], ["--adaptive", "--bandwidth", "2:5"], ["--upload"]])
def test_a_table_search_is_refused_before_training(kind, tmp_path, capsys, monkeypatch):
    """A search on an accuracy table has no model cnnpc tuned: refused before the baseline
    (minutes of training) is built, the database unchanged and no folder written."""
    import cnnpc.oracle

    monkeypatch.setattr(cnnpc.oracle, "open_oracle", lambda *a, **k: pytest.fail("trains"))
    table = tmp_path / "t.csv"
    table.write_text(
        "model,workload,budget_key,kept_channels,val_accuracy,test_accuracy,finetune_seconds\n"
        "mobilenet,digits,b,,0.95,0.94,1\nmobilenet,digits,b,block6=8,0.93,0.92,1\n"
    )
    url = f"sqlite:///{tmp_path / 'r.db'}"
    search = ["search", "--model", "mobilenet", "--device", "MI8", "--bandwidth", "10"]
    search += ["--acc-floor", "0.9", "--trials", "4", "--accuracy", f"table:{table}"]
    assert main([*search, "--storage", url]) == 0
    capsys.readouterr()
    before = _dump(tmp_path / "r.db")
    assert main(["deploy", "1", "--out", str(tmp_path / "p"), "--storage", url, *kind]) == 2
    err = capsys.readouterr().err
    assert "took its accuracies from an accuracy table" in err and err.count("\n") == 1
    # its content, not its bytes: SQLite may checkpoint the search's write-ahead log on open
    assert not (tmp_path / "p").exists() and _dump(tmp_path / "r.db") == before


def test_plan_provenance_masks_the_storage_password():
    """plan.json (and every plan of a plan set) names its database through display_url."""
    from types import SimpleNamespace

    from cnnpc.deploy._search import provenance
    from cnnpc.records import LinkSetting

    search = SimpleNamespace(
        id=1, model="mobilenet", device="MI8", mode="acc_floor", target=0.9,
        links=LinkSetting(uplink_mbps=5.0, bandwidth_mbps=10.0),
    )  # fmt: skip
    workload = SimpleNamespace(name="digits", input_size=64, classes=("0", "1"))
    url = "postgresql+psycopg://u:TOPSECRET1@h/db?sslpassword=TOPSECRET2"
    meta = provenance(search, url, SimpleNamespace(conventions="cnnpc"), workload, 64)
    assert meta.search is not None
    assert meta.search.storage == "postgresql+psycopg://u:***@h/db?sslpassword=***"


def _dump(path: Path) -> list[str]:
    """The database's content as SQL (its schema and rows)."""
    import sqlite3

    with contextlib.closing(sqlite3.connect(path)) as db:
        return list(db.iterdump())
