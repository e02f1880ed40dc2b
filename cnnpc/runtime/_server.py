"""The edge and cloud servers: run this tier's part on each Infer call, forward, reply.

Threads, limits, health and stopping are RpcServer's (``_rpc``). What a request runs is a
route: the tensor it takes, the parts to run in turn and whether the result goes on to the next
tier. A single plan has one route (number 0); a plan set one per plan (``_setserver``); an edge
that receives its parts while it serves, one per span it holds (``_uploadedge``). One handler,
``serve_route``, runs them all.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TypedDict

import grpc

from cnnpc.codec import DEFAULT_CODEC, Codec
from cnnpc.errors import InputError
from cnnpc.records import DeployedPlan, LinkSpec, TensorSpec
from cnnpc.runtime._coded import check_coded, receive, send
from cnnpc.runtime._limits import Limits, message_limit
from cnnpc.runtime._part import Part, requantize
from cnnpc.runtime._rpc import (
    Addresses,
    NextTierDown,
    NotHeld,
    RpcServer,
    ServerStats,
    StatusError,
    Tensor,
    TierService,
    answer,
    check_timings,
    open_channel,
    rpc_failure,
    said_by,
    tier_stub,
    where,
)
from cnnpc.runtime._shaper import TokenBucket
from cnnpc.runtime._tls import Transport
from cnnpc.runtime._verify import runnable_codecs, verify_plan
from cnnpc.runtime.proto import cnnpc_tier_pb2 as pb
from cnnpc.runtime.proto import cnnpc_tier_pb2_grpc as pb_grpc

__all__ = ["PartServer", "Route", "ServerStats", "running_servers", "serve_route"]
ROLES = ("edge", "cloud")


def result_limit(plan: DeployedPlan) -> int:
    """Largest reply a plan's last part can produce."""
    last = list(plan.parts.values())[-1]
    return message_limit(last.output.nbytes)


class _Forwarder:
    """The channel to the next tier (opened on first use; gRPC reconnects by itself). Each
    request's bytes pay the edge's token bucket before the call, so the measured link follows
    the plan's rate."""

    def __init__(
        self,
        address: Addresses,
        bucket: TokenBucket | None,
        limits: Limits,
        *,
        max_send: int,
        max_result: int,
        transport: Transport | None = None,
        options: Sequence[tuple[str, int | str]] = (),
    ) -> None:
        self.address = address
        self.bucket = bucket
        self.limits = limits
        self.max_send = max_send
        self.max_result = max_result
        self.transport = transport
        self.options = tuple(options)
        self._channel: grpc.Channel | None = None
        self._stub: pb_grpc.TierStub | None = None
        self._lock = threading.Lock()

    def _open(self) -> pb_grpc.TierStub:
        with self._lock:
            if self._stub is None:
                self._channel = open_channel(
                    self.address,
                    max_send=self.max_send,
                    max_receive=self.max_result,
                    transport=self.transport,
                    name="cloud",
                    options=self.options,
                )
                self._stub = tier_stub(self._channel)
            return self._stub

    def forward(
        self, tensor: pb.Tensor, plan: int = 0, deadline_s: float | None = None
    ) -> tuple[pb.InferReply, float]:
        """(the next tier's reply, its timings checked; the round trip in ms)."""
        stub = self._open()
        request = pb.InferRequest(tensor=tensor)
        if plan:
            request.plan = plan
        timeout = self.limits.forward_timeout
        if deadline_s is not None:
            timeout = max(min(timeout, deadline_s), 1e-3)
        start = time.perf_counter()
        if self.bucket is not None:
            self.bucket.consume(request.ByteSize())
        try:
            reply = stub.Infer(request, timeout=timeout)
        except grpc.RpcError as err:
            code, text = rpc_failure(err)
            if said_by(err) is None:  # gRPC's own failure: no connection, no answer in time
                raise NextTierDown(f"next tier {where(self.address)} unavailable: {text}") from None
            raise StatusError(f"next tier: {text}", code) from None
        elapsed = (time.perf_counter() - start) * 1e3
        check_timings(reply.timings_ms)
        return reply, elapsed

    def close(self) -> None:
        with self._lock:
            if self._channel is not None:
                self._channel.close()
            self._channel = self._stub = None


