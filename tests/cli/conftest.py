"""CLI test fixtures: the synthetic accuracy source in place of fine-tuning (no TensorFlow)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "search"))
from synthetic_source import SyntheticSource


@pytest.fixture
def synthetic(monkeypatch):
    """Every accuracy source the CLI builds is this one synthetic source."""
    import cnnpc.search as mod

    source = SyntheticSource()
    monkeypatch.setattr(mod, "oracle_source", lambda *a, **k: source)
    return source
