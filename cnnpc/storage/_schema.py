"""Alembic: where the migrations are, which revision a database is at, upgrading it.

cnnpc keeps its revision in ``cnnpc_alembic_version``: Optuna's RDB storage shares the
database and owns ``alembic_version``. Alembic is imported lazily (only these calls need it).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from cnnpc.errors import first_line
from cnnpc.storage._engine import storage_error
from cnnpc.storage._errors import StorageError
from cnnpc.storage._url import display_url, scrub

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

VERSION_TABLE = "cnnpc_alembic_version"
# Any constant works: it only has to be the same in every cnnpc process (PostgreSQL only).
_PG_ADVISORY_LOCK_KEY = 0x636E6E7063  # "cnnpc"


def script_location() -> Path:
    """The packaged migrations folder (cnnpc/migrations, a link to the top-level migrations/)."""
    return Path(__file__).resolve().parent.parent / "migrations"


def _config(url: str) -> Config:
    from alembic.config import Config

    config = Config()
    # '%' would start ConfigParser interpolation (a URL-encoded password, a path).
    config.set_main_option("script_location", str(script_location()).replace("%", "%%"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def _script() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config("sqlite://"))


def head_revision() -> str:
    """The newest revision this cnnpc knows."""
    head = _script().get_current_head()
    if head is None:  # pragma: no cover - the package always ships its migrations
        raise StorageError(f"no migrations found in {script_location()}")
    return head


def known_revisions() -> list[str]:
    """Every revision this cnnpc knows, newest first."""
    return [rev.revision for rev in _script().walk_revisions()]


def _current(connection: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return context.get_current_revision()


def current_revision(engine: Engine, url: str) -> str | None:
    """The revision the database is at; None when cnnpc's tables were never created."""
    try:
        with engine.connect() as connection:
            return _current(connection)
    except SQLAlchemyError as exc:
        raise storage_error(exc, url) from exc


def _refuse_newer(current: str | None, url: str) -> None:
    if current is not None and current not in known_revisions():
        raise StorageError(
            f"database schema {current} is newer than this cnnpc; upgrade cnnpc "
            f"(database: {display_url(url)})"
        )


def check_schema(engine: Engine, url: str) -> None:
    """Create the schema in an empty database; refuse a database at another revision."""
    current = current_revision(engine, url)
    if current is None:
        upgrade(engine, url)
        return
    head = head_revision()
    if current == head:
        return
    _refuse_newer(current, url)
    raise StorageError(
        f"database schema {current} is older than this cnnpc ({head}); run "
        f"'cnnpc db upgrade --storage {display_url(url)}'"
    )


@contextmanager
def migration_connection(engine: Engine) -> Iterator[Connection]:
    """A connection to migrate on; on SQLite with foreign keys off until it is given back.

    Batch mode recreates a table on SQLite: it drops the old one, which with foreign keys on
    deletes every row referring to it (ON DELETE CASCADE: a search's trials). The pragma only
    changes outside a transaction, so it is set before and restored after (rolled back first).
    """
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as connection:
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        try:
            yield connection
        finally:
            if sqlite:
                connection.rollback()
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")


def _check_foreign_keys(connection: Connection) -> None:
    """Refuse to commit a migration that left a row pointing nowhere (SQLite checks none while
    it migrates)."""
    if connection.dialect.name == "sqlite":
        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise StorageError(f"the migration left {len(broken)} row(s) pointing nowhere")


def upgrade(engine: Engine, url: str) -> tuple[str | None, str]:
    """Upgrade to head in one transaction; return (revision before, head).

    The transaction holds a lock for its whole length (SQLite: BEGIN IMMEDIATE; PostgreSQL:
    an advisory lock), so workers starting together on an empty database upgrade it once and
    the others then find it done; a failure leaves the database as it was.
    """
    from alembic import command
    from alembic.util import CommandError

    quiet = logging.getLogger("alembic")
    if quiet.level == logging.NOTSET:  # its INFO lines are noise in a CLI (as Optuna does)
        quiet.setLevel(logging.WARNING)
    head = head_revision()
    try:
        with migration_connection(engine) as connection:
            if engine.dialect.name == "sqlite":
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            elif engine.dialect.name == "postgresql":
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_ADVISORY_LOCK_KEY}
                )
            before = _current(connection)
            _refuse_newer(before, url)
            if before != head:
                config = _config(url)
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
                _check_foreign_keys(connection)
            connection.commit()
    except SQLAlchemyError as exc:
        raise storage_error(exc, url) from exc
    except CommandError as exc:
        raise StorageError(
            f"cannot upgrade {display_url(url)}: {scrub(first_line(exc), url)}"
        ) from None
    return before, head
