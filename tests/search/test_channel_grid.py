"""CNNPC's per-channel grid (keep_grid: channels) through the reduction and every strategy."""

from __future__ import annotations

import pytest
from synthetic_source import SyntheticSource

from cnnpc.errors import InputError
from cnnpc.planner import planner_for
from cnnpc.records import KeepConfig, keep_key
from cnnpc.search import SearchSettings, normalise, run_search, split_aware_grid
from cnnpc.search import with_keep_grid as on_grid
from cnnpc.search._configs import distributions, from_params, to_params
from cnnpc.search._strategies import StrategyContext, cnnpc, exhaustive
from cnnpc.spaces import kept_count, parse_keep_grid, parse_space

FLOOR = 0.93


@pytest.fixture(scope="module")
def planner():
    return on_grid(planner_for("mobilenet", "MI8SE", bandwidth_mbps=10.0), "channels")


def _drive(strategy, planner, accuracy):
    """The runner's loop without storage: measure each proposal, track the best feasible."""
    best: list[float | None] = [None]
    measured: dict[str, float] = {}

    def known(config):
        return measured.get(keep_key(normalise(planner, config)[0]))

    ctx = StrategyContext(
        planner=planner,
        space=planner.profile.space,
        floor=FLOOR,
        accuracy=known,
        estimate=lambda config: None,
        best_latency=lambda: best[0],
    )
    for config in strategy(ctx):
        reduced, plan = normalise(planner, config)
        acc = measured.setdefault(keep_key(reduced), accuracy(reduced))
        if acc >= FLOOR and (best[0] is None or plan.latency_ms < best[0]):
            best[0] = plan.latency_ms
    return best[0], len(measured)


def test_grid_has_every_channel_count(planner):
    space = planner.profile.space
    assert space.per_channel and space.fractions("block1") == tuple(c / 16 for c in range(1, 17))
    assert all(kept_count(f, 160) == c for c, f in enumerate(space.fractions("block16"), 1))
    grid = list(split_aware_grid(space))
    singles = sum(1 for c in grid if len(c) == 1)
    assert singles == 417  # CNNPC's single-split settings of MobileNetV2: sum of (C - 1)
    assert len({keep_key(c) for c in grid}) == len(grid) == 66_887


def test_optuna_parameters_are_channel_counts(planner):
    space = planner.profile.space
    dists = distributions(space)
    assert (dists["block16"].low, dists["block16"].high) == (1, 160)
    config = {"block6": 17 / 32, "block16": 1 / 160}
    params = to_params(space, config)
    assert params["block6"] == 17 and params["block16"] == 1 and params["conv1"] == 32
    assert from_params(space, params) == config


def test_exhaustive_equals_brute_force_and_cnnpc_is_feasible(planner):
    accuracy = SyntheticSource().accuracy
    truth = min(
        planner.best(KeepConfig.from_fractions(planner.profile.space, c)).latency_ms
        for c in split_aware_grid(planner.profile.space)
        if accuracy(c) >= FLOOR
    )
    found, spent = _drive(exhaustive, planner, accuracy)
    assert found == pytest.approx(truth)
    assert spent < 66_887 / 5  # the latency order stops long before the end of the grid
    by_cnnpc, _ = _drive(cnnpc, planner, accuracy)
    assert by_cnnpc is not None and by_cnnpc >= truth - 1e-9
    eighths = on_grid(planner, (0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875, 1.0))
    coarse, _ = _drive(exhaustive, eighths, accuracy)
    assert coarse is not None and truth <= coarse  # the finer grid reaches faster plans


@pytest.mark.parametrize("strategy", ["tpe", "random"])
def test_samplers_search_the_channel_grid(strategy, source, storage):
    settings = SearchSettings(
        model="mobilenet",
        device="MI8SE",
        bandwidth_mbps=10.0,
        acc_floor=FLOOR,
        strategy=strategy,
        trials=8,
        keep_grid="channels",
    )
    result = run_search(settings, source, storage)
    assert result.best is not None and result.best.val_accuracy >= FLOOR
    space = settings.planner().profile.space
    for t in storage.list_trials(result.search_id):
        for name, fraction in t.keep.items():
            channels = space.candidates[space.index(name)].channels
            assert fraction * channels == pytest.approx(round(fraction * channels))  # c / C
    # the fraction grid is another search: the keep grid is part of what a search is
    fractions = SearchSettings(**(settings.__dict__ | {"keep_grid": None, "trials": 1}))
    assert run_search(fractions, source, storage).search_id != result.search_id


def test_keep_grid_parsing():
    assert parse_keep_grid("channels") == "channels"
    assert parse_keep_grid("0.5,0.25") == (0.25, 0.5, 1.0)
    for bad in ("0", "1.5", "-0.25", "nan", "half"):
        with pytest.raises(InputError, match="--keep-grid"):
            parse_keep_grid(bad)
    doc = {"model": "m", "candidates": [{"name": "a", "channels": 4}], "keep_grid": "channels"}
    assert parse_space(doc, "m.yaml").fractions("a") == (0.25, 0.5, 0.75, 1.0)


def test_compress_keep_on_the_grid(capsys):
    from cnnpc.cli import main
    from cnnpc.spaces import load_space

    space = load_space("mobilenet")
    keep = KeepConfig.on_grid(space.with_keep_grid("channels"), {"block6": 17})
    assert keep.fractions == {"block6": 17 / 32} and keep.channels == {"block6": 17}
    base = ["compress", "--model", "mobilenet", "--data", "/nonexistent"]
    cases = [
        (["--keep", "block6=17"], "need --keep-grid channels"),
        (["--keep", "block6=0.5", "--keep-grid", "channels"], "channel count in 1..32"),
        (["--keep", "block6=33", "--keep-grid", "channels"], "channel count in 1..32"),
        (["--keep", "block6=0.375", "--keep-grid", "0.25,0.5"], "not on the keep grid"),
        (["--keep", "block6=17", "--keep-grid", "channels"], "--data /nonexistent"),  # accepted
    ]
    for args, message in cases:
        assert main([*base, *args]) == 2
        assert message in capsys.readouterr().err
