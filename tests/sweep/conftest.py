"""A fresh results database per test."""

from __future__ import annotations

import pytest


@pytest.fixture
def storage(tmp_path):
    from cnnpc.storage import Storage

    store = Storage(f"sqlite:///{tmp_path / 'cnnpc.db'}")
    store.upgrade()
    return store
