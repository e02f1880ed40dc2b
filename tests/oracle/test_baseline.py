"""Baselines are trained once (seeded) and then read from the cache, keyed by what made them."""

from __future__ import annotations

import numpy as np

from cnnpc.oracle import Recipe, trained_baseline
from cnnpc.oracle._baseline import baseline_key


def test_trained_once_then_loaded_from_the_cache(tiny_baseline, digits32, cache_root, tiny_recipe):
    assert not tiny_baseline.from_cache
    assert tiny_baseline.train_seconds > 0 and tiny_baseline.epochs_run == 1
    again = trained_baseline("mobilenet", digits32, 0, cache_root, tiny_recipe, progress=False)
    assert again.from_cache and again.key == tiny_baseline.key
    assert again.train_seconds == tiny_baseline.train_seconds
    for a, b in zip(again.model.get_weights(), tiny_baseline.model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_key_covers_model_data_seed_and_recipe(digits32, tiny_recipe):
    key = baseline_key("mobilenet", digits32, 0, tiny_recipe)
    assert key == baseline_key("mobilenet", digits32, 0, tiny_recipe)
    assert key != baseline_key("resnet", digits32, 0, tiny_recipe)
    assert key != baseline_key("mobilenet", digits32, 1, tiny_recipe)
    assert key != baseline_key("mobilenet", digits32, 0, Recipe(epochs=2, steps_per_epoch=3))


def test_a_damaged_cache_entry_is_retrained(digits32, tmp_path):
    recipe = Recipe(epochs=1, steps_per_epoch=1)
    first = trained_baseline("resnet", digits32, 0, tmp_path, recipe, progress=False)
    (tmp_path / "baselines" / f"{first.key}.h5").write_bytes(b"garbage")
    second = trained_baseline("resnet", digits32, 0, tmp_path, recipe, progress=False)
    assert not second.from_cache  # retrained, the same way
    for a, b in zip(first.model.get_weights(), second.model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
