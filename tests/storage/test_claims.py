"""Claims: one worker wins a piece of shared work; an 0001 database upgrades to them."""

from __future__ import annotations

import sqlite3

from alembic import command
from factories import spec
from sqlalchemy import create_engine

from cnnpc.storage import Storage, StorageError, _schema


def test_one_claim_one_holder(tmp_path):
    with Storage(f"sqlite:///{tmp_path / 'c.db'}") as storage:
        name = "accuracy:" + "x" * 2000  # long names are stored by digest
        assert storage.try_claim(name, "host:1")
        assert not storage.try_claim(name, "host:2")
        held = storage.get_claim(name)
        assert held is not None and held.owner == "host:1" and held.name == name
        assert not storage.release_claim(name, "host:2")  # not the holder: nothing goes
        assert storage.get_claim(name) is not None
        assert storage.release_claim(name, "host:1")
        assert storage.get_claim(name) is None
        assert storage.try_claim(name, "host:2")


def test_an_0001_database_refuses_then_upgrades_keeping_its_rows(tmp_path):
    path = tmp_path / "old.db"
    url = f"sqlite:///{path}"
    engine = create_engine(url)
    with engine.connect() as connection:
        config = _schema._config(url)
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
        connection.commit()
    engine.dispose()
    tables = {r[0] for r in sqlite3.connect(path).execute("SELECT name FROM sqlite_master")}
    assert "cnnpc_searches" in tables and "cnnpc_claims" not in tables
    try:
        Storage(url)
    except StorageError as exc:
        assert "older than this cnnpc (0002)" in str(exc) and "cnnpc db upgrade" in str(exc)
    else:
        raise AssertionError("an 0001 database was opened without an upgrade")
    with sqlite3.connect(path) as db:  # a search stored by the old schema
        db.execute(
            "INSERT INTO cnnpc_searches (spec_key, study_name, model, device, workload, "
            "uplink_mbps, bandwidth_mbps, mode, target, strategy, budget_key, code_version, "
            "extra, status, created_at, updated_at) VALUES ('k', 's', 'mobilenet', 'MI8', "
            "'digits', 20, 10, 'acc_floor', 0.9, 'tpe', 'b', '0.1', '{}', 'finished', "
            "'2026-01-01 00:00:00', '2026-01-01 00:00:00')"
        )
    before, head = Storage(url, ensure_schema=False).upgrade()
    assert (before, head) == ("0001", "0002")
    with Storage(url) as storage:
        assert [s.model for s in storage.list_searches()] == ["mobilenet"]
        assert storage.try_claim("x", "h:1")
        assert storage.get_or_create_search(spec()).id == 2
