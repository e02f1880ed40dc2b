"""Fixtures of the search tests: a synthetic accuracy source and a fresh database."""

from __future__ import annotations

import pytest
from synthetic_source import SyntheticSource


@pytest.fixture
def source() -> SyntheticSource:
    return SyntheticSource()


@pytest.fixture
def storage(tmp_path):
    from cnnpc.storage import Storage

    store = Storage(f"sqlite:///{tmp_path / 'cnnpc.db'}")
    store.upgrade()
    return store
