from __future__ import annotations

import sqlite3
from pathlib import Path

import optuna
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from factories import spec
from sqlalchemy.exc import OperationalError

import cnnpc
from cnnpc.storage import (
    DEFAULT_URL,
    VERSION_TABLE,
    Storage,
    StorageError,
    _schema,
    display_url,
    optuna_engine_kwargs,
    resolve_url,
)
from cnnpc.storage._models import Base

HEAD = "0004"


def _tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as db:
        return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def _version(path: Path, table: str) -> list[str]:
    with sqlite3.connect(path) as db:
        return [r[0] for r in db.execute(f"SELECT version_num FROM {table}")]


def test_first_use_creates_the_schema_with_wal_and_busy_timeout(tmp_path):
    path = tmp_path / "cnnpc.db"
    with Storage(f"sqlite:///{path}") as storage:
        assert storage.current_revision() == HEAD == storage.head_revision()
        assert storage.known_revisions() == [HEAD, "0003", "0002", "0001"]
        with storage._engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    assert _tables(path) >= {
        "cnnpc_searches",
        "cnnpc_trials",
        "cnnpc_accuracy_cache",
        "cnnpc_best_plans",
        VERSION_TABLE,
    }
    assert "alembic_version" not in _tables(path)  # Optuna's, left alone
    assert _version(path, VERSION_TABLE) == [HEAD]


def test_models_match_the_migrations(tmp_path):
    """Autogenerate finds nothing to do: the ORM models and migrations/ agree."""
    with Storage(f"sqlite:///{tmp_path / 'm.db'}") as storage, storage._engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "compare_type": True,
                "include_name": lambda name, type_, _: type_ != "table" or name != VERSION_TABLE,
            },
        )
        assert compare_metadata(context, Base.metadata) == []


def test_migrations_are_shipped_inside_the_package():
    location = _schema.script_location()
    assert location == Path(cnnpc.__file__).resolve().parent / "migrations"
    assert (location / "env.py").is_file()
    assert (location / "versions" / "0001_initial.py").is_file()


@pytest.mark.parametrize("optuna_first", [True, False])
def test_optuna_shares_the_database(tmp_path, optuna_first):
    path = tmp_path / "shared.db"
    url = f"sqlite:///{path}"

    def make_study() -> None:
        rdb = optuna.storages.RDBStorage(url, engine_kwargs=optuna_engine_kwargs(url))
        study = optuna.create_study(study_name="cnnpc-1", storage=rdb, load_if_exists=True)
        study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if optuna_first:
        make_study()
    with Storage(url) as storage:
        search = storage.get_or_create_search(spec())
        assert search.study_name == "cnnpc-1"
    if not optuna_first:
        make_study()
    assert _version(path, VERSION_TABLE) == [HEAD]
    optuna_head = _version(path, "alembic_version")
    assert len(optuna_head) == 1 and optuna_head != [HEAD]
    loaded = optuna.load_study(study_name="cnnpc-1", storage=url)
    assert len(loaded.trials) == 2
    with Storage(url) as storage:  # reopening checks our revision only
        assert storage.get_search(1).study_name == "cnnpc-1"


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "new.db"
    Storage(f"sqlite:///{path}").close()
    with sqlite3.connect(path) as db:
        db.execute(f"UPDATE {VERSION_TABLE} SET version_num = '0042'")
    with pytest.raises(StorageError) as info:
        Storage(f"sqlite:///{path}")
    assert str(info.value).startswith(
        "database schema 0042 is newer than this cnnpc; upgrade cnnpc"
    )
    with pytest.raises(StorageError, match="newer than this cnnpc"):
        Storage(f"sqlite:///{path}", ensure_schema=False).upgrade()


def test_older_schema_asks_for_db_upgrade(tmp_path, monkeypatch):
    path = tmp_path / "old.db"
    Storage(f"sqlite:///{path}").close()
    monkeypatch.setattr(_schema, "head_revision", lambda: "0099")
    monkeypatch.setattr(_schema, "known_revisions", lambda: ["0099", HEAD])
    with pytest.raises(StorageError) as info:
        Storage(f"sqlite:///{path}")
    assert str(info.value) == (
        f"database schema {HEAD} is older than this cnnpc (0099); run "
        f"'cnnpc db upgrade --storage sqlite:///{path}'"
    )


def test_failed_upgrade_leaves_the_database_untouched(tmp_path, monkeypatch):
    """The whole migration is one transaction, even on SQLite."""
    from alembic import command

    real_upgrade = command.upgrade

    def crash_after_migrating(config, revision):
        real_upgrade(config, revision)
        raise OperationalError("INSERT", {}, Exception("disk I/O error"))

    monkeypatch.setattr(command, "upgrade", crash_after_migrating)
    path = tmp_path / "crash.db"
    with pytest.raises(StorageError, match="disk I/O error"):
        Storage(f"sqlite:///{path}")
    assert not any(name.startswith("cnnpc_") for name in _tables(path))
    monkeypatch.setattr(command, "upgrade", real_upgrade)
    with Storage(f"sqlite:///{path}") as storage:
        assert storage.current_revision() == HEAD


def test_corrupt_file_is_a_one_line_error_and_is_not_modified(tmp_path):
    path = tmp_path / "corrupt.db"
    content = b"this is not a database " * 100
    path.write_bytes(content)
    with pytest.raises(StorageError) as info:
        Storage(f"sqlite:///{path}")
    assert str(info.value) == (
        f"sqlite:///{path} is not a readable cnnpc database: file is not a database"
    )
    assert path.read_bytes() == content


def test_bad_locations(tmp_path):
    with pytest.raises(StorageError, match="is a directory, not a database file"):
        Storage(f"sqlite:///{tmp_path}")
    missing = tmp_path / "nothing.db"
    with pytest.raises(StorageError, match=r"no cnnpc database at .*nothing\.db"):
        Storage(f"sqlite:///{missing}", create=False)
    assert not missing.exists()
    with pytest.raises(StorageError, match=r"invalid storage URL 'results/cnnpc\.db'"):
        Storage("results/cnnpc.db")
    with pytest.raises(StorageError, match=r"cannot use storage mysql://u:\*\*\*@h/d"):
        Storage("mysql://u:secret@h/d")


def test_default_url_is_results_under_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CNNPC_STORAGE", raising=False)
    assert resolve_url(None) == DEFAULT_URL == "sqlite:///results/cnnpc.db"
    with Storage(resolve_url(None)) as storage:
        storage.get_or_create_search(spec())
    assert (tmp_path / "results" / "cnnpc.db").is_file()


def test_url_precedence_and_masking(monkeypatch):
    monkeypatch.setenv("CNNPC_STORAGE", "sqlite:///env.db")
    assert resolve_url(None) == "sqlite:///env.db"
    assert resolve_url("sqlite:///cli.db") == "sqlite:///cli.db"
    monkeypatch.setenv("CNNPC_STORAGE", "  ")
    assert resolve_url("") == DEFAULT_URL
    assert display_url("postgresql://bob:pw@db:5432/cnnpc") == "postgresql://bob:***@db:5432/cnnpc"
    assert optuna_engine_kwargs("sqlite:///x.db") == {"connect_args": {"timeout": 30.0}}
    assert optuna_engine_kwargs("postgresql://h/d") == {
        "pool_pre_ping": True,
        "connect_args": {"connect_timeout": 10},
    }
