"""The edge and cloud servers: run this tier's part on each INFER frame, forward, reply.

One thread per connection, at most `max_connections` of them (one more is told "busy" and
closed), each with a buffer no larger than the plan's tensor: memory stays bounded whatever
clients do. A bad frame (magic, version, type, oversize length) gets an ERROR frame and the
connection is closed; a well-framed but wrong payload gets an ERROR and the connection stays;
a client that stalls mid-frame is dropped after `frame_timeout`, an idle one after
`idle_timeout`. Nothing a client sends stops the server.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cnnpc.deploy import DeployedPlan, LinkSpec
from cnnpc.errors import CnnpcError, InputError
from cnnpc.runtime._address import check_loopback
from cnnpc.runtime._frames import (
    ERROR,
    INFER,
    RESULT,
    FrameError,
    PayloadError,
    PeerClosed,
    decode_result,
    decode_tensor,
    encode_result,
    encode_tensor,
    error_payload,
    read_frame,
    send_frame,
)
from cnnpc.runtime._part import Part, requantize
from cnnpc.runtime._shaper import TokenBucket

log = logging.getLogger("cnnpc.runtime")
ROLES = ("edge", "cloud")
TENSOR_SLACK = 64
"""Bytes a tensor frame may carry beyond its data: dtype, rank and up to 8 dimensions."""
RESULT_SLACK = 4096


@dataclass(frozen=True)
class Limits:
    max_connections: int = 16
    frame_timeout: float = 10.0
    """Seconds a started frame may take to arrive completely."""
    idle_timeout: float = 30.0
    """Seconds a connection may wait between frames: idle clients cannot hold every slot."""
    forward_timeout: float = 60.0


@dataclass
class ServerStats:
    """What a server has seen (updated under a lock: connections run in threads)."""

    requests: int = 0
    errors: int = 0
    """Requests answered with an ERROR frame (the connection went on)."""
    dropped: int = 0
    """Connections closed for a bad frame, a timeout mid-frame or a peer leaving mid-frame."""
    busy: int = 0
    """Connections refused because `max_connections` were open."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, name: str) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + 1)


def result_limit(plan: DeployedPlan) -> int:
    """Largest RESULT payload a plan's last part can produce."""
    last = list(plan.parts.values())[-1]
    return last.output.nbytes + TENSOR_SLACK + RESULT_SLACK


