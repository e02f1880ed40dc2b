"""A briefly trained mobilenet baseline on 32x32 digits and its tiny supernet (per session)."""

from __future__ import annotations

import pytest

from cnnpc.oracle import trained_baseline
from cnnpc.spaces import load_space
from cnnpc.supernet import SandwichRecipe, trained_supernet
from cnnpc.workloads import digits


@pytest.fixture(scope="session")
def digits32():
    return digits(32)


@pytest.fixture(scope="session")
def cache_root(tmp_path_factory):
    return tmp_path_factory.mktemp("cnnpc-supernet-cache")


@pytest.fixture(scope="session")
def space():
    return load_space("mobilenet")


@pytest.fixture(scope="session")
def baseline(digits32, shared_cache, tiny_recipe):
    return trained_baseline("mobilenet", digits32, 0, shared_cache, tiny_recipe, progress=False)


@pytest.fixture(scope="session")
def tiny_sandwich():
    return SandwichRecipe(epochs=1, steps_per_epoch=2, random_widths=1)


@pytest.fixture(scope="session")
def supernet(baseline, digits32, space, cache_root, tiny_sandwich):
    return trained_supernet(baseline, digits32, space, 0, cache_root, tiny_sandwich)