@dataclass(frozen=True)
class Route:
    """What one request number runs on this tier."""

    what: str
    """How errors name it ("the edge", "plan 2 on the edge")."""
    incoming: TensorSpec
    parts: tuple[Part, ...]
    """Run in turn (requantised between them); none: the tier only relays."""
    forwards: bool
    codec: Codec = DEFAULT_CODEC
    """How the incoming tensor is coded (its link's codec)."""
    forward_codec: Codec = DEFAULT_CODEC
    """How the tensor forwarded to the next tier is coded."""

    @property
    def relays_coded(self) -> bool:
        """A coded tensor relayed as it came (no part, one codec on both links): decoded once,
        by the next tier, as the planners price a relayed tensor."""
        return (
            self.forwards
            and not self.parts
            and self.codec == self.forward_codec
            and not self.codec.is_default
        )


def run_route(route: Route, x: Tensor) -> tuple[Tensor, TensorSpec, float]:
    """The route's parts on `x` (already checked against `route.incoming`): (output, its
    spec, compute ms)."""
    compute_ms = 0.0
    spec = route.incoming
    for part in route.parts:
        x, ms = part.run(requantize(x, spec, part.spec.input))
        compute_ms += ms
        spec = part.spec.output
    return x, spec, compute_ms


def serve_route(
    route: Route,
    tensor: pb.Tensor,
    role: str,
    plan: int = 0,
    forwarder: _Forwarder | None = None,
    deadline_s: float | None = None,
) -> pb.InferReply:
    """The reply to one request along `route` (the one request handler). A coded link's
    tensor is decoded here and the forwarded one coded (their times in the timings, the bytes
    sent in `sent_bytes`); a coded tensor only relayed goes on as it came."""
    start = time.perf_counter()
    timings: dict[str, float] = {}
    if route.relays_coded:
        check_coded(tensor, route.incoming, route.codec, route.what)
        timings[f"{role}_compute_ms"] = 0.0
        message = tensor
    else:
        x, decode_ms = receive(tensor, route.incoming, route.codec, route.what)
        if not route.codec.is_default:
            timings[f"{role}_decode_ms"] = decode_ms
        x, spec, compute_ms = run_route(route, x)
        timings[f"{role}_compute_ms"] = compute_ms
        message, encode_ms = send(x, spec, route.forward_codec if route.forwards else DEFAULT_CODEC)
        if not route.forward_codec.is_default and route.forwards:
            timings[f"{role}_encode_ms"] = encode_ms
    sent: dict[str, int] = {}
    if route.forwards:
        assert forwarder is not None
        reply, forward_ms = forwarder.forward(message, plan, deadline_s)
        timings.update(reply.timings_ms)
        sent.update(reply.sent_bytes)
        timings[f"{role}_forward_ms"] = forward_ms
        if not route.forward_codec.is_default:
            sent[role] = len(message.data)
        message = reply.tensor
    timings[f"{role}_service_ms"] = (time.perf_counter() - start) * 1e3
    return pb.InferReply(tensor=message, timings_ms=timings, sent_bytes=sent)


class _TierService(TierService):
    """Infer on a PartServer's routes (no Upload, no GetHoldings: UNIMPLEMENTED)."""

    def __init__(self, server: PartServer) -> None:
        self.server = server
        self.role = server.role

    def Infer(self, request: pb.InferRequest, context: grpc.ServicerContext) -> pb.InferReply:
        server = self.server
        return answer(context, server.stats, server.role, lambda: server.infer(request, context))


class Serving(TypedDict, total=False):
    """How a part server listens and forwards: `PartServer`'s keyword arguments, which servers
    built on it (`PlanSetServer`) pass through unchanged."""

    host: str
    port: int
    next_address: Addresses | None
    shape: bool
    threads: int
    limits: Limits | None
    transport: Transport | None
    interceptors: Sequence[grpc.ServerInterceptor]
    next_transport: Transport | None
    next_options: Sequence[tuple[str, int | str]]


