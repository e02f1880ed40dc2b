"""A frame server's connections: listen on loopback, one thread per connection, bounded.

At most `max_connections` connections (one more is told "busy" and closed), each reading frames
no larger than the server's `max_payload`: memory stays bounded whatever clients do. A bad frame
(magic, version, type, oversize length) gets an ERROR frame and the connection is closed; a
well-framed but wrong payload gets an ERROR and the connection stays; a client that stalls
mid-frame is dropped after `frame_timeout`, an idle one after `idle_timeout`. Nothing a client
sends stops the server. What a frame means is the subclass's `_answer`.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time

from cnnpc.errors import CnnpcError
from cnnpc.runtime._address import check_loopback
from cnnpc.runtime._frames import (
    ERROR,
    RESULT,
    Frame,
    FrameError,
    PayloadError,
    PeerClosed,
    error_payload,
    read_frame,
    send_frame,
)
from cnnpc.runtime._rpc import Limits, ServerStats, StatusError

log = logging.getLogger("cnnpc.runtime")


class FrameServer:
    """The `role` tier listening on a loopback TCP port (0: the OS picks); see the module doc."""

    max_payload: int

    def __init__(self, role: str, host: str, port: int, limits: Limits | None) -> None:
        self.role = role
        self.host = check_loopback(host)
        self.port = port
        self.limits = limits or Limits()
        self.stats = ServerStats()
        self._slots = threading.BoundedSemaphore(self.limits.max_connections)
        self._listener: socket.socket | None = None
        self._stopped = threading.Event()
        self._threads: set[threading.Thread] = set()
        self._connections: set[socket.socket] = set()
        self._guard = threading.Lock()

    def _answer(self, frame: Frame) -> tuple[int, bytes] | None:
        """The reply (frame type, payload) to one well-formed frame; None: no reply.
        Raise PayloadError to answer with an ERROR frame and keep the connection."""
        raise NotImplementedError

    def _closing(self) -> None:
        """Release what the subclass holds once every connection is closed."""

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port

    def start(self) -> tuple[str, int]:
        """Bind and listen, and accept in a background thread; returns (host, port)."""
        if self._listener is not None:
            return self.address
        try:
            listener = socket.create_server((self.host, self.port), backlog=64)
        except OSError as exc:
            raise CnnpcError(f"cannot listen on {self.host}:{self.port}: {exc.strerror}") from None
        listener.settimeout(0.2)
        self._listener = listener
        self.port = int(listener.getsockname()[1])
        thread = threading.Thread(target=self._accept_loop, name=f"{self.role}-accept", daemon=True)
        thread.start()
        self._threads.add(thread)
        return self.address

    def stop(self) -> None:
        """Stop accepting, close every connection, wait for the threads."""
        self._stopped.set()
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.close()
        with self._guard:
            for conn in list(self._connections):
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout=5.0)
        self._closing()

    def __enter__(self) -> FrameServer:
        if self._listener is None:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def request_stop(self) -> None:
        """Make `wait` return (safe from a signal handler); `stop` then cleans up."""
        self._stopped.set()

    def wait(self) -> None:
        """Block until stopped (the CLI's foreground server)."""
        while not self._stopped.wait(0.5):
            pass

    def active_connections(self) -> int:
        with self._guard:
            return len(self._connections)

    # -- connections -------------------------------------------------------------------

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stopped.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                if self._stopped.is_set():
                    return
                time.sleep(0.05)  # e.g. out of file descriptors: back off, keep serving
                continue
            if not self._slots.acquire(blocking=False):
                self.stats.add("busy")
                with contextlib.suppress(OSError):
                    conn.settimeout(1.0)
                    send_frame(conn, ERROR, 0, error_payload("server busy: too many connections"))
                conn.close()
                continue
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            with self._guard:
                self._connections.add(conn)
                self._threads.add(thread)
            try:
                thread.start()
            except RuntimeError:  # no thread to be had: refuse this one, keep accepting
                log.warning("%s: cannot start a connection thread", self.role)
                with self._guard:
                    self._connections.discard(conn)
                    self._threads.discard(thread)
                conn.close()
                self._slots.release()

    def _serve(self, conn: socket.socket) -> None:
        try:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._serve_frames(conn)
        except OSError:  # the peer left while we were answering
            pass
        except Exception:  # never let one connection take the server down
            log.exception("%s: connection failed", self.role)
        finally:
            with contextlib.suppress(OSError):
                conn.close()
            with self._guard:
                self._connections.discard(conn)
                self._threads.discard(threading.current_thread())
            self._slots.release()

    def _serve_frames(self, conn: socket.socket) -> None:
        limits = self.limits
        while not self._stopped.is_set():
            try:
                frame = read_frame(
                    conn, self.max_payload, limits.frame_timeout, limits.idle_timeout
                )
            except (PeerClosed, TimeoutError, OSError) as exc:
                if isinstance(exc, PeerClosed) and "middle" in str(exc):
                    self.stats.add("dropped")
                return
            except FrameError as exc:
                self.stats.add("dropped")
                with contextlib.suppress(OSError):
                    conn.settimeout(1.0)
                    send_frame(conn, ERROR, 0, error_payload(str(exc)))
                return
            try:
                reply = self._answer(frame)
            except (PayloadError, StatusError) as exc:  # StatusError: a part refused it
                self._reply_error(conn, frame.request_id, str(exc))
                continue
            if reply is None:
                continue
            if reply[0] == RESULT:
                self.stats.add("requests")
            conn.settimeout(limits.frame_timeout)  # a client that stops reading is dropped too
            send_frame(conn, reply[0], frame.request_id, reply[1])

    def _reply_error(self, conn: socket.socket, request_id: int, message: str) -> None:
        self.stats.add("errors")
        conn.settimeout(self.limits.frame_timeout)
        send_frame(conn, ERROR, request_id, error_payload(message))
