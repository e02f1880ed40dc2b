"""Claims: one worker wins a piece of shared work, a silent holder is taken over after the
grace period (by the database's clock), and older databases upgrade to them with their rows."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta

import pytest
from alembic import command
from factories import spec
from sqlalchemy import create_engine, text

from cnnpc.errors import InputError
from cnnpc.storage import Storage, StorageError, _schema
from cnnpc.storage._claims import claim_digest


def _age(path, name: str, seconds: float) -> None:
    """Move a claim's last heartbeat `seconds` into the past (as if its holder fell silent)."""
    with sqlite3.connect(path) as db:
        (beat,) = db.execute(
            "SELECT heartbeat_at FROM cnnpc_claims WHERE name = ?", (claim_digest(name),)
        ).fetchone()
        old = datetime.fromisoformat(beat) - timedelta(seconds=seconds)
        db.execute(
            "UPDATE cnnpc_claims SET heartbeat_at = ? WHERE name = ?",
            (old.isoformat(sep=" "), claim_digest(name)),
        )


def test_one_claim_one_holder(tmp_path):
    with Storage(f"sqlite:///{tmp_path / 'c.db'}") as storage:
        name = "accuracy:" + "x" * 2000  # long names are stored by digest
        assert storage.try_claim(name, "host:1")
        assert not storage.try_claim(name, "host:2")
        held = storage.get_claim(name)
        assert held is not None and held.owner == "host:1" and held.name == name
        assert 0 <= held.heartbeat_age_s < 5
        assert not storage.release_claim(name, "host:2")  # not the holder: nothing goes
        assert storage.get_claim(name) is not None
        assert storage.release_claim(name, "host:1")
        assert storage.get_claim(name) is None
        assert storage.try_claim(name, "host:2")


def test_a_silent_holder_is_taken_over_after_the_grace_period(tmp_path):
    path = tmp_path / "c.db"
    with Storage(f"sqlite:///{path}") as storage:
        assert storage.try_claim("work", "remote-host:7:abc")
        assert storage.try_claim("other", "remote-host:7:abc")
        assert not storage.try_claim("work", "here:1", take_over_after_s=30)  # alive: wait
        _age(path, "work", 31)
        _age(path, "other", 31)
        held = storage.get_claim("work")
        assert held is not None and held.heartbeat_age_s > 30
        assert storage.renew_claims("remote-host:7:abc") == 2  # a holder that wakes up renews all
        assert storage.get_claim("work").heartbeat_age_s < 5
        assert not storage.try_claim("work", "here:1", take_over_after_s=30)
        _age(path, "work", 31)
        assert not storage.try_claim("work", "here:1")  # without a grace period: never
        assert storage.try_claim("work", "here:1", take_over_after_s=30)  # on any host
        assert storage.get_claim("work").owner == "here:1"
        # the late holder's release no longer removes the new holder's claim
        assert not storage.release_claim("work", "remote-host:7:abc")
        assert storage.get_claim("work").owner == "here:1"
        assert storage.renew_claims("nobody") == 0
        with pytest.raises(InputError, match="take_over_after_s"):
            storage.try_claim("work", "here:1", take_over_after_s=0)


def _database_at(path, revision: str) -> str:
    url = f"sqlite:///{path}"
    engine = create_engine(url)
    with engine.connect() as connection:
        config = _schema._config(url)
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
        connection.commit()
    engine.dispose()
    return url


def _old_search(db: sqlite3.Connection, key: str, budget_key: str) -> None:
    db.execute(
        "INSERT INTO cnnpc_searches (spec_key, study_name, model, device, workload, "
        "uplink_mbps, bandwidth_mbps, mode, target, strategy, budget_key, code_version, "
        "extra, status, created_at, updated_at) VALUES (?, ?, 'mobilenet', 'MI8', "
        "'digits', 20, 10, 'acc_floor', 0.9, 'tpe', ?, '0.1', '{}', 'finished', "
        "'2026-01-01 00:00:00', '2026-01-01 00:00:00')",
        (key, f"s-{key}", budget_key),
    )


def test_an_0001_database_refuses_then_upgrades_keeping_its_rows(tmp_path):
    path = tmp_path / "old.db"
    url = _database_at(path, "0001")
    tables = {r[0] for r in sqlite3.connect(path).execute("SELECT name FROM sqlite_master")}
    assert "cnnpc_searches" in tables and "cnnpc_claims" not in tables
    head = Storage.head_revision()
    with pytest.raises(StorageError) as exc:
        Storage(url)
    assert f"older than this cnnpc ({head})" in str(exc.value)
    assert "cnnpc db upgrade" in str(exc.value)
    with sqlite3.connect(path) as db:  # a search stored by the old schema
        _old_search(db, "k", "b")
    before, head = Storage(url, ensure_schema=False).upgrade()
    assert (before, head) == ("0001", "0004")
    with Storage(url) as storage:
        assert [s.model for s in storage.list_searches()] == ["mobilenet"]
        assert storage.list_searches()[0].epochs is None  # its key names no epochs
        assert storage.try_claim("x", "h:1")
        assert storage.get_or_create_search(spec()).id == 2


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'v2.db'}"
    return request.getfixturevalue("postgres_url_factory")()


def test_an_0002_database_upgrades_its_claims_and_searches(empty_url):
    """0002 -> 0003: held claims get their creation time as last heartbeat (so a holder that
    died before the upgrade is taken over), searches get the epochs their budget key names."""
    url = empty_url
    engine = create_engine(url)
    with engine.connect() as connection:
        config = _schema._config(url)
        config.attributes["connection"] = connection
        command.upgrade(config, "0002")
        for key, budget in (("a", "epochs=3,seed=0,id=0123456789abcdef"), ("b", "synthetic-v1")):
            connection.execute(
                text(
                    "INSERT INTO cnnpc_searches (spec_key, study_name, model, device, workload, "
                    "uplink_mbps, bandwidth_mbps, mode, target, strategy, budget_key, "
                    "code_version, extra, status, created_at, updated_at) VALUES (:k, :s, "
                    "'mobilenet', 'MI8', 'digits', 20, 10, 'acc_floor', 0.9, 'tpe', :b, '0.1', "
                    "'{}', 'finished', '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
                ),
                {"k": key, "s": f"s-{key}", "b": budget},
            )
        connection.execute(
            text("INSERT INTO cnnpc_claims (name, owner, created_at) VALUES (:n, :o, :c)"),
            {"n": claim_digest("accuracy:old"), "o": "old-host:42", "c": "2026-01-01 00:00:00"},
        )
        connection.commit()
    engine.dispose()
    with pytest.raises(StorageError, match="older than this cnnpc"):
        Storage(url)
    assert Storage(url, ensure_schema=False).upgrade() == ("0002", "0004")
    with Storage(url) as storage:
        assert [(s.budget_key[:8], s.epochs) for s in storage.list_searches()] == [
            ("epochs=3", 3),
            ("syntheti", None),
        ]
        held = storage.get_claim("accuracy:old")
        assert held is not None and held.owner == "old-host:42"
        assert held.heartbeat_age_s > 86_400  # its heartbeat is its creation time
        assert storage.try_claim("accuracy:old", "new:1", take_over_after_s=60)
        assert storage.renew_claims("new:1") == 1
