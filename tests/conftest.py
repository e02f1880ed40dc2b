"""Shared fixtures: paths to the CNNPC reference tables the fidelity tests compare against."""

from __future__ import annotations

from pathlib import Path

import pytest

REFERENCE = Path(__file__).parent / "fixtures" / "cnnpc_reference"


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    return REFERENCE


@pytest.fixture(scope="session")
def postgres_url_factory():
    """Makes fresh databases on one PostgreSQL server started for the session (or skips)."""
    from postgres_server import Unavailable, create_database, postgres_server

    try:
        server = postgres_server()
        url = server.__enter__()
    except Unavailable as exc:
        print(f"\nSKIP PostgreSQL tests: {exc}")
        pytest.skip(f"PostgreSQL tests skipped: {exc}")
    counter = iter(range(1_000_000))
    try:
        yield lambda: create_database(url, f"cnnpc_test_{next(counter)}")
    finally:
        server.__exit__(None, None, None)


@pytest.fixture(scope="session")
def data():
    """The small digits workload the deploy, runtime and validate tests share."""
    from deploy.plans import workload

    return workload()


@pytest.fixture(scope="session")
def _three_tier_plan():
    from deploy.plans import three_tier_plan

    return three_tier_plan()


@pytest.fixture(scope="session")
def three_tier(_three_tier_plan):
    """A deployed end->edge->cloud plan of a tiny fine-tuned model (built once per session)."""
    return _three_tier_plan[0]


@pytest.fixture(scope="session")
def qat_model(_three_tier_plan):
    """The quantization-aware Keras model that plan was cut from."""
    return _three_tier_plan[1]


@pytest.fixture(scope="session")
def plan_set(three_tier, qat_model, data, tmp_path_factory):
    """`deploy.folders`' plan set (P1 the three-tier plan, P2 end -> edge): (table, plans);
    the folder is `plans["P1"].folder`. Built once: P2 is a TFLite conversion of its own."""
    from deploy.folders import plan_set_folder

    return plan_set_folder(three_tier, qat_model, data, tmp_path_factory.mktemp("set") / "set")
