"""Accuracy tables: export -> import round trip, validation, and searches that never fine-tune."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from cnnpc.storage import CacheEntry

sys.path.insert(0, str(Path(__file__).parents[1] / "search"))
from synthetic_source import SyntheticSource

from cnnpc.accuracy import TableRow, format_table, kept_of, read_table
from cnnpc.cli import main
from cnnpc.records import keep_key
from cnnpc.spaces import load_space
from cnnpc.storage import Storage

SPACE = load_space("mobilenet")
BUDGET = "epochs=3,seed=0,id=test"


def _url(tmp_path: Path, name: str = "a.db") -> str:
    return f"sqlite:///{tmp_path / name}"


def _synthetic_table(path: Path, configs: list[dict[str, float]]) -> Path:
    """A table whose accuracies come from the synthetic source's documented function."""
    acc = SyntheticSource().accuracy
    rows = [
        TableRow(kept_of(SPACE, c), acc(c), acc(c) - 0.005, 1.5, i)
        for i, c in enumerate(configs, 1)
    ]
    path.write_text(format_table("mobilenet", "synthetic", BUDGET, rows))
    return path


def _fill_cache(url: str) -> list[dict[str, float]]:
    storage = Storage(url)
    storage.upgrade()
    configs = [{}, {"block6": 0.5}, {"block10": 0.25, "block16": 0.125}, {"conv1": 0.875}]
    source = SyntheticSource()
    for i, config in enumerate(configs):
        m = source.measure(config)
        storage.put_cached_accuracy(CacheEntry(
            "mobilenet", "synthetic", BUDGET, keep_key(config), m.val_accuracy,
            m.test_accuracy, 10.0 + i, m.params, m.flops, m.origin,
        ))  # fmt: skip
    storage.close()
    return configs


def test_export_import_round_trip(tmp_path, capsys):
    configs = _fill_cache(_url(tmp_path))
    out = tmp_path / "acc.csv"
    args = ["accuracy", "export", "--model", "mobilenet", "--storage", _url(tmp_path)]
    assert main([*args, str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["rows"] == 4
    text = out.read_text()
    assert "block10=16;block16=20" in text  # kept channels, not fractions
    table = read_table(out)
    assert (table.model, table.workload, table.budget_key) == ("mobilenet", "synthetic", BUDGET)
    into = ["accuracy", "import", "--storage", _url(tmp_path, "b.db"), str(out), "--json"]
    assert main(into) == 0
    assert json.loads(capsys.readouterr().out)["added"] == 4
    assert main(into) == 0  # again: every row is already there, nothing changes
    assert json.loads(capsys.readouterr().out)["already_there"] == 4
    before = {c.config_key: c for c in Storage(_url(tmp_path)).accuracy_rows("mobilenet")}
    after = {c.config_key: c for c in Storage(_url(tmp_path, "b.db")).accuracy_rows("mobilenet")}
    assert set(before) == set(after) == {keep_key(c) for c in configs}
    for key, row in before.items():
        got = after[key]
        assert (got.val_accuracy, got.test_accuracy, got.finetune_seconds) == (
            row.val_accuracy,
            row.test_accuracy,
            row.finetune_seconds,
        )
        assert (got.workload, got.budget_key) == (row.workload, row.budget_key)


HEADER = "model,workload,budget_key,kept_channels,val_accuracy,test_accuracy,finetune_seconds\n"
GOOD = f'mobilenet,digits,"{BUDGET}",,0.95,0.94,1\n'


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (f'mobilenet,digits,"{BUDGET}",block99=3,0.9,0.9,1\n', "unknown candidate 'block99'"),
        (f'mobilenet,digits,"{BUDGET}",block1=17,0.9,0.9,1\n', "keeps 17 of 16 channels"),
        (f'mobilenet,digits,"{BUDGET}",block1=0,0.9,0.9,1\n', "must be 1..16"),
        (f'mobilenet,digits,"{BUDGET}",block1=8,1.2,0.9,1\n', "column val_accuracy"),
        (f'mobilenet,digits,"{BUDGET}",block1=8,0.9,-0.1,1\n', "column test_accuracy"),
        (f'mobilenet,digits,"{BUDGET}",,0.90,0.94,1\n', "row 1 has the same configuration"),
        (f'resnet,digits,"{BUDGET}",,0.9,0.9,1\n', "row 2, column model"),
        (f'mobilenet,flowers,"{BUDGET}",,0.9,0.9,1\n', "row 2, column workload"),
    ],
)
def test_bad_tables_exit_2_and_write_nothing(tmp_path, capsys, row, message):
    path = tmp_path / "bad.csv"
    path.write_text(HEADER + GOOD + row)
    db = tmp_path / "never.db"
    assert main(["accuracy", "import", "--storage", f"sqlite:///{db}", str(path)]) == 2
    err = capsys.readouterr().err
    assert message in err and str(path) in err and len(err.strip().splitlines()) == 1
    assert not db.exists()


