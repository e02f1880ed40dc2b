from __future__ import annotations

import json

import pytest

from cnnpc.cli import main

BASE = ["search", "--model", "mobilenet", "--device", "MI8", "--bandwidth", "10"]


def test_search_json_and_history(tmp_path, synthetic, capsys):
    url = f"sqlite:///{tmp_path / 'r.db'}"
    args = [*BASE, "--acc-floor", "0.93", "--trials", "15", "--storage", url, "--json"]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    best = out["best"]
    for key in ("latency_ms", "accuracy", "splits", "keep"):
        assert key in best
    assert best["val_accuracy"] >= 0.93
    assert out["finetunes"] == len(synthetic.calls)
    assert out["search_id"] == 1
    # same command again: resumes, nothing new is fine-tuned
    assert main(args) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["search_id"] == 1 and len(synthetic.calls) == out["finetunes"]
    assert main(["show", "1", "--storage", url, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert json.dumps(shown)  # browsable
    assert main(["trials", "1", "--storage", url, "--feasible", "--csv"]) == 0
    assert capsys.readouterr().out.count("\n") >= 2


def test_search_human_output(tmp_path, synthetic, capsys):
    url = f"sqlite:///{tmp_path / 'r.db'}"
    assert main([*BASE, "--latency-budget", "60", "--trials", "8", "--storage", url]) == 0
    text = capsys.readouterr().out
    assert "best plan:" in text and "test split" in text and "cnnpc show 1" in text


def test_infeasible_floor_exits_0_with_message(tmp_path, synthetic, capsys):
    url = f"sqlite:///{tmp_path / 'r.db'}"
    assert main([*BASE, "--acc-floor", "0.999", "--storage", url]) == 0
    out = capsys.readouterr().out
    assert "infeasible" in out and "below the floor" in out


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--acc-floor", "1.5"], "argument --acc-floor: must be in (0, 1], got '1.5'"),
        (["--acc-floor", "0"], "argument --acc-floor: must be in (0, 1]"),
        (["--acc-floor", "nan"], "argument --acc-floor: must be in (0, 1]"),
        (["--acc-floor", "high"], "argument --acc-floor: 'high' is not a number"),
        (
            ["--latency-budget", "0"],
            "argument --latency-budget: must be a finite number >= 0.001 and <= 3.6e+06",
        ),
        (
            ["--latency-budget", "-5"],
            "argument --latency-budget: must be a finite number >= 0.001 and <= 3.6e+06",
        ),
        (["--acc-floor", "0.9", "--trials", "0"], "--trials: must be >= 1"),
        (["--acc-floor", "0.9", "--trials", "100000000000"], "--trials: must be <= 1000000"),
        (["--acc-floor", "0.9", "--timeout", "1e308"], "--timeout: must be in (0, 3.1536e+07]"),
        (["--acc-floor", "0.9", "--timeout", "0"], "--timeout: must be in (0,"),
        (["--acc-floor", "0.9", "--epochs", "100000"], "--epochs: must be <= 10000"),
        (["--acc-floor", "0.9", "--latency-budget", "5"], "not allowed with argument"),
        ([], "one of the arguments --acc-floor --latency-budget is required"),
    ],
)
def test_bad_input_exit_2(extra, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        raise SystemExit(main([*BASE, *extra, "--storage", f"sqlite:///{tmp_path / 'x.db'}"]))
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "x.db").exists()


def test_corrupt_database_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"this is not a database" * 100)
    code = main([*BASE, "--acc-floor", "0.9", "--storage", f"sqlite:///{bad}"])
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert bad.read_bytes() == b"this is not a database" * 100


def test_negative_seed_exit_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(
            [
                *BASE,
                "--acc-floor",
                "0.9",
                "--seed",
                "-1",
                "--storage",
                f"sqlite:///{tmp_path / 'x.db'}",
            ]
        )
    assert exc.value.code == 2
    assert "--seed: must be >= 0" in capsys.readouterr().err
    assert not (tmp_path / "x.db").exists()


@pytest.mark.parametrize("command", ["search", "sweep"])
def test_a_source_that_refuses_leaves_no_database(command, tmp_path, capsys, monkeypatch):
    """The model and its weights are checked when the accuracy source opens (a bad --weights
    file, say): that happens before a new database is created, with or without --storage."""
    import cnnpc.search as mod
    from cnnpc.errors import InputError

    def refuse(*args, **kwargs):
        raise InputError("--weights bad.h5: not a readable HDF5 file")

    monkeypatch.setattr(mod, "oracle_source", refuse)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CNNPC_STORAGE", raising=False)
    bandwidth = "10" if command == "search" else "1,10"
    args = [command, "--model", "mobilenet", "--device", "MI8", "--bandwidth", bandwidth]
    args += ["--acc-floor", "0.9"]
    for extra in ([], ["--storage", f"sqlite:///{tmp_path / 'sub' / 'x.db'}"]):
        assert main([*args, *extra]) == 2
        err = capsys.readouterr().err
        assert "not a readable HDF5 file" in err and err.count("\n") == 1
        assert list(tmp_path.iterdir()) == []
    bad = ["--storage", f"sqlite:///{tmp_path / 'file' / 'x.db'}"]
    (tmp_path / "file").write_text("")  # the database's folder is a file: refused before
    assert main([*args, *bad]) == 2
    assert "not a folder" in capsys.readouterr().err
