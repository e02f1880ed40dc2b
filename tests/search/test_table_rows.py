"""A search on an accuracy table draws from its rows: exhaustive prices every row and returns the
exact optimum over them (brute force here) with at most one trial per row; an exhaustive search
stopped before it proved its answer says so (message, --json, show)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from synthetic_source import SyntheticSource

from cnnpc.accuracy import TableRow, TableSource, format_table, kept_of, read_table
from cnnpc.cli import main
from cnnpc.records import KeepConfig, keep_key
from cnnpc.search import SearchSettings, normalise, run_search, split_aware_grid
from cnnpc.spaces import load_space

SPACE = load_space("mobilenet")
FLOOR = 0.93
BASE = {"model": "mobilenet", "device": "MI8SE", "bandwidth_mbps": 10.0}


def _write(path: Path, configs: list[dict[str, float]], noise: int | None = None) -> Path:
    """A table of `configs` (the unpruned model added), accuracies from the synthetic source's
    function, plus uniform noise of +/- 0.03 seeded by `noise` (None: none)."""
    acc = SyntheticSource().accuracy
    rng = random.Random(noise)
    rows, seen = [], set()
    for config in [{}, *configs]:
        kept = kept_of(SPACE, config)
        if kept in seen:
            continue
        seen.add(kept)
        a = acc(config) + (0.0 if noise is None or not config else rng.uniform(-0.03, 0.03))
        a = min(1.0, max(0.0, a))
        rows.append(TableRow(kept, a, a - 0.005, 1.0, len(rows) + 1))
    path.write_text(format_table("mobilenet", "synthetic", "table-test", rows))
    return path


def _source(path: Path) -> TableSource:
    return TableSource(read_table(path, model="mobilenet"))


def _settings(**kw: object) -> SearchSettings:
    return SearchSettings(**(BASE | {"acc_floor": FLOOR, "strategy": "exhaustive"} | kw))


def _latency(settings: SearchSettings, row: TableRow) -> float:
    planner = settings.planner()
    space = planner.profile.space
    return planner.best(KeepConfig.from_fractions(space, row.config(space))).latency_ms


def _brute_force(settings: SearchSettings, path: Path) -> float:
    """The table's optimum: the fastest row meeting the floor, each row priced as it is."""
    table = read_table(path, model="mobilenet")
    return min(_latency(settings, r) for r in table.rows if r.val_accuracy >= FLOOR)


def _sample(n: int, seed: int, grid: object = None) -> list[dict[str, float]]:
    configs = list(split_aware_grid(SPACE.with_keep_grid(grid)))  # type: ignore[arg-type]
    return random.Random(seed).sample(configs[1:], n)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("grid", [None, "channels"])
def test_exhaustive_on_a_table_is_the_exact_optimum_over_its_rows(tmp_path, storage, seed, grid):
    path = _write(tmp_path / "t.csv", _sample(40, seed, grid), noise=seed)
    settings = _settings(trials=1000, keep_grid=grid)
    source = _source(path)
    result = run_search(settings, source, storage)
    n_rows = len(read_table(path).rows)
    assert result.best is not None
    assert result.best.latency_ms == pytest.approx(_brute_force(settings, path))
    assert result.trials <= n_rows and source.asked <= n_rows and source.missing == 0
    exact = result.exactness
    assert exact is not None and exact.proven and exact.pending == 0
    assert exact.table_rows == n_rows and exact.off_grid == 0 and exact.candidates == n_rows
    assert result.message == "exhaustive search space exhausted"
    # the rows faster than the optimum are read below the floor, not tried: two trials
    faster = [r for r in read_table(path).rows if _latency(settings, r) < result.best.latency_ms]
    assert exact.below_floor == len(faster) and result.trials <= 2
    # every trial is a row, asked as it is (never reduced to a configuration the table lacks)
    keys = {keep_key(r.config(SPACE)) for r in read_table(path).rows}
    assert {keep_key(t.keep) for t in storage.list_trials(result.search_id)} <= keys


