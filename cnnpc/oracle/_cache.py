"""Where results and baseline weights are kept, and the cache interface in front of the oracle.

The oracle only needs ``get`` and ``put`` of JSON-able records by key, so any store can stand in:
a dictionary, one JSON file per key (here), or the SQL-backed cache of the search issue.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Protocol

from cnnpc._files import write_text


def default_cache_dir() -> Path:
    """``$CNNPC_CACHE_DIR``, else ``$XDG_CACHE_HOME/cnnpc``, else ``~/.cache/cnnpc``."""
    explicit = os.environ.get("CNNPC_CACHE_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "cnnpc"


def key_file(directory: Path, key: str, suffix: str) -> Path:
    """The file of cache key `key` under `directory` (keys are alphanumeric: never a path)."""
    if not key.isalnum():
        raise ValueError(f"cache keys are alphanumeric, got {key!r}")
    return directory / f"{key}{suffix}"


class ResultCache(Protocol):
    """A store of oracle results by configuration key."""

    def get(self, key: str) -> dict[str, Any] | None: ...

    def put(self, key: str, record: dict[str, Any]) -> None: ...


class MemoryCache:
    """Results in a dictionary: for one process (and tests)."""

    def __init__(self) -> None:
        self.records: dict[str, dict[str, Any]] = {}

    def get(self, key: str) -> dict[str, Any] | None:
        record = self.records.get(key)
        return None if record is None else dict(record)

    def put(self, key: str, record: dict[str, Any]) -> None:
        self.records[key] = dict(record)


class DiskCache:
    """One JSON file per key under `directory`, written atomically (safe across processes)."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)

    def _path(self, key: str) -> Path:
        return key_file(self.directory, key, ".json")

    def get(self, key: str) -> dict[str, Any] | None:
        path = self._path(key)
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):  # unreadable or half-written by an old crash: recompute
            return None
        return record if isinstance(record, dict) else None

    def put(self, key: str, record: dict[str, Any]) -> None:
        write_text(self._path(key), json.dumps(record, indent=1, sort_keys=True), make_parent=True)
