"""Opening a database only once a command is sure to write to it.

A command whose inputs are checked by heavy work (loading a model file, training a baseline)
must not leave a new, empty database behind when that work refuses them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from cnnpc._files import check_files_in
from cnnpc.storage._storage import Storage
from cnnpc.storage._url import parse_url, sqlite_path


def existing_storage(url: str) -> Storage | None:
    """The database at `url` when it exists already (a server's always does: connecting
    creates nothing, and a bad URL or an unreachable server fails now, before the heavy work);
    None for a SQLite file still to be made, once it is known it can be made. Open it with
    `Storage(url)` after the heavy work."""
    parse_url(url)
    path = sqlite_path(url)
    if path is None or path.exists():
        return Storage(url, create=False)
    check_files_in(path.parent, [path.name])
    return None


T = TypeVar("T")


def open_around(url: str, work: Callable[[], T]) -> tuple[Storage, T]:
    """Run `work` (the heavy checks) with the database at `url` opened as existing_storage
    says, closed again if the work fails (no -wal or -shm file left beside it), and a new SQLite
    file made only after the work succeeded."""
    storage = existing_storage(url)
    try:
        result = work()
    except BaseException:
        if storage is not None:
            storage.close()
        raise
    return (storage or Storage(url)), result
