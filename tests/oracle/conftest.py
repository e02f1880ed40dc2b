"""A briefly trained mobilenet baseline on 32x32 digits, cached in a session folder."""

from __future__ import annotations

import pytest

from cnnpc.oracle import trained_baseline
from cnnpc.spaces import load_space
from cnnpc.workloads import digits


@pytest.fixture(scope="session")
def digits32():
    return digits(32)


@pytest.fixture(scope="session")
def cache_root(tmp_path_factory):
    return tmp_path_factory.mktemp("cnnpc-cache")


@pytest.fixture(scope="session")
def mobilenet_space():
    return load_space("mobilenet")


@pytest.fixture(scope="session")
def tiny_baseline(digits32, cache_root, tiny_recipe):
    return trained_baseline("mobilenet", digits32, 0, cache_root, tiny_recipe, progress=False)
