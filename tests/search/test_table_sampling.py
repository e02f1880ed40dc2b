"""tpe and random on an accuracy table draw only its rows (and the unpruned model): every trial
is a row, never an unmeasured configuration; a table smaller than --trials is exhausted and the
search says so; a resumed search keeps drawing untried rows, a search stored by the previous
release (which sampled the whole grid) resumes and shows."""

from __future__ import annotations

import json
import random
from pathlib import Path

import optuna
import pytest
from synthetic_source import SyntheticSource

from cnnpc.accuracy import TableRow, TableSource, format_table, kept_of, read_table
from cnnpc.cli import main
from cnnpc.records import KeepConfig, keep_key
from cnnpc.search import SearchSettings, run_search, split_aware_grid
from cnnpc.spaces import load_space

SPACE = load_space("mobilenet")
FLOOR = 0.93
BASE = {"model": "mobilenet", "device": "MI8SE", "bandwidth_mbps": 10.0, "acc_floor": FLOOR}


def _table(path: Path, n: int, seed: int, grid: str | None = None) -> Path:
    """`n` seeded grid configurations and the unpruned model, synthetic accuracies."""
    configs = random.Random(seed).sample(list(split_aware_grid(SPACE.with_keep_grid(grid)))[1:], n)
    acc, rng = SyntheticSource().accuracy, random.Random(seed)
    rows, seen = [], set()
    for config in [{}, *configs]:
        kept = kept_of(SPACE, config)
        if kept not in seen:
            seen.add(kept)
            a = min(1.0, max(0.0, acc(config) + (rng.uniform(-0.03, 0.03) if config else 0.0)))
            rows.append(TableRow(kept, a, a - 0.005, 1.0, len(rows) + 1))
    path.write_text(format_table("mobilenet", "synthetic", "sampling-test", rows))
    return path


def _row_keys(path: Path) -> set[str]:
    return {keep_key(r.config(SPACE)) for r in read_table(path).rows}


def _source(path: Path) -> TableSource:
    return TableSource(read_table(path, model="mobilenet"))


def _optimum(settings: SearchSettings, path: Path) -> float:
    planner = settings.planner()
    return min(
        planner.best(KeepConfig.from_fractions(SPACE, r.config(SPACE))).latency_ms
        for r in read_table(path).rows
        if r.val_accuracy >= FLOOR
    )


@pytest.mark.parametrize("strategy", ["tpe", "random"])
@pytest.mark.parametrize("grid", [None, "channels"])
def test_every_trial_is_a_row(tmp_path, storage, strategy, grid):
    path = _table(tmp_path / "t.csv", 30, seed=3, grid=grid)
    settings = SearchSettings(**BASE, strategy=strategy, trials=12, seed=4, keep_grid=grid)
    source = _source(path)
    result = run_search(settings, source, storage)
    trials = storage.list_trials(result.search_id)
    assert result.trials == 12 and len(trials) == 12
    assert {keep_key(t.keep) for t in trials} <= _row_keys(path)
    assert len({keep_key(t.keep) for t in trials}) == 12  # no row twice
    assert source.missing == 0  # nothing recorded unmeasured


@pytest.mark.parametrize("strategy", ["tpe", "random"])
def test_a_table_smaller_than_trials_is_exhausted_and_says_so(tmp_path, storage, strategy):
    path = _table(tmp_path / "t.csv", 9, seed=5)
    n = len(_row_keys(path))
    settings = SearchSettings(**BASE, strategy=strategy, trials=50)
    result = run_search(settings, _source(path), storage)
    assert result.trials == n
    assert {keep_key(t.keep) for t in storage.list_trials(result.search_id)} == _row_keys(path)
    assert result.message == (
        f"{strategy} search space exhausted: all {n} configurations of the table tried"
    )
    assert result.best is not None  # every row tried: the table's optimum
    assert result.best.latency_ms == pytest.approx(_optimum(settings, path))


@pytest.mark.parametrize("strategy", ["tpe", "random"])
def test_resumed_it_draws_only_rows_not_yet_tried(tmp_path, storage, strategy):
    path = _table(tmp_path / "t.csv", 25, seed=6)
    first = run_search(SearchSettings(**BASE, strategy=strategy, trials=7), _source(path), storage)
    again = SearchSettings(**BASE, strategy=strategy, trials=14)
    second = run_search(again, _source(path), storage)
    assert second.search_id == first.search_id and second.trials == 14
    keys = [keep_key(t.keep) for t in storage.list_trials(second.search_id)]
    assert len(keys) == len(set(keys)) == 14 and set(keys) <= _row_keys(path)


def test_a_table_search_of_the_previous_release_resumes_and_shows(
    tmp_path, storage, monkeypatch, capsys
):
    """The previous release's tpe sampled the whole grid on a table (the same parameters and
    distributions): its unmeasured trials stay, the resumed trials are rows, `show` reads it."""
    path = _table(tmp_path / "t.csv", 25, seed=7)
    settings = SearchSettings(**BASE, strategy="tpe", trials=10)
    with monkeypatch.context() as m:  # the previous release's sampler: the grid's
        grid_only = optuna.samplers.TPESampler(seed=0, n_startup_trials=5, multivariate=True)
        m.setattr("cnnpc.search._row_sampler.make_sampler", lambda *a: grid_only)
        old = run_search(settings, _source(path), storage)
    rows = _row_keys(path)
    before = [keep_key(t.keep) for t in storage.list_trials(old.search_id)]
    assert any(k not in rows for k in before)  # the grid's samples the table lacks
    old_trials = storage.list_trials(old.search_id)
    assert any((t.reason or "").startswith("unmeasured") for t in old_trials)
    resumed = run_search(SearchSettings(**BASE, strategy="tpe", trials=20), _source(path), storage)
    assert resumed.search_id == old.search_id and resumed.trials == 20
    after = [keep_key(t.keep) for t in storage.list_trials(old.search_id)][len(before) :]
    assert len(after) == 10 and set(after) <= rows and not set(after) & set(before)
    assert main(["show", str(old.search_id), "--storage", storage.url, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["spend"]["trials"] == 20
