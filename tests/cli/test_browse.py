from __future__ import annotations

import csv
import io
import json

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
    (tmp_path / "results").mkdir()
    with Storage("sqlite:///results/cnnpc.db") as storage:
        ids = [
            populate(storage).id,
            populate(storage, mode="latency_budget", target=45.0, bandwidth_mbps=1.0).id,
            storage.get_or_create_search(spec(seed=7)).id,
        ]
        storage.set_search_status(ids[2], "infeasible", "floor above the baseline")
    return ids


def test_searches_table(main, searches, capsys):
    assert main(["searches"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == [
        "id", "model", "device", "Mbps", "up/bw", "target", "strategy", "status", "trials",
        "finetunes", "best", "ms", "best", "acc", "%", "created", "(UTC)",
    ]  # fmt: skip
    assert len(lines) == 2 + 3
    first = lines[2].split()
    assert first[:6] == ["1", "mobilenet", "MI8", "20/10", "acc", ">="]
    assert first[6:13] == ["0.896", "tpe", "running", "8", "3", "40.00", "90.00"]
    second = lines[3].split()
    assert second[3:7] == ["20/1", "lat", "<=", "45"] and second[10:14] == [
        "8",
        "3",
        "45.00",
        "93.00",
    ]
    assert lines[4].split()[7:13] == ["tpe", "infeasible", "0", "0", "-", "-"]


def test_searches_json_and_csv(main, searches, capsys):
    assert main(["searches", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [d["search"]["id"] for d in data] == searches
    assert data[0]["trials"] == 8 and data[0]["finetunes"] == 3
    assert data[0]["best"]["optuna_number"] == 1 and data[0]["best"]["latency_ms"] == 40.0
    assert data[2]["best"] is None and data[2]["search"]["message"] == "floor above the baseline"

    assert main(["searches", "--csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["search"] for r in rows] == ["1", "2", "3"]
    assert rows[1]["best_trial"] == "4" and rows[1]["best_val_accuracy"] == "0.93"
    assert rows[2]["best_latency_ms"] == "" and rows[2]["status"] == "infeasible"
    assert rows[0]["finetune_seconds"] == "7.5"

    with pytest.raises(SystemExit):
        main(["searches", "--json", "--csv"])


def test_searches_with_no_database_yet(main, tmp_path, capsys):
    assert main(["searches"]) == 0
    assert capsys.readouterr().out == "no searches in sqlite:///results/cnnpc.db\n"
    assert main(["searches", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert not (tmp_path / "results").exists()


def test_trials_table_and_options(main, searches, capsys):
    assert main(["trials", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 + 8
    assert lines[2].split()[:6] == ["0", "complete", "yes", "50.00", "91.00", "90.00"]
    assert "surrogate: predicted 0.800 < floor 0.896" in lines[5]

    assert main(["trials", "cnnpc-1", "--feasible", "--sort", "latency", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [t["optuna_number"] for t in data] == [1, 6, 4, 0]
    assert data[0]["keep"] == {"block1": 0.5} and data[0]["splits"] == ["block10"]
    assert data[0]["duration_s"] == 30.0

    assert main(["trials", "1", "--sort", "accuracy", "--limit", "2", "--csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(r["trial"], r["val_accuracy"]) for r in rows] == [("4", "0.93"), ("0", "0.91")]
    assert rows[0]["started_at"] == "2025-11-24T12:04:00+00:00"

    assert main(["trials", "3"]) == 0
    assert capsys.readouterr().out == "search 3 has no trials yet\n"


@pytest.mark.parametrize(
    "argv", [["trials", "0"], ["trials", "x"], ["trials", "1", "--limit", "0"], ["show"]]
)
def test_bad_arguments_exit_2(main, searches, argv, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert capsys.readouterr().err.count("\n") == 1


@pytest.mark.parametrize("command", ["trials", "show"])
def test_unknown_search_is_one_line_exit_2(main, searches, command, capsys):
    assert main([command, "42"]) == 2
    assert capsys.readouterr().err == (
        f"cnnpc {command}: error: no search with id 42 (see 'cnnpc searches')\n"
    )


def test_show_text(main, searches, capsys):
    assert main(["show", "1"]) == 0
    out = capsys.readouterr().out
    assert "search 1 (cnnpc-1): mobilenet on MI8, workload digits" in out
    assert "objective: min latency, val acc >= 0.896; strategy tpe, seed 0" in out
    assert (
        "spend: 8 trials (5 complete, 1 pruned, 1 failed, 1 running), 3 fine-tunes, "
        "7.5 s fine-tuning"
    ) in out
    assert "best plan (trial 1): 40.00 ms, end -> edge, split after: block10" in out
    assert "  keep: block1=0.5\n" in out
    assert "  accuracy: validation 90.00%, test 89.00%" in out
    assert "  speedup_vs_best_single_tier: 2\n" in out
    assert "Pareto front (3 trials, latency vs validation accuracy):" in out
    pareto = out.split("Pareto front")[1].splitlines()[3:]
    assert [line.split()[0] for line in pareto] == ["2", "1", "4"]

    assert main(["show", "3"]) == 0
    out = capsys.readouterr().out
    assert "status: infeasible (floor above the baseline)" in out
    assert "best plan: none feasible yet" in out


def test_show_json(main, searches, capsys):
    assert main(["show", "2", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["search"]["mode"] == "latency_budget"
    assert data["spend"]["finetunes"] == 3 and data["spend"]["finetune_seconds"] == 7.5
    assert data["best_plan"]["trial_number"] == 1  # the stored best plan wins
    assert data["best"]["optuna_number"] == 1
    assert [t["optuna_number"] for t in data["pareto"]] == [2, 1, 4]


def test_show_compares_with_the_baselines(main, searches, capsys):
    """The baselines are re-priced from the stored settings (mobilenet, MI8, 20/10 Mbps)."""
    from cnnpc.planner import planner_for

    assert main(["show", "1", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    bars = {b["label"]: b for b in data["overview"]["bars"]}
    planner = planner_for("mobilenet", "MI8", bandwidth_mbps=10.0, uplink_mbps=20.0)
    base = planner.baselines()
    assert bars["end only"]["latency_ms"] == pytest.approx(base["end_only"].latency_ms)
    assert bars["cloud only"]["latency_ms"] == pytest.approx(base["cloud_only"].latency_ms)
    assert bars["best uncompressed"]["latency_ms"] == pytest.approx(planner.best().latency_ms)
    assert bars["best plan"]["latency_ms"] == pytest.approx(40.0)
    lines = data["overview"]["lines"]
    assert lines["Layout"] == "end: input..block10 \u2192 edge: rest"
    assert lines["Keep"] == "block1=0.5" and lines["Kept channels"] == "block1 8/16"
    assert lines["Speedup vs best single tier"] == pytest.approx(base["end_only"].latency_ms / 40.0)

    assert main(["show", "1"]) == 0
    out = capsys.readouterr().out
    assert "  layout: end: input..block10 \u2192 edge: rest\n" in out
    table = out.split("best plan vs baselines:\n")[1].splitlines()
    assert [row.split("  ")[0] for row in table[2:8]] == [
        "best plan", "end only", "edge only", "cloud only", "best single split",
        "best uncompressed",
    ]  # fmt: skip


def test_show_png(main, searches, tmp_path, capsys):
    assert main(["show", "1", "--png", "one.png"]) == 0
    assert capsys.readouterr().out.endswith("\nwrote one.png\n")
    data = (tmp_path / "one.png").read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 20_000
    assert main(["show", "2", "--png", "two.png", "--json"]) == 0  # budget search; JSON intact
    assert json.loads(capsys.readouterr().out)["search"]["mode"] == "latency_budget"
    assert (tmp_path / "two.png").stat().st_size > 20_000
    assert main(["show", "3", "--png", "three.png"]) == 0  # nothing feasible: still a picture
    assert (tmp_path / "three.png").exists()


def test_show_png_bad_path_is_one_line(main, searches, tmp_path, capsys):
    before = sorted(p.name for p in tmp_path.iterdir())
    assert main(["show", "1", "--png", "no/such/dir/x.png"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("cnnpc show: error: cannot write no/such/dir") and err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == before
