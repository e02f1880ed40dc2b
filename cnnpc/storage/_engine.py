"""Engine set-up (SQLite: WAL, busy timeout, foreign keys) and the one session scope.

Every driver error leaves this module as a one-line StorageError; lock and unique-key races
get their own subclasses so the storage methods can retry or re-read.
"""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from cnnpc.storage._errors import StorageBusyError, StorageConflictError, StorageError
from cnnpc.storage._url import (
    SQLITE_BUSY_TIMEOUT_S,
    connect_timeout_s,
    display_url,
    parse_url,
    scrub,
    server_connect_args,
)

P = ParamSpec("P")
R = TypeVar("R")

_BUSY_MARKERS = ("database is locked", "database table is locked", "busy", "deadlock")


def make_engine(url: str) -> Engine:
    """Engine for `url`; on SQLite every connection waits for locks and uses WAL."""
    parsed = parse_url(url)
    try:
        if parsed.get_backend_name() == "sqlite":
            engine = create_engine(
                parsed, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False}
            )
            event.listen(engine, "connect", _sqlite_on_connect)
        else:
            engine = create_engine(
                parsed, pool_pre_ping=True, connect_args=server_connect_args(url)
            )
    except ImportError as exc:
        raise StorageError(
            f"cannot use storage {display_url(url)}: its database driver is not installed "
            f"({_first_line(exc, url)})"
        ) from None
    except SQLAlchemyError as exc:
        raise StorageError(
            f"cannot use storage {display_url(url)}: {_first_line(exc, url)}"
        ) from None
    return engine


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run beside one writer (two search workers, a `cnnpc searches` while a
    # search runs); the busy timeout makes a writer wait for the lock instead of failing.
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        _switch_to_wal(cursor)
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def _switch_to_wal(cursor: Any) -> None:
    """Enable WAL, waiting out a concurrent switch.

    Changing the journal mode needs an exclusive lock and SQLite may refuse it at once
    ("database is locked") without calling the busy handler, e.g. when several processes open a
    brand-new file together; once WAL is on (it persists in the file) no switch is needed.
    """
    cursor.execute("PRAGMA journal_mode")
    if str(cursor.fetchone()[0]).lower() == "wal":
        return
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_S
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except Exception as exc:  # the driver's OperationalError
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(random.uniform(0.01, 0.05))


def _first_line(exc: BaseException, url: str) -> str:
    """The driver's own message, one line, without SQLAlchemy's SQL echo and links, and
    without the URL's secrets (drivers echo the DSN or a parameter back)."""
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip()
    return scrub((text.splitlines() or [type(exc).__name__])[0], url)


def storage_error(exc: BaseException, url: str) -> StorageError:
    """Map a SQLAlchemy (or raw DBAPI) error to the StorageError the caller should see."""
    message = _first_line(exc, url)
    where = display_url(url)
    if isinstance(exc, IntegrityError):
        return StorageConflictError(f"conflicting write in {where}: {message}")
    if isinstance(exc, OperationalError | DBAPIError) and any(
        marker in message.lower() for marker in _BUSY_MARKERS
    ):
        return StorageBusyError(f"database {where} stayed busy: {message}")
    if "timeout expired" in message:
        return StorageError(
            f"cannot reach {where}: {message} (no answer within the connect timeout, "
            f"{connect_timeout_s(url)} s; set another with ?connect_timeout=S in the URL)"
        )
    if "not a database" in message or "malformed" in message:
        return StorageError(f"{where} is not a readable cnnpc database: {message}")
    return StorageError(f"database error in {where}: {message}")


@contextmanager
def session_scope(factory: sessionmaker[Session], url: str) -> Iterator[Session]:
    """A session that commits on success, rolls back on any error and always closes."""
    session = factory()
    try:
        yield session
        session.commit()
    except SQLAlchemyError as exc:
        session.rollback()
        raise storage_error(exc, url) from exc
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def retrying(attempts: int = 6) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Re-run a whole storage method after a lost race (busy lock, unique-key conflict).

    The methods it wraps are written to be re-run: they read before they write, so the second
    attempt finds the row the concurrent writer committed.
    """

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            for attempt in range(attempts):
                try:
                    return fn(*args, **kwargs)
                except (StorageBusyError, StorageConflictError):
                    if attempt == attempts - 1:
                        raise
                    time.sleep(min(2.0, 0.05 * 2**attempt) * (0.5 + random.random()))
            raise AssertionError("unreachable")

        return wrapper

    return decorate
