"""Caches are keyed by a declared recipe version, not by source text.

- The keys are the ones the source-hash release computed (its caches are still read).
- An edit to the recipe's source that keeps its behaviour keeps the key (a copy of the package,
  edited, computes the same key in another process).
- A recipe change (its parameters, or a version bump) changes the key.
- Each recipe, run on a tiny model, gives the weights recorded for its version: a change of
  behaviour without a version bump fails here. After a deliberate change, bump the version in
  cnnpc/oracle/_recipes.py (or SUPERNET_RECIPE) and record the new fingerprint:
      CNNPC_UPDATE_RECIPES=1 python -m pytest -q tests/oracle/test_recipes.py
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from oracle.recipes import check_recipe, fingerprint

import cnnpc
from cnnpc.compression import FinetuneBudget, finetune, prune_channels
from cnnpc.oracle import BASELINE_RECIPE, FINETUNE_RECIPE, AccuracyOracle, Recipe, RecipeVersion
from cnnpc.oracle._baseline import baseline_key

BUDGET = FinetuneBudget(epochs=1, steps_per_epoch=2)
CONFIG = {"block3": 0.5, "block10": 0.25}
# computed by the release that keyed caches by a hash of the source files (d27b869)
RELEASE_KEYS = {
    "baseline": "9c2826d99597205514d7",  # mobilenet, digits 32, seed 0, Recipe(1 epoch, 3 steps)
    "finetune": "a697fe89b9858265a88226df",  # that baseline, BUDGET, CONFIG, seed 0
}

_KEYS = """
import json, sys
from cnnpc.oracle import Recipe
from cnnpc.oracle._baseline import baseline_key
from cnnpc.workloads import digits
print(json.dumps(baseline_key("mobilenet", digits(32), 0, Recipe(epochs=1, steps_per_epoch=3))))
"""


def test_the_keys_are_the_source_hash_releases(tiny_baseline, digits32, mobilenet_space):
    assert tiny_baseline.key == RELEASE_KEYS["baseline"]
    oracle = AccuracyOracle(tiny_baseline, digits32, mobilenet_space, BUDGET, 0)
    assert oracle.cache_key(CONFIG) == RELEASE_KEYS["finetune"]


def test_an_edit_that_keeps_the_recipe_keeps_the_key(tmp_path):
    copy = tmp_path / "cnnpc"
    shutil.copytree(Path(cnnpc.__file__).parent, copy, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("oracle/_baseline.py", "workloads/_training.py", "models/_mobilenet.py"):
        with (copy / name).open("a", encoding="utf-8") as f:
            f.write("\n# an edit that changes no behaviour\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    run = subprocess.run(
        [sys.executable, "-c", _KEYS], env=env, capture_output=True, text=True, check=True
    )
    assert json.loads(run.stdout.strip().splitlines()[-1]) == RELEASE_KEYS["baseline"]


def test_a_recipe_change_changes_the_key(digits32, tiny_recipe, monkeypatch):
    key = baseline_key("mobilenet", digits32, 0, tiny_recipe)
    assert key != baseline_key("mobilenet", digits32, 0, Recipe(epochs=1, steps_per_epoch=4))
    bumped = RecipeVersion("baseline", BASELINE_RECIPE.version + 1)
    assert bumped.key == f"baseline-v{BASELINE_RECIPE.version + 1}" != BASELINE_RECIPE.key
    monkeypatch.setattr("cnnpc.oracle._baseline.BASELINE_RECIPE", bumped)
    assert baseline_key("mobilenet", digits32, 0, tiny_recipe) != key


def test_a_fine_tune_recipe_change_changes_the_key(
    tiny_baseline, digits32, mobilenet_space, monkeypatch
):
    oracle = AccuracyOracle(tiny_baseline, digits32, mobilenet_space, BUDGET, 0)
    key = oracle.cache_key(CONFIG)
    other = AccuracyOracle(tiny_baseline, digits32, mobilenet_space, FinetuneBudget(1, 3), 0)
    assert other.cache_key(CONFIG) != key
    monkeypatch.setattr("cnnpc.oracle._oracle.FINETUNE_RECIPE", RecipeVersion("finetune", 2))
    assert oracle.cache_key(CONFIG) != key


def test_versions_are_checked():
    with pytest.raises(ValueError, match="version >= 1"):
        RecipeVersion("baseline", 0)
    assert RecipeVersion("x", 1).key == "x-v1"  # no first key: the plain form


def test_the_baseline_recipe_behaves_as_its_version_says(tiny_baseline):
    check_recipe(BASELINE_RECIPE, "BASELINE_RECIPE", fingerprint(tiny_baseline.model.get_weights()))


def test_the_fine_tune_recipe_behaves_as_its_version_says(tiny_baseline, digits32, mobilenet_space):
    pruned = prune_channels(tiny_baseline.model, mobilenet_space, CONFIG).model
    tuned = finetune(pruned, digits32, BUDGET, 0)
    check_recipe(FINETUNE_RECIPE, "FINETUNE_RECIPE", fingerprint(tuned.model.get_weights()))
