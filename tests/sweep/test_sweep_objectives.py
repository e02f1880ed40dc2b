"""`sweep --objective energy|throughput`: at every bandwidth the best plan is the brute-force
optimum of the objective over the accuracy table's rows above the floor, and the report says
where it changes (no latency crossover: the objective is no line of the bandwidth)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from cnnpc.accuracy import TableRow, format_table, kept_of, read_table
from cnnpc.cli import main
from cnnpc.errors import InfeasibleError
from cnnpc.planner import planner_for
from cnnpc.profiles import PROFILES_ENV
from cnnpc.records import KeepConfig
from cnnpc.search import split_aware_grid
from cnnpc.spaces import load_space

SPACE = load_space("mobilenet")
FLOOR = 0.9
GRID = (1.0, 5.0, 20.0, 50.0)


@pytest.fixture
def powered(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(PROFILES_ENV, str(tmp_path / "profiles"))
    args = ["profile", "import", "--model", "mobilenet", "--device", "MI8", "--json"]
    assert main([*args, "--power", "end=compute:2.5,idle:0.3", "--radio", "lte", "wifi"]) == 0
    capsys.readouterr()


def _table(path: Path, seed: int) -> Path:
    configs = random.Random(seed).sample(list(split_aware_grid(SPACE))[1:], 50)
    rng = random.Random(seed)
    rows, seen = [], set()
    for config in [{}, *configs]:
        kept = kept_of(SPACE, config)
        if kept not in seen:
            seen.add(kept)
            a = 0.97 - 0.1 * rng.random() * bool(config)
            rows.append(TableRow(kept, a, a - 0.005, 1.0, len(rows) + 1))
    path.write_text(format_table("mobilenet", "synthetic", "sweep-objective", rows))
    return path


def _brute_force(path: Path, bandwidth: float, objective: str, budget: float | None) -> float:
    planner = planner_for(
        "mobilenet", "MI8", bandwidth_mbps=bandwidth, throughput=objective == "throughput"
    )
    values = []
    for row in read_table(path, model="mobilenet").rows:
        if row.val_accuracy < FLOOR:
            continue
        keep = KeepConfig.from_fractions(SPACE, row.config(SPACE))
        try:
            plan = planner.choose(keep, objective, budget_ms=budget)
        except InfeasibleError:
            continue
        values.append(plan.objective_value(objective))
    return min(values)


@pytest.mark.parametrize(
    ("objective", "budget"), [("energy", None), ("throughput", None), ("energy", 48.0)]
)
def test_each_point_is_the_brute_force_optimum(tmp_path, powered, capsys, objective, budget):
    path = _table(tmp_path / "t.csv", 7)
    args = ["sweep", "--model", "mobilenet", "--device", "MI8", "--acc-floor", str(FLOOR)]
    args += ["--bandwidth", ",".join(f"{b:g}" for b in GRID), "--accuracy", f"table:{path}"]
    args += ["--storage", f"sqlite:///{tmp_path / 'r.db'}", "--objective", objective]
    args += [] if budget is None else ["--latency-budget", f"{budget:g}"]
    assert main([*args, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["objective"]["objective"] == objective
    for point in report["points"]:
        best = point["best"]
        wanted = _brute_force(path, point["bandwidth_mbps"], objective, budget)
        assert best["value"] == pytest.approx(wanted, rel=1e-12)
        assert best["val_accuracy"] >= FLOOR and best["energy_mj"] > 0
        if budget is not None:
            assert best["latency_ms"] <= budget
    assert all(t["crossover_mbps"] is None for t in report["thresholds"])
    assert all(r["max_ms"] >= 0 for r in report["regret"])
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "objective: the " in text and ("phone mJ" in text or "frames/s" in text)


def test_a_plain_sweep_reports_no_objective(tmp_path, capsys):
    path = _table(tmp_path / "t.csv", 8)
    args = ["sweep", "--model", "mobilenet", "--device", "MI8", "--acc-floor", str(FLOOR)]
    args += ["--bandwidth", "1,10", "--accuracy", f"table:{path}", "--json"]
    assert main([*args, "--storage", f"sqlite:///{tmp_path / 'r.db'}"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert "objective" not in report
    assert all("value" not in p["best"] and "energy_mj" not in p["best"] for p in report["points"])


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--objective", "energy"], "lacks compute W, idle W"),
        (["--objective", "pareto"], "invalid choice"),
        (["--latency-budget", "40"], "bounds the plans of --objective energy or throughput"),
    ],
)
def test_bad_input_is_one_line_exit_2(tmp_path, monkeypatch, capsys, extra, message):
    monkeypatch.setenv(PROFILES_ENV, str(tmp_path / "profiles"))
    args = ["sweep", "--model", "mobilenet", "--device", "MI8", "--acc-floor", "0.9"]
    args += ["--bandwidth", "1,10", "--storage", f"sqlite:///{tmp_path / 'x.db'}", *extra]
    with pytest.raises(SystemExit) as info:
        raise SystemExit(main(args))
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "x.db").exists()
