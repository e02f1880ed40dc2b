"""The accuracy oracle: real fine-tunes on a tiny budget, cached, deterministic per seed."""

from __future__ import annotations

import json

import pytest

from cnnpc.compression import FinetuneBudget
from cnnpc.errors import InputError, SearchSpaceError
from cnnpc.oracle import AccuracyOracle, DiskCache, MemoryCache

BUDGET = FinetuneBudget(epochs=1, steps_per_epoch=2)
CONFIG = {"block3": 0.5, "block10": 0.25}


@pytest.fixture(scope="module")
def oracle(tiny_baseline, digits32, mobilenet_space, cache_root):
    cache = DiskCache(cache_root / "results")
    return AccuracyOracle(tiny_baseline, digits32, mobilenet_space, BUDGET, 0, cache)


@pytest.fixture(scope="module")
def first(oracle):
    return oracle.evaluate(CONFIG)


def test_evaluate_fine_tunes_and_measures(oracle, first):
    base = oracle.baseline_result()
    assert 0.0 <= first.val_accuracy <= 1.0 and 0.0 <= first.test_accuracy <= 1.0
    assert first.finetune_seconds > 0 and not first.from_cache
    assert first.channels()["block3"] == 12 and first.channels()["block10"] == 16
    assert first.channels()["block6"] == 32
    by_name = {c.name: c for c in first.candidates}
    assert by_name["block3"].bytes == 56 * 56 * 12  # at 224x224, int8
    assert by_name["block10"].bytes == 14 * 14 * 16
    assert first.keep == {**{c: 1.0 for c in base.keep}, "block3": 0.5, "block10": 0.25}
    assert first.params < base.params and first.flops < base.flops
    assert base.finetune_seconds == 0.0 and set(base.keep.values()) == {1.0}
    json.dumps(first.to_record(), allow_nan=False)


def test_the_same_configuration_is_never_fine_tuned_twice(oracle, first):
    runs = oracle.finetunes
    for same in (CONFIG, {"block3": 0.52, "block10": 0.25}, {**CONFIG, "conv1": 1.0}):
        again = oracle.evaluate(same)
        assert again.from_cache
        assert again == first
    assert oracle.finetunes == runs


def test_the_cache_outlives_the_oracle(oracle, first, tiny_baseline, digits32, mobilenet_space):
    fresh = AccuracyOracle(tiny_baseline, digits32, mobilenet_space, BUDGET, 0, oracle.cache)
    assert fresh.evaluate(CONFIG) == first
    assert fresh.finetunes == 0


def test_results_are_deterministic_for_a_seed(first, tiny_baseline, digits32, mobilenet_space):
    other = AccuracyOracle(tiny_baseline, digits32, mobilenet_space, BUDGET, 0, MemoryCache())
    again = other.evaluate(CONFIG)
    assert other.finetunes == 1 and not again.from_cache
    assert again.val_accuracy == first.val_accuracy
    assert again.test_accuracy == first.test_accuracy
    assert (again.params, again.flops, again.candidates) == (
        first.params,
        first.flops,
        first.candidates,
    )


def test_keys_separate_budgets_and_seeds(oracle, tiny_baseline, digits32, mobilenet_space):
    key = oracle.cache_key(CONFIG)
    longer = AccuracyOracle(tiny_baseline, digits32, mobilenet_space, FinetuneBudget(epochs=2))
    reseeded = AccuracyOracle(tiny_baseline, digits32, mobilenet_space, BUDGET, seed=1)
    assert len({key, longer.cache_key(CONFIG), reseeded.cache_key(CONFIG)}) == 3
    assert key != oracle.cache_key({"block3": 0.5})


@pytest.mark.parametrize(
    ("config", "error"),
    [
        ({"nope": 0.5}, SearchSpaceError),
        ({"block3": 0.0}, InputError),
        ({"block3": 1.01}, InputError),
    ],
)
def test_bad_configurations_fail_before_any_fine_tune(oracle, config, error):
    runs = oracle.finetunes
    with pytest.raises(error):
        oracle.evaluate(config)
    assert oracle.finetunes == runs


def test_memory_and_disk_caches_round_trip(tmp_path):
    disk = DiskCache(tmp_path / "r")
    assert disk.get("abc123") is None
    disk.put("abc123", {"x": 1})
    assert disk.get("abc123") == {"x": 1}
    (tmp_path / "r" / "bad0.json").write_text("{half")
    assert disk.get("bad0") is None
    with pytest.raises(ValueError, match="alphanumeric"):
        disk.get("../escape")
    memory = MemoryCache()
    memory.put("k", {"y": 2})
    assert memory.get("k") == {"y": 2} and memory.get("z") is None