def test_import_conflicting_with_the_database_writes_nothing(tmp_path, capsys):
    url = _url(tmp_path)
    _fill_cache(url)
    path = tmp_path / "t.csv"
    acc = SyntheticSource().accuracy
    path.write_text(
        HEADER
        + f'mobilenet,synthetic,"{BUDGET}",block1=4,0.5,0.5,1\n'  # new
        + f'mobilenet,synthetic,"{BUDGET}",block6=16,{acc({"block6": 0.5}) - 0.1},,\n'  # differs
    )
    assert main(["accuracy", "import", "--storage", url, str(path)]) == 2
    assert "already holds block6=0.5" in capsys.readouterr().err
    keys = {c.config_key for c in Storage(url).accuracy_rows("mobilenet")}
    assert "block1=0.25" not in keys  # the good row of the failed import is not there either


def test_search_on_a_table_never_fine_tunes(tmp_path, capsys, monkeypatch):
    import cnnpc.search as oracle

    monkeypatch.setattr(oracle, "oracle_source", lambda *a, **k: pytest.fail("would fine-tune"))
    configs = [{}] + [{"block10": f} for f in (0.125, 0.25, 0.5, 0.75)]
    configs += [{"block16": f} for f in (0.125, 0.5)]
    table = _synthetic_table(tmp_path / "t.csv", configs)
    args = ["search", "--model", "mobilenet", "--device", "MI8SE", "--bandwidth", "10"]
    # random draws from the rows only, each once, and stops when every row is tried (tpe too:
    # tests/search/test_table_sampling.py; exhaustive and cnnpc: tests/search/test_table_rows.py)
    args += ["--acc-floor", "0.93", "--strategy", "random", "--trials", "30"]
    args += ["--accuracy", f"table:{table}", "--storage", _url(tmp_path), "--json"]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["finetunes"] == 0 and out["trials"] == len(configs)
    assert out["message"] == (
        f"random search space exhausted: all {len(configs)} configurations of the table tried"
    )
    assert out["accuracy_table"]["unmeasured"] == 0
    storage = Storage(_url(tmp_path))
    trials = storage.list_trials(out["search_id"])
    assert not any(t.finetuned or (t.reason or "").startswith("unmeasured") for t in trials)
    acc = SyntheticSource().accuracy
    listed = {keep_key(c) for c in configs}
    feasible = [t for t in trials if t.state == "complete"]
    assert {keep_key(t.keep) for t in feasible} <= listed
    for t in feasible:
        assert t.val_accuracy == pytest.approx(acc(t.keep))
    best = out["best"]
    assert best["val_accuracy"] >= 0.93 and keep_key(best["keep"]) in listed
    # a sweep on the same table: its rows only, never a fine-tune
    sweep = ["sweep", "--model", "mobilenet", "--device", "MI8SE", "--bandwidth", "1,10,50"]
    sweep += ["--acc-floor", "0.93", "--accuracy", f"table:{table}"]
    assert main([*sweep, "--storage", _url(tmp_path), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["finetunes"] == 0 and result["accuracy_table"]["rows"] == len(configs)
    assert all(keep_key(_keep(p)) in listed for p in result["points"])


def _keep(point: dict) -> dict[str, float]:
    from cnnpc.records import parse_keep_key

    return parse_keep_key(point["best"]["config_key"])


def test_table_options_bad_input(tmp_path, capsys):
    table = _synthetic_table(tmp_path / "t.csv", [{}])
    base = ["search", "--model", "resnet", "--device", "MI8", "--bandwidth", "10"]
    base += ["--acc-floor", "0.9", "--storage", _url(tmp_path)]
    assert main([*base, "--accuracy", f"table:{table}"]) == 2
    assert "column model" in capsys.readouterr().err  # a mobilenet table for a resnet search
    for bad in (["--accuracy", "tabel:x.csv"], ["--keep-grid", "0.5,1.5"]):
        with pytest.raises(SystemExit) as exit_:
            main([*base, *bad])
        assert exit_.value.code == 2
    assert "(0, 1]" in capsys.readouterr().err
    assert not (tmp_path / "a.db").exists()


def test_export_needs_one_workload_and_budget(tmp_path, capsys):
    url = _url(tmp_path)
    _fill_cache(url)
    storage = Storage(url)
    storage.put_cached_accuracy(
        CacheEntry("mobilenet", "synthetic", "other-budget", "baseline", 0.9, 0.9, 1.0, 0, 0)
    )
    storage.close()
    out = tmp_path / "acc.csv"
    args = ["accuracy", "export", "--model", "mobilenet", "--storage", url, str(out)]
    assert main(args) == 2
    assert "--budget 'other-budget'" in capsys.readouterr().err and not out.exists()
    assert main([*args, "--budget", "other-budget"]) == 0
    assert read_table(out).budget_key == "other-budget" and len(read_table(out).rows) == 1
    assert main(["accuracy", "export", "--model", "resnet", "--storage", url, str(out)]) == 2
    assert "no measured accuracies for resnet" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["search", "sweep"])
@pytest.mark.parametrize("storage", [True, False])
def test_a_refused_table_creates_no_database(tmp_path, capsys, monkeypatch, command, storage):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CNNPC_STORAGE", raising=False)
    table = _synthetic_table(tmp_path / "t.csv", [{"block6": 0.5}])  # no unpruned row
    bandwidth = "10" if command == "search" else "1,10"
    args = [command, "--model", "mobilenet", "--device", "MI8SE", "--bandwidth", bandwidth]
    args += ["--acc-floor", "0.9", "--accuracy", f"table:{table}"]
    args += ["--storage", _url(tmp_path)] if storage else []
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "no row for the unpruned model" in err and err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.csv"]


def test_unreadable_tables_are_one_line_and_create_nothing(tmp_path, capsys, monkeypatch):
    """A field over the csv module's 128 KiB limit, a FIFO, a folder: one line, exit 2, no
    database, for import, search and sweep alike."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CNNPC_STORAGE", raising=False)
    huge = tmp_path / "huge.csv"
    huge.write_text(HEADER + GOOD + f'mobilenet,digits,"{"x" * 200_000}",,0.9,0.9,1\n')
    fifo = tmp_path / "fifo.csv"
    os.mkfifo(fifo)
    cases = [
        (huge, "field larger than field limit"),
        (fifo, "it is a FIFO"),
        (tmp_path, "a directory"),
    ]
    search = ["search", "--model", "mobilenet", "--device", "MI8", "--bandwidth", "10"]
    sweep = ["sweep", "--model", "mobilenet", "--device", "MI8", "--bandwidth", "1,10"]
    for path, message in cases:
        for argv in (
            ["accuracy", "import", str(path)],
            [*search, "--acc-floor", "0.9", "--accuracy", f"table:{path}"],
            [*sweep, "--acc-floor", "0.9", "--accuracy", f"table:{path}"],
        ):
            assert main(argv) == 2, argv
            err = capsys.readouterr().err
            assert message in err and err.count("\n") == 1 and "Traceback" not in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fifo.csv", "huge.csv"]


def test_cache_entries_read_the_space_once(tmp_path, monkeypatch):
    """Parsing the search space per row made importing 100,000 rows take minutes."""
    import cnnpc.accuracy._exchange as exchange
    from cnnpc.accuracy import cache_entries

    configs = [{}] + [{"block16": k / 160} for k in range(1, 60)]
    table = read_table(_synthetic_table(tmp_path / "t.csv", configs))
    calls = []
    monkeypatch.setattr(exchange, "load_space", lambda m: calls.append(m) or load_space(m))
    entries = cache_entries(table)
    assert calls == ["mobilenet"]
    assert [e.config_key for e in entries] == [keep_key(c) for c in configs]


def test_export_creates_no_database_and_checks_its_target_first(tmp_path, capsys):
    args = ["accuracy", "export", "--model", "mobilenet", "--storage", _url(tmp_path)]
    assert main([*args, str(tmp_path / "acc.csv")]) == 2
    assert "no cnnpc database at" in capsys.readouterr().err
    assert main([*args, str(tmp_path / "no" / "acc.csv")]) == 2
    err = capsys.readouterr().err
    assert "acc.csv: folder" in err and "does not exist" in err and err.count("\n") == 1
    assert sorted(tmp_path.iterdir()) == []