class PartServer(RpcServer):
    """The `role` tier of a deployed plan, listening on a loopback port (0: the OS picks)."""

    def __init__(
        self,
        plan: DeployedPlan,
        role: str,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        next_address: Addresses | None = None,
        shape: bool = False,
        threads: int = 1,
        limits: Limits | None = None,
        transport: Transport | None = None,
        interceptors: Sequence[grpc.ServerInterceptor] = (),
        next_transport: Transport | None = None,
        next_options: Sequence[tuple[str, int | str]] = (),
    ) -> None:
        if role not in ROLES:
            raise InputError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
        super().__init__(role, host, port, limits, transport=transport, interceptors=interceptors)
        runnable_codecs(plan)  # a coder not installed here: one line, before anything loads
        self.plan = plan
        incoming = next((lk for lk in plan.links if lk.target == role), None)
        if incoming is None:
            raise InputError(f"the plan sends nothing to the {role} (no {role} server needed)")
        self.incoming: LinkSpec = incoming
        spec = plan.part(role)
        self.threads = threads
        self.part = None if spec is None else Part(plan.part_path(role), spec, threads)
        self.outgoing = plan.link(role) if role == "edge" else None
        self.max_result = result_limit(plan)
        self.forwarder: _Forwarder | None = None
        if self.outgoing is not None:
            if next_address is None:
                raise InputError("the plan goes on to the cloud: give the cloud's --next HOST:PORT")
            rate = self.outgoing.rate_bytes_per_s
            self.forwarder = _Forwarder(
                next_address,
                TokenBucket(rate) if shape else None,
                self.limits,
                max_send=message_limit(self.outgoing.bytes),
                max_result=self.max_result,
                transport=next_transport,
                options=next_options,
            )
        self.routes: dict[int, Route] = {
            0: Route(
                f"the {role}",
                incoming.spec,
                () if self.part is None else (self.part,),
                self.forwarder is not None,
                incoming.codec,
                DEFAULT_CODEC if self.outgoing is None else self.outgoing.codec,
            )
        }
        self.max_receive = message_limit(self.incoming.bytes)
        self.max_send = self.max_result

    def _service(self) -> pb_grpc.TierServicer:
        return _TierService(self)

    def _closing(self) -> None:
        if self.forwarder is not None:
            self.forwarder.close()

    def _route(self, plan: int) -> Route:
        route = self.routes.get(plan)
        if route is None:
            raise NotHeld(f"this server runs one plan, not plan {plan} of a plan set")
        return route

    def infer(self, request: pb.InferRequest, context: grpc.ServicerContext) -> pb.InferReply:
        """The reply to one Infer call (errors: StatusError, see ``_rpc``)."""
        if request.WhichOneof("route") == "span":
            raise NotHeld(f"the {self.role} holds a plan, not the spans of an upload")
        plan = request.plan
        route = self._route(plan)
        left = context.time_remaining()
        return serve_route(route, request.tensor, self.role, plan, self.forwarder, left)


@contextlib.contextmanager
def running_servers(
    plan: DeployedPlan,
    *,
    shape: bool = True,
    threads: int = 1,
    limits: Limits | None = None,
    transport: Transport | None = None,
) -> Iterator[tuple[str, int] | None]:
    """Start the plan's cloud and edge servers on loopback ports the OS picks; yield the edge's
    address (None for an end-only plan), stop them on exit. `transport`: both servers', and the
    edge's to the cloud (None: plaintext)."""
    verify_plan(plan)  # both tiers' parts in one child, not one child each
    servers: list[PartServer] = []
    try:
        next_address = None
        if plan.link("edge") is not None:
            cloud = PartServer(
                plan, "cloud", shape=shape, threads=threads, limits=limits, transport=transport
            )
            servers.append(cloud)
            next_address = cloud.start()
        edge_address = None
        if plan.link("end") is not None:
            edge = PartServer(
                plan,
                "edge",
                next_address=next_address,
                shape=shape,
                threads=threads,
                limits=limits,
                transport=transport,
                next_transport=transport,
            )
            servers.append(edge)
            edge_address = edge.start()
        yield edge_address
    finally:
        for server in reversed(servers):
            server.stop()
