"""0003 -> 0004: a search's links become one typed column, on a database made by the release
before it (data/release_0003.db, made by data/make_release_0003.py, with what that release
printed for it), and on PostgreSQL with the same rows."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from factories import patched_main, spec

from cnnpc.records import LinkSetting
from cnnpc.storage import Storage, StorageError, _schema
from cnnpc.storage._engine import make_engine

DATA = Path(__file__).parent / "data"
RELEASE_DB = DATA / "release_0003.db"
TABLES = ("cnnpc_searches", "cnnpc_trials", "cnnpc_best_plans")
MOBILENET_UNIT = 1_048_576.0  # CNNPC's unit in mobilenet's profile (search 2: conventions cnnpc)
LINKS = {
    1: LinkSetting(uplink_mbps=20.0, bandwidth_mbps=5.0, uplink_latency_ms=2.0, latency_ms=5.0),
    2: LinkSetting(uplink_mbps=8.0, bandwidth_mbps=10.0, mbit_bits=MOBILENET_UNIT),
}
EXTRA = {
    1: {"conventions": "si", "overhead_ms": 1.66, "prune_compute": "none"},
    2: {
        "confirms": "epochs=2",
        "conventions": "cnnpc",
        "overhead_ms": 1.0,
        "prune_compute": "linear",
    },
}


@pytest.fixture
def old_url(tmp_path: Path) -> str:
    path = tmp_path / "old.db"
    shutil.copyfile(RELEASE_DB, path)
    return f"sqlite:///{path}"


def _count(url: str, table: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar_one())
    finally:
        engine.dispose()


def test_a_release_0003_database_upgrades_to_typed_links(old_url, monkeypatch, capsys):
    counts = {table: _count(old_url, table) for table in TABLES}
    assert counts == {"cnnpc_searches": 2, "cnnpc_trials": 16, "cnnpc_best_plans": 2}
    with pytest.raises(StorageError, match="older than this cnnpc"):
        Storage(old_url)
    main = patched_main(monkeypatch)
    assert main(["db", "upgrade", "--storage", old_url]) == 0
    assert "upgraded from 0003 to revision 0004" in capsys.readouterr().out
    # nothing else changed: recreating the table on SQLite cascaded no delete
    assert {table: _count(old_url, table) for table in TABLES} == counts
    with Storage(old_url) as storage:
        for search in storage.list_searches():
            assert search.links == LINKS[search.id]
            assert search.extra == EXTRA[search.id]
        # the same request still finds the search it stored (the identity did not change)
        again = spec(
            uplink_mbps=20.0,
            bandwidth_mbps=5.0,
            uplink_latency_ms=2.0,
            latency_ms=5.0,
            extra=EXTRA[1],
        )
        assert storage.get_or_create_search(again).id == 1
        confirm = spec(
            uplink_mbps=8.0,
            mbit_bits=MOBILENET_UNIT,
            budget_key="epochs=3",
            epochs=3,
            extra=EXTRA[2],
        )
        assert storage.get_or_create_search(confirm).id == 2
        assert len(storage.list_searches()) == 2


def test_show_and_export_print_what_the_release_before_printed(old_url, monkeypatch, capsys):
    main = patched_main(monkeypatch)
    assert main(["db", "upgrade", "--storage", old_url]) == 0
    capsys.readouterr()
    assert main(["searches", "--json", "--storage", old_url]) == 0
    assert capsys.readouterr().out == (DATA / "searches.json").read_text()
    for search in (1, 2):
        assert main(["show", str(search), "--json", "--storage", old_url]) == 0
        assert capsys.readouterr().out == (DATA / f"show_{search}.json").read_text()
        out = Path(old_url.removeprefix("sqlite:///")).with_name(f"export_{search}.json")
        assert main(["export", str(search), "--json", str(out), "--storage", old_url]) == 0
        assert capsys.readouterr().out.startswith(f"wrote {out} (search {search}, best plan")
        now, then = (json.loads(p.read_text()) for p in (out, DATA / f"export_{search}.json"))
        for moving in ("exported_at", "storage"):  # when and where it was written
            assert now.pop(moving) != then.pop(moving)
        assert now == then


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'copy.db'}"
    return str(request.getfixturevalue("postgres_url_factory")())


def _migrate(url: str, revision: str, *, down: bool = False) -> None:
    """Move the schema to `revision` the way `Storage.upgrade` does (foreign keys held)."""
    engine = make_engine(url)
    try:
        with _schema.migration_connection(engine) as connection:
            config = _schema._config(url)
            config.attributes["connection"] = connection
            (command.downgrade if down else command.upgrade)(config, revision)
            _schema._check_foreign_keys(connection)
            connection.commit()
    finally:
        engine.dispose()


def _rows(url: str, table: str) -> list[dict[str, object]]:
    engine = make_engine(url)
    try:
        metadata = sa.MetaData()
        reflected = sa.Table(table, metadata, autoload_with=engine)
        with engine.connect() as connection:
            rows = connection.execute(sa.select(reflected).order_by(reflected.c.id)).mappings()
            return [dict(row) for row in rows]
    finally:
        engine.dispose()


def _copy_release_rows(url: str) -> dict[str, list[dict[str, object]]]:
    """The release database's rows, written into `url` at revision 0003."""
    _migrate(url, "0003")
    rows = {table: _rows(f"sqlite:///{RELEASE_DB}", table) for table in TABLES}
    engine = make_engine(url)
    try:
        metadata = sa.MetaData()
        with engine.begin() as connection:
            for table in TABLES:
                target = sa.Table(table, metadata, autoload_with=connection)
                connection.execute(target.insert(), rows[table])
    finally:
        engine.dispose()
    return rows


def test_upgrade_then_downgrade_gives_the_release_rows_back(empty_url):
    before = _copy_release_rows(empty_url)
    _migrate(empty_url, "0004")
    with Storage(empty_url) as storage:
        assert {s.id: s.links for s in storage.list_searches()} == LINKS
        assert {s.id: s.extra for s in storage.list_searches()} == EXTRA
        assert [len(storage.list_trials(s.id)) for s in storage.list_searches()] == [8, 8]
    _migrate(empty_url, "0003", down=True)
    after = {table: _rows(empty_url, table) for table in TABLES}
    assert after == before
    with sqlite3.connect(RELEASE_DB) as db:  # the committed file itself is never written
        assert db.execute("SELECT version_num FROM cnnpc_alembic_version").fetchall() == [("0003",)]
