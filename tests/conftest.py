"""Shared fixtures: paths to the CNNPC reference tables the fidelity tests compare against."""

from __future__ import annotations

from pathlib import Path

import pytest

REFERENCE = Path(__file__).parent / "fixtures" / "cnnpc_reference"


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    return REFERENCE
