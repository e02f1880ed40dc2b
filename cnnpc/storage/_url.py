"""Which database a command uses: `--storage`, then `CNNPC_STORAGE`, then results/cnnpc.db.

Also THE rendering of a URL for people (`display_url`, `scrub`): a storage URL may carry a
password, and nothing cnnpc prints, logs or writes may show it.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from cnnpc.storage._errors import StorageError

DEFAULT_URL = "sqlite:///results/cnnpc.db"
ENV_VAR = "CNNPC_STORAGE"
SQLITE_BUSY_TIMEOUT_S = 30.0
# A database server that accepts the connection but never answers must fail in bounded time;
# `?connect_timeout=S` in the URL (libpq's, also MySQL's) overrides it.
CONNECT_TIMEOUT_S = 10
MAX_CONNECT_TIMEOUT_S = 3600
_SERVER_BACKENDS = ("postgresql", "mysql", "mariadb")

MASK = "***"
# Query keys whose values are secrets (compared lower-case); any key containing one of
# _SECRET_WORDS is one too (`sslpassword`, `client_secret`, `auth_token`, ...).
_SECRET_KEYS = frozenset({"pass", "passwd", "pwd", "pw", "passphrase", "apikey", "api_key"})
_SECRET_WORDS = ("password", "secret", "token", "credential")
# A stand-in that survives URL quoting, swapped for MASK after rendering.
_PLACEHOLDER = "CNNPCMASKEDSECRET"
# Shorter secret values are masked only where their key shows (replacing "ab" everywhere
# would garble the message without hiding much).
_MIN_SCRUBBED_LEN = 4


def resolve_url(cli_value: str | None) -> str:
    """The storage URL a command should use (the CLI value wins over the environment)."""
    if cli_value is not None and cli_value.strip():
        return cli_value.strip()
    env = os.environ.get(ENV_VAR, "").strip()
    return env or DEFAULT_URL


def parse_url(url: str) -> URL:
    """SQLAlchemy URL object, or a one-line StorageError naming the expected form.

    A server URL's `connect_timeout` is checked here, before any connection: libpq and psycopg
    read 0 or less as "no timeout" (the silent host's 130 s wait) and raise anything below 2 s
    to 2 s, so only whole seconds from 2 to MAX_CONNECT_TIMEOUT_S say what they do.
    """
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise StorageError(
            f"invalid storage URL {display_url(url)!r} (expected a SQLAlchemy URL such as "
            f"{DEFAULT_URL} or postgresql://user@host/db)"
        ) from None
    if parsed.get_backend_name() in _SERVER_BACKENDS and "connect_timeout" in parsed.query:
        _url_timeout(parsed, url)
    return parsed


def _url_timeout(parsed: URL, url: str) -> int:
    value = parsed.query["connect_timeout"]
    text = value if isinstance(value, str) else ",".join(value)
    seconds = int(text) if text.strip().isdigit() else None
    if seconds is None or not 2 <= seconds <= MAX_CONNECT_TIMEOUT_S:
        raise StorageError(
            f"connect_timeout={text[:40]!r} in storage URL {display_url(url)}: give whole "
            f"seconds from 2 to {MAX_CONNECT_TIMEOUT_S} (0 or less waits on a silent server "
            "for minutes, below 2 is raised to 2)"
        )
    return seconds


def connect_timeout_s(url: str) -> int | None:
    """Seconds a connection to the URL's server may take (None: not a server, e.g. SQLite)."""
    parsed = parse_url(url)
    if parsed.get_backend_name() not in _SERVER_BACKENDS:
        return None
    if "connect_timeout" in parsed.query:
        return _url_timeout(parsed, url)
    return CONNECT_TIMEOUT_S


def _is_secret(key: str) -> bool:
    key = key.strip().lower()
    return key in _SECRET_KEYS or any(word in key for word in _SECRET_WORDS)


# Each pattern starts only where a word starts (the look-behinds), so a long input costs
# linear time, not a scan from every character.
# key=value where the key names a secret: in a URL's query (`&password=x`), a libpq DSN
# (`password='x y'`), or an option inside another value (`options=-c password=x`).
_SECRET_PAIR = re.compile(
    r"(?<![\w.-])(?P<key>[A-Za-z_][\w.-]*)(?P<eq>\s*=\s*)"
    r"(?P<value>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|[^\s&;,'\"]*)"
)
# scheme://user:password@ in any text (a URL the parser refused, a driver's message).
_USERINFO = re.compile(
    r"(?<![\w+.-])(?P<head>[A-Za-z][\w+.-]*://[^\s:/@?#]*):(?P<password>[^\s/?#]*)@"
)


def _mask_text(text: str) -> str:
    text = _USERINFO.sub(lambda m: f"{m['head']}:{MASK}@", text)
    return _SECRET_PAIR.sub(
        lambda m: f"{m['key']}{m['eq']}{MASK}" if _is_secret(m["key"]) else m[0], text
    )


def display_url(url: str) -> str:
    """THE rendering of a storage URL for messages, logs, JSON and workbooks.

    The password is masked wherever it is: the user part, a secret query parameter
    (`?password=`, `?sslpassword=`, `?PWD=`, ... any case), and a `key=value` inside another
    parameter (libpq's `options=-c password=...`). A URL the parser refuses is masked by the
    same patterns, never echoed raw.
    """
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return _mask_text(url)
    query: dict[str, str | tuple[str, ...]] = {}
    for key, value in parsed.query.items():
        if _is_secret(key):
            query[key] = _PLACEHOLDER
        elif isinstance(value, str):
            query[key] = _mask_text(value)
        else:
            query[key] = tuple(_mask_text(v) for v in value)
    masked = parsed.set(query=query)
    if parsed.password is not None:
        masked = masked.set(password=_PLACEHOLDER)
    rendered = masked.render_as_string(hide_password=False).replace(_PLACEHOLDER, MASK)
    return _mask_text(rendered)


def scrub(text: str, url: str) -> str:
    """`text` (a driver's or SQLAlchemy's message) without the secrets of `url` in it.

    Why: drivers echo the URL, the DSN or a parameter back in their errors. The patterns of
    `display_url` cover those forms; the URL's own secret values are replaced too wherever they
    appear, when long enough that replacing them cannot garble the message.
    """
    values: set[str] = set()
    try:
        parsed: URL | None = make_url(url)
    except (ArgumentError, ValueError):
        parsed = None
    if parsed is not None:
        if parsed.password is not None:
            values.add(str(parsed.password))
        for key, value in parsed.query.items():
            if _is_secret(key):
                values.update([value] if isinstance(value, str) else value)
    values |= {quote_plus(v) for v in values} | {quote(v, safe="") for v in values}
    text = text.replace(url, display_url(url))
    for value in sorted(values, key=len, reverse=True):
        if len(value) >= _MIN_SCRUBBED_LEN:
            text = text.replace(value, MASK)
    return _mask_text(text)


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
    return _check_sqlite_file(Path(database))


def _check_sqlite_file(path: Path) -> Path:
    """`path` if SQLite may open it: absent (it will be made) or a regular file. Why: SQLite
    on a FIFO blocks, a dangling link would be created at its target, and an over-long name
    is an OSError, not a one-line error."""
    try:
        st = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        if path.is_symlink():
            raise StorageError(f"{path} is a link to nothing, not a database file") from None
        return path
    except OSError as exc:
        raise StorageError(f"cannot use database file {path}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(st.st_mode):
        raise StorageError(f"{path} is a directory, not a database file")
    if not stat.S_ISREG(st.st_mode):
        raise StorageError(f"{path} is not a regular file, so not a database file")
    return path


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
