"""The edge and cloud servers: run this tier's part on each INFER frame, forward, reply.

Connections, limits and bad frames are FrameServer's (``_listener``). What a request runs is a
route: the tensor it takes, the parts to run in turn and whether the result goes on to the next
tier. A single plan has one route (number 0); a plan set one per plan (``_setserver``); an edge
that receives its parts while it serves, one per span it holds (``_uploadedge``). One handler,
``serve_route``, runs them all.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

from cnnpc.errors import InputError
from cnnpc.records import DeployedPlan, LinkSpec, TensorSpec
from cnnpc.runtime._address import check_loopback
from cnnpc.runtime._frames import (
    ERROR,
    INFER,
    RESULT,
    Frame,
    FrameError,
    PayloadError,
    PeerClosed,
    decode_result,
    decode_tensor,
    encode_result,
    encode_tensor,
    read_frame,
    send_frame,
)
from cnnpc.runtime._listener import FrameServer
from cnnpc.runtime._part import Part, requantize
from cnnpc.runtime._rpc import Limits, ServerStats, Tensor, remote_text
from cnnpc.runtime._shaper import TokenBucket
from cnnpc.runtime._verify import verify_plan

__all__ = ["Limits", "PartServer", "Route", "ServerStats", "running_servers", "serve_route"]
ROLES = ("edge", "cloud")
TENSOR_SLACK = 64
"""Bytes a tensor frame may carry beyond its data: dtype, rank and up to 8 dimensions."""
RESULT_SLACK = 4096


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
        self, tensor: Tensor, max_result: int, plan: int = 0
    ) -> tuple[dict[str, float], Tensor, float]:
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
            raise PayloadError(f"next tier: {remote_text(frame.payload)}")
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


@dataclass(frozen=True)
class Route:
    """What one request number runs on this tier."""

    what: str
    """How errors name it ("the edge", "plan 2 on the edge")."""
    incoming: TensorSpec
    parts: tuple[Part, ...]
    """Run in turn (requantised between them); none: the tier only relays."""
    forwards: bool


def serve_route(
    route: Route,
    payload: bytes,
    role: str,
    plan: int = 0,
    forwarder: _Forwarder | None = None,
    max_result: int = 0,
) -> bytes:
    """The RESULT payload of one request along `route` (the one request handler)."""
    start = time.perf_counter()
    x = decode_tensor(payload)
    expected = route.incoming
    if tuple(x.shape) != expected.shape or x.dtype.name != expected.dtype:
        raise PayloadError(
            f"{route.what} takes {expected.dtype}{list(expected.shape)}, "
            f"got {x.dtype.name}{list(x.shape)}"
        )
    compute_ms = 0.0
    spec = expected
    for part in route.parts:
        x, ms = part.run(requantize(x, spec, part.spec.input))
        compute_ms += ms
        spec = part.spec.output
    timings = {f"{role}_compute_ms": compute_ms}
    if route.forwards:
        assert forwarder is not None
        more, x, forward_ms = forwarder.forward(x, max_result, plan)
        timings.update(more)
        timings[f"{role}_forward_ms"] = forward_ms
    timings[f"{role}_service_ms"] = (time.perf_counter() - start) * 1e3
    return encode_result(timings, x)


class PartServer(FrameServer):
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
        super().__init__(role, host, port, limits)
        self.plan = plan
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
        self.routes: dict[int, Route] = {
            0: Route(
                f"the {role}",
                incoming.spec,
                () if self.part is None else (self.part,),
                self.forwarder is not None,
            )
        }
        self.max_payload = self.incoming.bytes + TENSOR_SLACK
        self.max_result = result_limit(plan)

    def _closing(self) -> None:
        if self.forwarder is not None:
            self.forwarder.close()

    def _route(self, plan: int) -> Route:
        route = self.routes.get(plan)
        if route is None:
            raise PayloadError(f"this server runs one plan, not plan {plan} of a plan set")
        return route

    def _answer(self, frame: Frame) -> tuple[int, bytes] | None:
        if frame.type != INFER:
            raise PayloadError("expected an INFER frame")
        return RESULT, self._handle(frame.payload, frame.plan)

    def _handle(self, payload: bytes, plan: int = 0) -> bytes:
        route = self._route(plan)
        return serve_route(route, payload, self.role, plan, self.forwarder, self.max_result)


@contextlib.contextmanager
def running_servers(
    plan: DeployedPlan, *, shape: bool = True, threads: int = 1, limits: Limits | None = None
) -> Iterator[tuple[str, int] | None]:
    """Start the plan's cloud and edge servers on loopback ports the OS picks; yield the edge's
    address (None for an end-only plan), stop them on exit."""
    verify_plan(plan)  # both tiers' parts in one child, not one child each
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