class _Forwarder:
    """One persistent, shaped connection to the next server (reopened after a failure)."""

    def __init__(
        self, address: tuple[str, int], bucket: TokenBucket | None, limits: Limits
    ) -> None:
        self.address = address
        self.bucket = bucket
        self.limits = limits
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._next_id = 0

    def forward(
        self, tensor: np.ndarray, max_result: int, plan: int = 0
    ) -> tuple[dict[str, float], Any, float]:
        payload = encode_tensor(tensor)
        with self._lock:
            for attempt in (1, 2):
                try:
                    sock = self._connect()
                    self._next_id += 1
                    sock.settimeout(self.limits.forward_timeout)
                    start = time.perf_counter()
                    send_frame(sock, INFER, self._next_id, payload, self.bucket, plan)
                    frame = read_frame(sock, max_result, self.limits.forward_timeout)
                    elapsed = (time.perf_counter() - start) * 1e3
                    break
                except (OSError, PeerClosed, FrameError) as exc:
                    self.close()
                    if attempt == 2:
                        raise PayloadError(
                            f"next tier {self._where()} unavailable: {exc}"
                        ) from None
        if frame.type == ERROR:
            raise PayloadError(f"next tier: {frame.payload.decode('utf-8', 'replace')}")
        if frame.type != RESULT:
            raise PayloadError(f"next tier answered a frame of type {frame.type}")
        timings, result = decode_result(frame.payload)
        return timings, result, elapsed

    def _where(self) -> str:
        return f"{self.address[0]}:{self.address[1]}"

    def _connect(self) -> socket.socket:
        if self._sock is None:
            sock = socket.create_connection(self.address, timeout=self.limits.forward_timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._sock = sock
        return self._sock

    def close(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()
            self._sock = None


class PartServer:
    """The `role` tier of a deployed plan, listening on a loopback TCP port (0: the OS picks)."""

    def __init__(
        self,
        plan: DeployedPlan,
        role: str,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        next_address: tuple[str, int] | None = None,
        shape: bool = False,
        threads: int = 1,
        limits: Limits | None = None,
    ) -> None:
        if role not in ROLES:
            raise InputError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
        self.plan = plan
        self.role = role
        self.host = check_loopback(host)
        self.port = port
        self.limits = limits or Limits()
        incoming = next((lk for lk in plan.links if lk.target == role), None)
        if incoming is None:
            raise InputError(f"the plan sends nothing to the {role} (no {role} server needed)")
        self.incoming: LinkSpec = incoming
        spec = plan.part(role)
        self.part = None if spec is None else Part(plan.part_path(role), spec, threads)
        self.outgoing = plan.link(role) if role == "edge" else None
        self.forwarder: _Forwarder | None = None
        if self.outgoing is not None:
            if next_address is None:
                raise InputError("the plan goes on to the cloud: give the cloud's --next HOST:PORT")
            check_loopback(next_address[0])
            rate = self.outgoing.rate_bytes_per_s
            self.forwarder = _Forwarder(
                next_address, TokenBucket(rate) if shape else None, self.limits
            )
        self.max_payload = self.incoming.bytes + TENSOR_SLACK
        self.max_result = result_limit(plan)
        self.stats = ServerStats()
        self._slots = threading.BoundedSemaphore(self.limits.max_connections)
        self._listener: socket.socket | None = None
        self._stopped = threading.Event()
        self._threads: set[threading.Thread] = set()
        self._connections: set[socket.socket] = set()
        self._guard = threading.Lock()

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
        if self.forwarder is not None:
            self.forwarder.close()

    def __enter__(self) -> PartServer:
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
            if frame.type != INFER:
                self._reply_error(conn, frame.request_id, "expected an INFER frame")
                continue
            try:
                payload = self._handle(frame.payload, frame.plan)
            except PayloadError as exc:
                self._reply_error(conn, frame.request_id, str(exc))
                continue
            self.stats.add("requests")
            conn.settimeout(limits.frame_timeout)  # a client that stops reading is dropped too
            send_frame(conn, RESULT, frame.request_id, payload)

    def _reply_error(self, conn: socket.socket, request_id: int, message: str) -> None:
        self.stats.add("errors")
        conn.settimeout(self.limits.frame_timeout)
        send_frame(conn, ERROR, request_id, error_payload(message))

    def _handle(self, payload: bytes, plan: int = 0) -> bytes:
        if plan != 0:
            raise PayloadError(f"this server runs one plan, not plan {plan} of a plan set")
        start = time.perf_counter()
        x = decode_tensor(payload)
        expected = self.incoming.spec
        if tuple(x.shape) != expected.shape or x.dtype.name != expected.dtype:
            raise PayloadError(
                f"the {self.role} takes {expected.dtype}{list(expected.shape)}, "
                f"got {x.dtype.name}{list(x.shape)}"
            )
        compute_ms = 0.0
        if self.part is not None:
            x, compute_ms = self.part.run(requantize(x, expected, self.part.spec.input))
        timings = {f"{self.role}_compute_ms": compute_ms}
        if self.forwarder is not None:
            more, x, forward_ms = self.forwarder.forward(x, self.max_result)
            timings.update(more)
            timings[f"{self.role}_forward_ms"] = forward_ms
        timings[f"{self.role}_service_ms"] = (time.perf_counter() - start) * 1e3
        return encode_result(timings, x)


@contextlib.contextmanager
def running_servers(
    plan: DeployedPlan, *, shape: bool = True, threads: int = 1, limits: Limits | None = None
) -> Iterator[tuple[str, int] | None]:
    """Start the plan's cloud and edge servers on loopback ports the OS picks; yield the edge's
    address (None for an end-only plan), stop them on exit."""
    servers: list[PartServer] = []
    try:
        next_address = None
        if plan.link("edge") is not None:
            cloud = PartServer(plan, "cloud", shape=shape, threads=threads, limits=limits)
            servers.append(cloud)
            next_address = cloud.start()
        edge_address = None
        if plan.link("end") is not None:
            edge = PartServer(
                plan, "edge", next_address=next_address, shape=shape, threads=threads, limits=limits
            )
            servers.append(edge)
            edge_address = edge.start()
        yield edge_address
    finally:
        for server in reversed(servers):
            server.stop()
