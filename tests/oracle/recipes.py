"""Fingerprints of the cached recipes' behaviour (tests/oracle/test_recipes.py says why)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from cnnpc.oracle import RecipeVersion

FINGERPRINTS = Path(__file__).parent / "data" / "recipe_fingerprints.json"


def fingerprint(weights) -> list[float]:
    """Sum and sum of squares of every weight array (float64): any change of the training's
    arithmetic moves them far beyond the tolerance, a re-run on this machine not at all."""
    out = []
    for w in weights:
        a = np.asarray(w, dtype=np.float64)
        out += [float(a.sum()), float((a * a).sum())]
    return out


def check_recipe(recipe: RecipeVersion, where: str, values: list[float]) -> None:
    stored = json.loads(FINGERPRINTS.read_text()) if FINGERPRINTS.exists() else {}
    name = f"{recipe.name}:{recipe.key}"
    if os.environ.get("CNNPC_UPDATE_RECIPES"):
        stored[name] = values
        FINGERPRINTS.write_text(json.dumps(stored, indent=1, sort_keys=True) + "\n")
        return
    assert name in stored, (
        f"no fingerprint for {name}: record one (CNNPC_UPDATE_RECIPES=1, module docstring)"
    )
    expected = stored[name]
    same = len(expected) == len(values) and np.allclose(values, expected, rtol=1e-5, atol=1e-7)
    if not same:
        pytest.fail(
            f"the {recipe.name} recipe's behaviour changed but its version did not: bump "
            f"{where} and record its fingerprint (CNNPC_UPDATE_RECIPES=1, module docstring)"
        )