def test_under_a_latency_budget_the_most_accurate_row_within_it(tmp_path, storage):
    path = _write(tmp_path / "t.csv", _sample(40, 5), noise=5)
    settings = _settings(acc_floor=None, latency_budget_ms=70.0, trials=1000)
    source = _source(path)
    result = run_search(settings, source, storage)
    table = read_table(path)
    within = [r for r in table.rows if _latency(settings, r) <= 70.0]
    assert result.best is not None
    assert result.best.val_accuracy == pytest.approx(max(r.val_accuracy for r in within))
    assert source.asked <= len(within) and result.trials <= len(within) + 1  # + the unpruned
    assert result.exactness is not None and result.exactness.proven
    assert result.exactness.faster_lacking is None  # counted under a floor only


def test_faster_configurations_the_table_lacks_are_counted_not_tried(tmp_path, storage):
    """A complete table of the eighths grid lacks nothing; drop k configurations faster than
    its optimum and exactly those k are counted as lacking, none of them asked."""
    settings = _settings(trials=1000, acc_floor=0.8)  # about 100 rows faster than the optimum
    planner = settings.planner()
    grid = list(split_aware_grid(SPACE))
    full = _write(tmp_path / "full.csv", grid)
    first = run_search(settings, _source(full), storage)
    assert first.exactness is not None and first.exactness.faster_lacking == 0
    assert first.best is not None
    optimum = first.best.latency_ms
    faster = [
        c
        for c in grid[1:]
        if normalise(planner, c)[0] == c
        and planner.best(KeepConfig.from_fractions(SPACE, c)).latency_ms < optimum
    ]
    dropped = random.Random(0).sample(faster, 5)
    kept = [c for c in grid if c not in dropped]
    part = _write(tmp_path / "part.csv", kept)
    source = _source(part)
    second = run_search(settings, source, storage)
    assert second.exactness is not None and second.exactness.faster_lacking == 5
    assert second.best is not None and second.best.latency_ms == pytest.approx(optimum)
    assert source.missing == 0 and second.trials == first.trials == 2  # unpruned, optimum
    assert second.exactness.below_floor == first.exactness.below_floor - 5


def test_rows_off_a_fraction_grid_are_counted_and_not_searched(tmp_path, storage):
    # block6 keeps 17 of 32: not an eighth, a configuration of the channel grid only
    configs = [{"block6": 17 / 32}, {"block6": 0.5}, {"block10": 0.25}]
    path = _write(tmp_path / "t.csv", configs)
    source = _source(path)
    result = run_search(_settings(trials=100, acc_floor=0.5), source, storage)
    assert result.exactness is not None and result.exactness.off_grid == 1
    assert result.exactness.table_rows == 3  # the unpruned model and two eighths
    asked = {keep_key(t.keep) for t in storage.list_trials(result.search_id)}
    assert keep_key({"block6": 17 / 32}) not in asked
    on_channels = run_search(_settings(trials=100, acc_floor=0.5, keep_grid="channels"),
                             _source(path), storage)  # fmt: skip
    assert on_channels.exactness is not None and on_channels.exactness.off_grid == 0
    assert on_channels.exactness.table_rows == 4


def test_cnnpc_on_a_table_asks_only_its_rows(tmp_path, storage):
    path = _write(tmp_path / "t.csv", _sample(60, 3), noise=3)
    source = _source(path)
    result = run_search(_settings(strategy="cnnpc", trials=500), source, storage)
    assert source.asked > 0 and source.missing == 0
    keys = {keep_key(r.config(SPACE)) for r in read_table(path).rows}
    assert {keep_key(t.keep) for t in storage.list_trials(result.search_id)} <= keys


