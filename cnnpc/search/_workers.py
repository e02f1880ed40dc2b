"""Who this worker is, and whether another worker is still alive.

Several `cnnpc search` processes may share a search (one database, local SQLite or a PostgreSQL
server). A worker is named host:pid. One on this host is gone when its pid no longer runs; one on
another host when its work has been held for longer than STALE_AFTER_S (no fine-tune takes that
long), since its pid cannot be checked from here.
"""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime

STALE_AFTER_S = 6 * 3600.0


def this_worker() -> str:
    """This process's name (recomputed: a forked child is another worker)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def worker_gone(worker: str, since: datetime | None) -> bool:
    """Whether `worker`, holding something since `since`, can no longer finish it."""
    host, _, pid = worker.rpartition(":")
    if host == socket.gethostname() and pid.isdigit():
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False
    if since is None:
        return True
    now = datetime.now() if since.tzinfo is None else datetime.now(UTC)  # Optuna's are naive
    return (now - since).total_seconds() > STALE_AFTER_S
