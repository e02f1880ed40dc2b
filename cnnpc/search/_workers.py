"""Who this worker is, and the heartbeat that tells the others it is still alive.

Several `cnnpc search` processes may share a search (one database, local SQLite or a PostgreSQL
server, workers on any host). Liveness is judged the same way everywhere: a worker renews a
heartbeat every `heartbeat_s` while it holds something (Optuna's trial heartbeat for its running
trials, the claims' own heartbeat column for its claims), and anything whose heartbeat is older
than `grace_s` is taken over, whatever host its holder ran on. No pid is checked and no host is
trusted, so a worker killed on another machine costs the others one grace period, not hours.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from cnnpc.errors import InputError

DEFAULT_HEARTBEAT_S = 10
DEFAULT_GRACE_S = 60
WORKER_ENV = "CNNPC_WORKER"
"""Names this worker in the database instead of the host name (pid and a token are added)."""

_log = logging.getLogger(__name__)
_identity: tuple[int, str] | None = None


@dataclass(frozen=True)
class Liveness:
    """How often holders renew their heartbeat and how stale one may get before a takeover.

    Whole seconds: Optuna's RDBStorage takes integers. The grace period must leave room for
    at least two missed beats (a busy database, a long garbage collection).
    """

    heartbeat_s: int = DEFAULT_HEARTBEAT_S
    grace_s: int = DEFAULT_GRACE_S

    def __post_init__(self) -> None:
        for name in ("heartbeat_s", "grace_s"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InputError(f"{name} must be a whole number of seconds >= 1, got {value!r}")
        if self.grace_s < 2 * self.heartbeat_s:
            raise InputError(
                f"the grace period ({self.grace_s} s) must be at least twice the heartbeat "
                f"interval ({self.heartbeat_s} s), or a live worker may be taken over"
            )


def this_worker() -> str:
    """This process's name, ``host:pid:token`` (a forked child is another worker).

    The token keeps a restarted process that reuses a dead one's pid from passing for it.
    """
    global _identity
    pid = os.getpid()
    if _identity is None or _identity[0] != pid:
        host = os.environ.get(WORKER_ENV) or socket.gethostname()
        _identity = (pid, f"{host}:{pid}:{uuid.uuid4().hex[:8]}")
    return _identity[1]


class Pulse:
    """Calls `beat` now and then every `interval_s` on a background thread until stopped.

    A failing beat (a database blip) is logged and tried again at the next interval: missing
    one beat is what the grace period is for.
    """

    def __init__(self, beat: Callable[[], object], interval_s: float, name: str) -> None:
        self._beat = beat
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def _loop(self) -> None:
        while True:
            try:
                self._beat()
            except Exception as exc:  # keep beating: the next one may succeed
                _log.warning("heartbeat failed (retrying in %g s): %s", self._interval_s, exc)
            if self._stop.wait(self._interval_s):
                return

    def start(self) -> Pulse:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join()

    def __enter__(self) -> Pulse:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
