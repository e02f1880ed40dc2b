"""A search on an accuracy table with a `bits` column: with --bits it draws the rows at those
widths (exhaustive: the exact optimum over them, against brute force), without it the int8 rows
only; a coder's ratio needs a model, so --entropy with a table is one line."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from synthetic_source import SyntheticSource

from cnnpc.accuracy import TableRow, TableSource, format_table, kept_of, read_table
from cnnpc.cli import main
from cnnpc.codec import synthetic_measures
from cnnpc.records import KeepConfig, join_config, keep_key
from cnnpc.search import SearchSettings, run_search, split_aware_grid
from cnnpc.spaces import load_space

SPACE = load_space("mobilenet")
FLOOR = 0.9
LOSS = {6: 0.0, 4: 0.004, 2: 0.012}
"""Accuracy lost per split tensor sent at that width (a 6-bit row loses nothing: it would win
if a search with --bits 8,4,2 drew it)."""
BITS = (8, 4, 2)


def _table(path: Path, seed: int) -> Path:
    """30 configurations of the grid, each at int8 and with its pruned tensors at 4 and 2 bits
    (and a few at 6), plus whole tensors at 2 bits; accuracies from the synthetic source."""
    rng = random.Random(seed)
    acc = SyntheticSource().accuracy
    rows = [TableRow((), 0.97, 0.965, 1.0, 1)]

    def add(kept: tuple[tuple[str, int], ...], bits: tuple[tuple[str, int], ...], a: float):
        rows.append(TableRow(kept, a, a - 0.005, 1.0, len(rows) + 1, bits=bits))

    for config in rng.sample(list(split_aware_grid(SPACE))[1:], 30):
        kept = kept_of(SPACE, config)
        base = acc(config)
        add(kept, (), base)
        for width in (4, 2) if rng.random() < 0.8 else (6,):
            a = base - LOSS[width] * len(kept) + rng.uniform(-0.003, 0.003)
            add(kept, tuple((n, width) for n, _ in kept), a)
    for name in ("conv1", "block1", "block10"):
        add((), ((name, 2),), 0.97 - LOSS[2])
    path.write_text(format_table("mobilenet", "synthetic", "bits-table", rows))
    return path


def _settings(**kw: object) -> SearchSettings:
    base = {"model": "mobilenet", "device": "MI8", "bandwidth_mbps": 10.0, "acc_floor": FLOOR}
    return SearchSettings(**(base | {"strategy": "exhaustive", "trials": 1000} | kw))


def _coded(**kw: object) -> SearchSettings:
    return _settings(bits=BITS, codec_measures=synthetic_measures(SPACE.names, BITS), **kw)


def _config(row: TableRow) -> dict[str, float]:
    return join_config(row.config(SPACE), row.bits)


def _brute_force(settings: SearchSettings, path: Path, widths: tuple[int, ...]) -> TableRow:
    """The fastest row at `widths` meeting the floor, each row priced as it is."""
    planner = settings.planner()

    def latency(row: TableRow) -> float:
        return planner.best(KeepConfig.from_fractions(SPACE, _config(row))).latency_ms

    rows = [
        r
        for r in read_table(path).rows
        if r.val_accuracy >= FLOOR and all(w in widths for _, w in r.bits)
    ]
    return min(rows, key=latency)


def _latency(settings: SearchSettings, row: TableRow) -> float:
    planner = settings.planner()
    return planner.best(KeepConfig.from_fractions(SPACE, _config(row))).latency_ms


@pytest.mark.parametrize("seed", [0, 1])
def test_exhaustive_with_bits_is_the_exact_optimum_over_the_rows_at_those_widths(
    tmp_path, storage, seed
):
    path = _table(tmp_path / "t.csv", seed)
    settings = _coded()
    source = TableSource(read_table(path, model="mobilenet"))
    result = run_search(settings, source, storage)
    best = _brute_force(settings, path, BITS)
    assert result.best is not None and best.bits  # a row below 8 bits is the optimum here
    assert result.best.latency_ms == pytest.approx(_latency(settings, best))
    assert result.best.bits == dict(best.bits) and source.missing == 0
    assert result.exactness is not None and result.exactness.proven
    trials = storage.list_trials(result.search_id)
    rows = {keep_key(_config(r)) for r in read_table(path).rows}
    assert {keep_key(t.keep) for t in trials} <= rows  # every trial is a row, as it is
    assert not any(6 in t.bits.values() for t in trials)  # never a width outside --bits
    # without --bits: the int8 rows alone, and a slower answer
    plain = _settings()
    int8 = run_search(plain, TableSource(read_table(path, model="mobilenet")), storage)
    assert int8.best is not None and not int8.best.bits
    assert int8.best.latency_ms == pytest.approx(_latency(plain, _brute_force(plain, path, (8,))))
    assert int8.best.latency_ms > result.best.latency_ms
    assert not any(t.bits for t in storage.list_trials(int8.search_id))


def test_tpe_with_bits_draws_rows_at_those_widths(tmp_path, storage):
    path = _table(tmp_path / "t.csv", 3)
    source = TableSource(read_table(path, model="mobilenet"))
    result = run_search(_coded(strategy="tpe", trials=20, seed=1), source, storage)
    trials = storage.list_trials(result.search_id)
    rows = {keep_key(_config(r)) for r in read_table(path).rows if 6 not in dict(r.bits).values()}
    assert len(trials) == 20 and source.missing == 0
    assert {keep_key(t.keep) for t in trials} <= rows
    assert any(t.bits for t in trials)


def test_a_coder_with_a_table_is_one_line(tmp_path, capsys):
    path = _table(tmp_path / "t.csv", 0)
    common = ["search", "--model", "mobilenet", "--device", "MI8", "--bandwidth", "10"]
    common += ["--acc-floor", "0.9"]
    db = ["--storage", f"sqlite:///{tmp_path / 'r.db'}"]
    code = main([*common, *db, "--accuracy", f"table:{path}", "--bits", "8,2", "--entropy", "zstd"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "drop --entropy" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "r.db").exists()
