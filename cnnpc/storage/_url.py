"""Which database a command uses: `--storage`, then `CNNPC_STORAGE`, then results/cnnpc.db."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from cnnpc.storage._errors import StorageError

DEFAULT_URL = "sqlite:///results/cnnpc.db"
ENV_VAR = "CNNPC_STORAGE"
SQLITE_BUSY_TIMEOUT_S = 30.0
# A database server that accepts the connection but never answers must fail in bounded time;
# `?connect_timeout=S` in the URL (libpq's, also MySQL's) overrides it.
CONNECT_TIMEOUT_S = 10
_SERVER_BACKENDS = ("postgresql", "mysql", "mariadb")


def resolve_url(cli_value: str | None) -> str:
    """The storage URL a command should use (the CLI value wins over the environment)."""
    if cli_value is not None and cli_value.strip():
        return cli_value.strip()
    env = os.environ.get(ENV_VAR, "").strip()
    return env or DEFAULT_URL


def parse_url(url: str) -> URL:
    """SQLAlchemy URL object, or a one-line StorageError naming the expected form."""
    try:
        return make_url(url)
    except (ArgumentError, ValueError):
        raise StorageError(
            f"invalid storage URL {url!r} (expected a SQLAlchemy URL such as {DEFAULT_URL} "
            "or postgresql://user@host/db)"
        ) from None


def display_url(url: str) -> str:
    """The URL with any password masked, for messages and exports."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return url


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL (relative to the working directory), else None.

    None too for in-memory SQLite, which has no file.
    """
    parsed = parse_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def optuna_engine_kwargs(url: str) -> dict[str, Any]:
    """`engine_kwargs` for `optuna.storages.RDBStorage` on the same database.

    Optuna opens its own engine; on SQLite it must wait for our writers (and other workers)
    as long as we wait for its, instead of failing after pysqlite's default 5 seconds.
    WAL mode is a property of the database file, so our first connection enables it for both.
    """
    if parse_url(url).get_backend_name() == "sqlite":
        return {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_S}}
    return {"pool_pre_ping": True, "connect_args": server_connect_args(url)}


def server_connect_args(url: str) -> dict[str, Any]:
    """Driver arguments for a database server: the connect timeout unless the URL sets one."""
    parsed = parse_url(url)
    if parsed.get_backend_name() not in _SERVER_BACKENDS or "connect_timeout" in parsed.query:
        return {}
    return {"connect_timeout": CONNECT_TIMEOUT_S}