def test_an_exhaustive_search_cut_short_says_so(tmp_path, storage):
    """On a table and on the grid: stopped at --trials with faster configurations untried, the
    result is not proven, and the message (stored with the search) says so and how many."""
    path = _write(tmp_path / "t.csv", _sample(40, 0), noise=0)
    settings = _settings(trials=1)  # trial 0, the unpruned model, and no more
    cut = run_search(settings, _source(path), storage)
    assert cut.exactness is not None and not cut.exactness.proven
    pending = cut.exactness.pending
    assert pending > 0 and cut.message is not None
    assert cut.message.startswith("not proven optimal: exhaustive stopped by --trials 1 with ")
    assert f"--trials {1 + pending} proves it" in cut.message
    assert storage.get_search(cut.search_id).message == cut.message
    done = run_search(_settings(trials=1 + pending), _source(path), storage)  # resumed
    assert done.search_id == cut.search_id and done.exactness is not None
    assert done.exactness.proven and done.message == "exhaustive search space exhausted"
    assert done.best is not None
    assert done.best.latency_ms == pytest.approx(_brute_force(settings, path))
    grid = run_search(_settings(trials=4), SyntheticSource(), storage)  # no table: the grid's
    assert grid.exactness is not None and not grid.exactness.proven
    assert grid.exactness.table_rows is None and grid.exactness.faster_lacking is None
    assert grid.message is not None and grid.message.startswith("not proven optimal")


def test_cut_short_in_search_text_json_and_show(tmp_path, capsys, monkeypatch):
    import cnnpc.search as oracle

    monkeypatch.setattr(oracle, "oracle_source", lambda *a, **k: pytest.fail("would fine-tune"))
    path = _write(tmp_path / "t.csv", _sample(40, 0), noise=0)
    url = f"sqlite:///{tmp_path / 'a.db'}"
    args = ["search", "--model", "mobilenet", "--device", "MI8SE", "--bandwidth", "10"]
    args += ["--acc-floor", str(FLOOR), "--strategy", "exhaustive", "--trials", "1"]
    args += ["--accuracy", f"table:{path}", "--storage", url]
    assert main([*args, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["exhaustive"]["proven"] is False and out["exhaustive"]["pending"] > 0
    assert out["message"].startswith("not proven optimal")
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "(not proven optimal: exhaustive stopped by --trials 1" in text
    assert "exhaustive: NOT proven optimal over the table's" in text
    assert main(["show", str(out["search_id"]), "--storage", url]) == 0
    assert "not proven optimal" in capsys.readouterr().out
    assert main(["show", str(out["search_id"]), "--storage", url, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["search"]["message"].startswith("not proven optimal")
    # to its end: proven, and the faster grid configurations the table lacks are counted
    assert main([*args[:-6], "--trials", "1000", *args[-4:], "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["exhaustive"]["proven"] is True and out["exhaustive"]["faster_lacking"] > 0
    assert out["accuracy_table"]["unmeasured"] == 0


def test_sweep_on_a_table_prices_its_rows_as_exhaustive_does(tmp_path, capsys):
    """A row pruned at three candidates is no configuration of the split-aware grid; with
    pruning that speeds compute it can be the best plan, and the sweep finds it as the
    exhaustive search on the table does, at every bandwidth."""
    three = {"block1": 0.5, "block6": 0.5, "block10": 0.5}
    path = _write(tmp_path / "t.csv", [three, {"block6": 0.5}, {"block10": 0.25}])
    common = ["--model", "mobilenet", "--device", "MI8SE", "--acc-floor", "0.8"]
    common += ["--prune-compute", "linear", "--accuracy", f"table:{path}"]
    url = f"sqlite:///{tmp_path / 'a.db'}"
    assert main(["sweep", *common, "--bandwidth", "2,10", "--storage", url, "--json"]) == 0
    sweep = json.loads(capsys.readouterr().out)
    assert sweep["finetunes"] == 0
    keys = {p["best"]["config_key"] for p in sweep["points"]}
    assert keep_key(three) in keys
    for point in sweep["points"]:
        bandwidth = str(point["bandwidth_mbps"])
        args = ["search", *common, "--bandwidth", bandwidth, "--strategy", "exhaustive"]
        assert main([*args, "--trials", "10", "--storage", url, "--json"]) == 0
        found = json.loads(capsys.readouterr().out)
        assert found["exhaustive"]["proven"] is True
        assert found["best"]["latency_ms"] == pytest.approx(point["best"]["latency_ms"])
