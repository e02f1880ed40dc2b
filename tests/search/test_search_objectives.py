"""`search --objective energy|throughput|pareto`: each configuration runs the objective's plan
(`Planner.choose`), and an exhaustive search on an accuracy table returns the brute-force optimum
over its rows; a pareto search stores Optuna's front (non-dominated), `show` lists it and draws
it; a database from an earlier release still loads and reads as latency searches."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pytest
from synthetic_source import SyntheticSource

from cnnpc.accuracy import TableRow, TableSource, format_table, kept_of, read_table
from cnnpc.cli import main
from cnnpc.errors import InfeasibleError, InputError
from cnnpc.profiles import PROFILES_ENV
from cnnpc.records import KeepConfig
from cnnpc.search import SearchObjective, SearchSettings, run_search, split_aware_grid
from cnnpc.spaces import load_space
from cnnpc.storage import Storage, study_front

SPACE = load_space("mobilenet")
FLOOR = 0.9
BASE = {"model": "mobilenet", "device": "MI8", "bandwidth_mbps": 10.0, "acc_floor": FLOOR}
IMPORT = ["profile", "import", "--model", "mobilenet", "--device", "MI8"]
RELEASE_DB = Path(__file__).parents[1] / "storage" / "data" / "release_0003.db"


@pytest.fixture
def root(tmp_path, monkeypatch):
    """A user profile root: the shipped MI8 profile has no power figures until given here."""
    monkeypatch.setenv(PROFILES_ENV, str(tmp_path / "profiles"))
    return tmp_path / "profiles"


@pytest.fixture
def powered(root, capsys):
    args = [*IMPORT, "--power", "end=compute:2.5,idle:0.3", "--radio", "wifi", "lte", "--json"]
    assert main(args) == 0
    capsys.readouterr()
    return root


def _table(path: Path, seed: int, n: int = 40) -> Path:
    """A table of `n` grid configurations (the unpruned model first), synthetic accuracies with
    seeded noise."""
    configs = random.Random(seed).sample(list(split_aware_grid(SPACE))[1:], n)
    acc, rng = SyntheticSource().accuracy, random.Random(seed)
    rows, seen = [], set()
    for config in [{}, *configs]:
        kept = kept_of(SPACE, config)
        if kept in seen:
            continue
        seen.add(kept)
        a = min(1.0, max(0.0, acc(config) + (rng.uniform(-0.03, 0.03) if config else 0.0)))
        rows.append(TableRow(kept, a, a - 0.005, 1.0, len(rows) + 1))
    path.write_text(format_table("mobilenet", "synthetic", "objective-test", rows))
    return path


def _brute_force(settings: SearchSettings, path: Path) -> float:
    """The least value over the table's rows above the floor, each row's plan chosen by brute
    force over its layouts (`Planner.choose` is itself checked against brute force)."""
    planner, goal = settings.planner(), settings.objective
    best = []
    for row in read_table(path, model="mobilenet").rows:
        if row.val_accuracy < FLOOR:
            continue
        keep = KeepConfig.from_fractions(SPACE, row.config(SPACE))
        try:
            plan = planner.choose(keep, goal.objective, budget_ms=goal.budget_ms)
        except InfeasibleError:
            continue  # no layout of this row meets the budget
        best.append(plan.objective_value(goal.objective))
    return min(best)


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize(
    "goal",
    [SearchObjective("energy"), SearchObjective("throughput"), SearchObjective("energy", 47.0)],
    ids=["energy", "throughput", "energy-within-47ms"],
)
def test_exhaustive_on_a_table_is_the_brute_force_optimum(tmp_path, powered, seed, goal):
    path = _table(tmp_path / "t.csv", seed)
    settings = SearchSettings(**BASE, strategy="exhaustive", trials=1000, objective=goal)
    storage = Storage(f"sqlite:///{tmp_path / 'r.db'}")
    result = run_search(settings, TableSource(read_table(path, model="mobilenet")), storage)
    best = storage.best_trial(result.search_id)
    assert best is not None and result.best is not None
    assert goal.trial_value(best.plan) == pytest.approx(_brute_force(settings, path), rel=1e-12)
    assert best.val_accuracy >= FLOOR and result.exactness is not None and result.exactness.proven
    if goal.budget_ms is not None:
        assert result.best.latency_ms <= goal.budget_ms
    fastest = SearchSettings(**BASE, strategy="exhaustive", trials=1000)
    plain = run_search(fastest, TableSource(read_table(path, model="mobilenet")), storage)
    assert plain.search_id != result.search_id  # the objective tells searches apart
    assert storage.get_search(result.search_id).extra["objective"] == goal.objective
    assert "objective" not in storage.get_search(plain.search_id).extra
    if goal.objective == "energy":  # every plan of a profile with figures has its energy
        assert plain.best is not None and plain.best.energy_mj is not None
        assert result.best.energy_mj is not None
        assert result.best.energy_mj <= plain.best.energy_mj + 1e-9


def test_objective_cli_json_show_and_resume(tmp_path, powered, capsys):
    path = _table(tmp_path / "t.csv", 3)
    url = f"sqlite:///{tmp_path / 'r.db'}"
    args = ["search", "--model", "mobilenet", "--device", "MI8", "--bandwidth", "10"]
    args += ["--accuracy", f"table:{path}", "--acc-floor", str(FLOOR), "--strategy"]
    args += ["exhaustive", "--trials", "500", "--storage", url, "--objective", "energy"]
    args += ["--latency-budget", "60", "--radio", "lte", "--json"]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["objective"] == {
        "objective": "energy",
        "latency_budget_ms": 60.0,
        "min_fps": None,
        "radio": "lte",
    }
    assert out["best"]["energy_mj"] > 0 and out["best"]["latency_ms"] <= 60.0
    assert main(args) == 0  # the same command resumes the same search
    assert json.loads(capsys.readouterr().out)["search_id"] == out["search_id"]
    assert main(args[:-1]) == 0
    assert "objective: the least phone energy, latency within 60 ms, radio lte" in (
        capsys.readouterr().out
    )
    assert main(["show", str(out["search_id"]), "--storage", url]) == 0
    text = capsys.readouterr().out
    assert "objective: min phone energy, val acc >= 0.9, latency <= 60 ms, radio lte" in text
    assert main(["show", str(out["search_id"]), "--storage", url, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["search"]["extra"]["objective"] == "energy" and "front" not in shown


def _dominates(a: tuple[float, float, float], b: tuple[float, float, float]) -> bool:
    """a is no worse than b on (latency, energy, -accuracy) and better on one."""
    return all(x <= y for x, y in zip(a, b, strict=True)) and a != b


def test_a_pareto_search_stores_lists_and_draws_its_front(tmp_path, powered, capsys):
    path = _table(tmp_path / "t.csv", 4, n=60)
    url = f"sqlite:///{tmp_path / 'r.db'}"
    args = ["search", "--model", "mobilenet", "--device", "MI8", "--bandwidth", "10"]
    args += ["--accuracy", f"table:{path}", "--acc-floor", "0.5", "--strategy", "exhaustive"]
    args += ["--trials", "500", "--storage", url, "--objective", "pareto", "--json"]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    storage = Storage(url)
    front = study_front(storage, out["search_id"])
    assert [t.optuna_number for t in front] == [p["trial"] for p in out["front"]]
    assert len(front) >= 3

    def point(t):
        return (t.latency_ms, t.plan["energy_mj"], -t.val_accuracy)

    done = [
        t for t in storage.list_trials(out["search_id"]) if t.state == "complete" and t.feasible
    ]
    on_front = {point(t) for t in front}
    assert len(on_front) == len(front)  # each point once
    for t in front:  # nothing measured beats a point of the front on all three
        assert not any(_dominates(point(u), point(t)) for u in done)
    for t in done:  # and every other feasible trial is beaten by, or equal to, one on it
        assert point(t) in on_front or any(_dominates(p, point(t)) for p in on_front)
    assert all(p["energy_mj"] > 0 for p in out["front"])
    png, xlsx = tmp_path / "front.png", tmp_path / "front.xlsx"
    show = ["show", str(out["search_id"]), "--storage", url]
    assert main([*show, "--png", str(png)]) == 0
    text = capsys.readouterr().out
    assert f"Optuna's front ({len(front)} trials" in text and "phone mJ" in text
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main([*show, "--json"]) == 0
    assert [p["optuna_number"] for p in json.loads(capsys.readouterr().out)["front"]] == [
        t.optuna_number for t in front
    ]
    assert main(["export", str(out["search_id"]), "--storage", url, "--xlsx", str(xlsx)]) == 0
    from openpyxl import load_workbook

    sheet = load_workbook(xlsx)["Front"]
    header = [c.value for c in sheet[1]]
    assert "energy mj" in header and sheet.max_row == len(front) + 1


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--objective", "energy", "--acc-floor", "0.9"], "lacks compute W, idle W"),
        (["--objective", "pareto", "--acc-floor", "0.9"], "lacks compute W, idle W"),
        (["--objective", "energy", "--latency-budget", "50"], "searches under --acc-floor"),
        (["--objective", "pareto", "--acc-floor", "0.9", "--fps", "5"], "--fps is not supported"),
        (["--objective", "throughput", "--acc-floor", "0.9", "--strategy", "cnnpc"], "cnnpc"),
        (["--objective", "power", "--acc-floor", "0.9"], "invalid choice"),
        (["--acc-floor", "0.9", "--latency-budget", "5"], "not allowed with argument"),
    ],
)
def test_bad_input_is_one_line_exit_2(tmp_path, root, capsys, extra, message):
    args = ["search", "--model", "mobilenet", "--device", "MI8", "--bandwidth", "10"]
    args += ["--storage", f"sqlite:///{tmp_path / 'x.db'}", *extra]
    with pytest.raises(SystemExit) as info:
        raise SystemExit(main(args))
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "x.db").exists()


def test_objective_records_nothing_for_latency_alone():
    assert SearchObjective().stored() == {} and SearchObjective().plain
    goal = SearchObjective("throughput", 40.0, 20.0, "wifi")
    assert SearchObjective.from_stored(goal.stored()) == goal
    with pytest.raises(InputError, match="unknown objective"):
        SearchObjective("power")


def test_an_earlier_release_database_loads_as_latency_searches(tmp_path, powered, capsys):
    path = tmp_path / "old.db"
    shutil.copyfile(RELEASE_DB, path)
    url = f"sqlite:///{path}"
    assert main(["db", "upgrade", "--storage", url]) == 0
    capsys.readouterr()
    storage = Storage(url)
    for search in storage.list_searches():
        assert SearchObjective.from_stored(search.extra).plain
        assert study_front(storage, search.id) == []
    assert main(["show", "1", "--storage", url]) == 0
    text = capsys.readouterr().out
    assert "objective: min latency" in text and "Optuna's front" not in text
    table = _table(tmp_path / "t.csv", 5)  # a pareto search beside them in the old database
    pareto = SearchObjective("pareto")
    settings = SearchSettings(
        **BASE | {"acc_floor": 0.5}, strategy="random", trials=6, objective=pareto
    )
    result = run_search(settings, TableSource(read_table(table, model="mobilenet")), storage)
    assert result.front and all(p.energy_mj is not None for p in result.front)
