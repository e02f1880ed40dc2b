"""gRPC mechanics every tier shares: tensors as `Tensor` messages, our errors as status codes,
the server wrapper (`RpcServer`) and the client channel (`open_channel`).

A server answers a wrong request with a status code and one line (the .proto lists them); the
client shows that line escaped and cut (`remote_text`), never raw: a hostile server must not
move the cursor or forge lines on the user's terminal. Message sizes are bounded from the plan
(its largest tensor plus `MESSAGE_SLACK`), every call has a deadline, and a stopping server
finishes the calls in flight. TLS credentials, interceptors (metrics) and extra channel options
(replicas' round robin and retries) come in as parameters from their own modules.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NoReturn, TypeAlias, TypeVar, cast

import grpc
import numpy as np
import numpy.typing as npt
from grpc_health.v1 import (  # type: ignore[import-untyped]
    health,
    health_pb2,
    health_pb2_grpc,
)

from cnnpc.errors import CnnpcError, first_line, printable
from cnnpc.records import TensorSpec
from cnnpc.runtime._address import check_local
from cnnpc.runtime._limits import MAX_MESSAGE, Limits, limited_server
from cnnpc.runtime._replicas import channel_options, channel_target
from cnnpc.runtime._tls import Transport, add_port, channel_credentials, transport_policy
from cnnpc.runtime.proto import cnnpc_tier_pb2 as pb
from cnnpc.runtime.proto import cnnpc_tier_pb2_grpc as pb_grpc

log = logging.getLogger("cnnpc.runtime")
T = TypeVar("T")

Addresses: TypeAlias = tuple[str, int] | Sequence[tuple[str, int]]
"""One server's (host, port), or several replicas'."""
Tensor: TypeAlias = npt.NDArray[np.int8 | np.uint8 | np.float32]
"""A tensor as it crosses a link or a part's edge: int8, uint8 or float32 (the wire's dtypes)."""
DTYPES: dict[pb.DType.ValueType, np.dtype[np.int8 | np.uint8 | np.float32]] = {
    pb.INT8: np.dtype(np.int8),
    pb.UINT8: np.dtype(np.uint8),
    pb.FLOAT32: np.dtype("<f4"),
}
CODE_OF = {dtype.name: code for code, dtype in DTYPES.items()}
MAX_DIMS = 8
MAX_TIMINGS = 32
"""A reply's timings: a handful of named components, never an unbounded map."""
MAX_ERROR_TEXT = 1024
"""Bytes of a server's one-line status message."""
REMOTE_TEXT = 300
"""Characters of a peer's error text shown: enough for any cnnpc message, never a screenful."""
SERVICE = "cnnpc.v1.Tier"
TIER_HEADER = "cnnpc-tier"
"""Trailing metadata of a refusal: the tier whose handler refused (not gRPC's own failure)."""
STOP_GRACE = 10.0
"""Seconds a stopping server gives the calls in flight (SIGTERM: stop taking, finish those)."""
KEEPALIVE_MS = 20_000
"""A client pings an idle-looking connection this often while calls are open; the server allows
pings half as far apart (gRPC closes a connection that pings more often than allowed)."""


# -- errors as status codes ----------------------------------------------------------------


class StatusError(CnnpcError):
    """An error a server answers with `code` and its one-line message."""

    code: grpc.StatusCode = grpc.StatusCode.INTERNAL

    def __init__(self, message: str, code: grpc.StatusCode | None = None) -> None:
        """`code`: another code than the class's (an edge relaying its cloud's)."""
        super().__init__(message)
        if code is not None:
            self.code = code


class BadTensor(StatusError):
    """The tensor is not the shape, type or quantization this tier takes."""

    code = grpc.StatusCode.INVALID_ARGUMENT


class NotHeld(StatusError):
    """A plan number or span this server does not hold."""

    code = grpc.StatusCode.NOT_FOUND


class Precondition(StatusError):
    """A request that does not fit the server's state (an upload chunk out of order...)."""

    code = grpc.StatusCode.FAILED_PRECONDITION


class TooLarge(StatusError):
    """A message over the server's limit."""

    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class NextTierDown(StatusError):
    """The next tier cannot be reached (a client may retry on another replica)."""

    code = grpc.StatusCode.UNAVAILABLE


def status_of(exc: BaseException) -> grpc.StatusCode:
    """The status code a server answers `exc` with: a StatusError's own, INVALID_ARGUMENT for
    any other CnnpcError (the request was wrong), INTERNAL for a bug."""
    if isinstance(exc, StatusError):
        return exc.code
    if isinstance(exc, CnnpcError):
        return grpc.StatusCode.INVALID_ARGUMENT
    return grpc.StatusCode.INTERNAL


def one_line(exc: BaseException) -> str:
    """`exc` as the one printable line a status carries."""
    text = printable(first_line(exc), MAX_ERROR_TEXT)
    return text.encode("utf-8", "replace")[:MAX_ERROR_TEXT].decode("utf-8", "ignore")


def remote_text(text: str | bytes) -> str:
    """A peer's words (a status message) as one printable line of at most REMOTE_TEXT
    characters: a hostile server must not move the cursor, clear the screen or forge lines."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return printable(text, REMOTE_TEXT)


def said_by(err: grpc.RpcError) -> str | None:
    """The tier whose handler refused the call (its trailer), None when gRPC itself failed it
    (no connection, deadline, a message over a limit)."""
    call = cast(grpc.Call, err)
    trailers = call.trailing_metadata() if hasattr(call, "trailing_metadata") else None
    for key, value in trailers or ():
        if key == TIER_HEADER:
            return remote_text(value)
    return None


def rpc_failure(err: grpc.RpcError) -> tuple[grpc.StatusCode, str]:
    """(status code, the peer's message escaped and cut) of a failed call."""
    call = cast(grpc.Call, err)  # every RpcError a call raises is also its Call
    code = call.code() if hasattr(call, "code") else grpc.StatusCode.UNKNOWN
    details = call.details() if hasattr(call, "details") else ""
    return code, remote_text(details or code.name)


# -- tensors -------------------------------------------------------------------------------


def to_message(array: Tensor, spec: TensorSpec | None = None) -> pb.Tensor:
    """`array` as a Tensor message, with `spec`'s quantization when it is int8/uint8."""
    code = CODE_OF.get(np.dtype(array.dtype).name)
    if code is None or array.ndim > MAX_DIMS:
        raise BadTensor(f"cannot send a {array.dtype} tensor of {array.ndim} dimensions")
    data = np.ascontiguousarray(array, dtype=DTYPES[code]).tobytes()
    message = pb.Tensor(dtype=code, shape=list(array.shape), data=data)
    if spec is not None and spec.dtype != "float32":
        message.scale = spec.scale
        message.zero_point = spec.zero_point
    return message


def from_message(message: pb.Tensor, expect: TensorSpec | None = None, what: str = "") -> Tensor:
    """The array of a Tensor message, checked: its bytes fill its shape exactly and, given
    `expect`, it is that shape and dtype and (when it states one) that quantization. `what`
    names the taker in errors ("the edge takes int8[1, 8, 8, 4], got ...")."""
    dtype = DTYPES.get(message.dtype)
    if dtype is None:
        raise BadTensor(f"unknown tensor dtype code {message.dtype}")
    shape = tuple(int(d) for d in message.shape)
    if len(shape) > MAX_DIMS:
        raise BadTensor(f"a tensor of {len(shape)} dimensions (at most {MAX_DIMS})")
    count = math.prod(shape)
    expected = count * dtype.itemsize
    if len(message.data) != expected:
        raise BadTensor(
            f"tensor {shape} of {dtype.name} needs {expected} bytes, got {len(message.data)}"
        )
    taker = what or "this tier"
    if expect is not None:
        if shape != expect.shape or dtype.name != expect.dtype:
            raise BadTensor(
                f"{taker} takes {expect.dtype}{list(expect.shape)}, got {dtype.name}{list(shape)}"
            )
        stated = (message.scale, message.zero_point)
        wanted = (float(np.float32(expect.scale)), expect.zero_point)
        if expect.dtype != "float32" and message.scale != 0 and stated != wanted:
            raise BadTensor(
                f"{taker} takes scale {wanted[0]:.6g} and zero point {wanted[1]}, "
                f"got {stated[0]:.6g} and {stated[1]}"
            )
    flat: Tensor = np.frombuffer(message.data, dtype=dtype, count=count)
    return flat.reshape(shape)


def check_timings(timings: Mapping[str, float]) -> dict[str, float]:
    """A reply's timings as a plain dict, refused (BadTensor's INVALID_ARGUMENT, read as a
    malformed reply by clients) unless a handful of short names with finite numbers: they
    reach the user's table and JSON."""
    items = dict(timings)
    if len(items) > MAX_TIMINGS:
        raise BadTensor(f"a reply of more than {MAX_TIMINGS} timings")
    for key, value in items.items():
        if not (isinstance(key, str) and key.isidentifier() and key.isascii() and len(key) <= 40):
            raise BadTensor("a reply timing's name is not a short identifier")
        if not math.isfinite(value):
            raise BadTensor("reply timings must be finite")
    return {str(k): float(v) for k, v in items.items()}


# -- the server ----------------------------------------------------------------------------


@dataclass
class ServerStats:
    """What a server has seen (updated under a lock: calls run in threads)."""

    requests: int = 0
    """Calls answered with a result."""
    errors: int = 0
    """Calls answered with an error status by this server's handlers."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, name: str) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + 1)


def answer(
    context: grpc.ServicerContext, stats: ServerStats, role: str, work: Callable[[], T]
) -> T:
    """`work()`'s reply, or the call aborted with its error's status code and one line (logged):
    nothing a client sends takes the server down."""
    try:
        reply = work()
    except Exception as exc:  # every failure is a status, never a dead server
        code = status_of(exc)
        if code == grpc.StatusCode.INTERNAL:
            log.exception("%s: a call failed", role)
            line = f"the {role} failed: {type(exc).__name__}"
        else:
            line = one_line(exc)
        stats.add("errors")
        log.info("%s: %s %s", role, code.name, line)
        context.set_trailing_metadata(((TIER_HEADER, role),))
        abort(context, code, line)
    stats.add("requests")
    return reply


def abort(context: grpc.ServicerContext, code: grpc.StatusCode, line: str) -> NoReturn:
    context.abort(code, line)
    raise AssertionError("context.abort returns only by raising")  # pragma: no cover


class TierService(pb_grpc.TierServicer):
    """The Tier service's methods a server does not offer: UNIMPLEMENTED with one line (a
    plan's server takes no upload, an empty edge may; subclasses override what they serve)."""

    role = "server"

    def Infer(self, request: pb.InferRequest, context: grpc.ServicerContext) -> pb.InferReply:
        abort(context, grpc.StatusCode.UNIMPLEMENTED, f"this {self.role} runs no inference")

    def Upload(
        self, request_iterator: Iterator[pb.Chunk], context: grpc.ServicerContext
    ) -> Iterator[pb.Holdings]:
        abort(context, grpc.StatusCode.UNIMPLEMENTED, f"this {self.role} takes no upload")

    def GetHoldings(
        self, request: pb.HoldingsRequest, context: grpc.ServicerContext
    ) -> pb.Holdings:
        abort(context, grpc.StatusCode.UNIMPLEMENTED, f"this {self.role} takes no upload")


class RpcServer:
    """The `role` tier's gRPC server on `host`:`port` (0: the OS picks). A subclass gives the
    service (`_service`), sets `max_receive`/`max_send` from its plan before `start`, and
    releases what it holds in `_closing`. Health says SERVING from `start` to `stop`."""

    max_receive: int = 4 * 1024 * 1024
    max_send: int = 4 * 1024 * 1024

    def __init__(
        self,
        role: str,
        host: str,
        port: int,
        limits: Limits | None,
        *,
        transport: Transport | None = None,
        interceptors: Sequence[grpc.ServerInterceptor] = (),
    ) -> None:
        self.role = role
        self.host = check_local(host)
        # plaintext only on loopback, unless the caller's policy said --insecure
        self.transport = transport or transport_policy(self.host, None, insecure=False)
        self.port = port
        self.limits = limits or Limits()
        self.stats = ServerStats()
        self.interceptors = tuple(interceptors)
        self.health = health.HealthServicer()
        self._server: grpc.Server | None = None
        self._stopped = threading.Event()
        self._closed = False
        self._guard = threading.Lock()

    def _service(self) -> pb_grpc.TierServicer:
        """The Tier service this server answers with."""
        raise NotImplementedError

    def _closing(self) -> None:
        """Release what the subclass holds once the calls in flight are done."""

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port

    def start(self) -> tuple[str, int]:
        """Bind and serve in gRPC's threads; returns (host, port)."""
        with self._guard:
            if self._server is not None:
                return self.address
            server = limited_server(
                self.limits, self.max_receive, self.max_send, self.interceptors, self.role
            )
            pb_grpc.add_TierServicer_to_server(self._service(), server)
            health_pb2_grpc.add_HealthServicer_to_server(self.health, server)
            self.port = add_port(server, self.host, self.port, self.transport)
            server.start()
            self._server = server
        for name in ("", SERVICE):
            self.health.set(name, health_pb2.HealthCheckResponse.SERVING)
        return self.address

    def stop(self, grace: float | None = STOP_GRACE) -> None:
        """Stop taking calls (health: NOT_SERVING), let those in flight finish for up to `grace`
        seconds (None: cancel them), then release the parts' resources."""
        self._stopped.set()
        with self._guard:
            server, self._server = self._server, None
            closed, self._closed = self._closed, True
        self.health.enter_graceful_shutdown()
        if server is not None:
            server.stop(grace).wait()
        if not closed:
            self._closing()

    def __enter__(self) -> RpcServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def request_stop(self) -> None:
        """Make `wait` return (safe from a signal handler); `stop` then finishes the calls."""
        self._stopped.set()

    def wait(self) -> None:
        """Block until stopped (the CLI's foreground server)."""
        while not self._stopped.wait(0.5):
            pass


# -- the client ----------------------------------------------------------------------------


def listed(addresses: Addresses) -> list[tuple[str, int]]:
    """One (host, port) pair or several, as a list."""
    one = isinstance(addresses[0], str)  # a (host, port) pair, not a list of them
    return list(cast(Sequence[tuple[str, int]], [addresses] if one else addresses))


def where(addresses: Addresses) -> str:
    """The addresses as a user reads them (``A:P`` or ``A:P,B:P``)."""
    return ",".join(f"{h}:{p}" for h, p in listed(addresses))


def open_channel(
    addresses: Addresses,
    *,
    max_send: int,
    max_receive: int,
    transport: Transport | None = None,
    name: str | None = None,
    options: Sequence[tuple[str, int | str]] = (),
) -> grpc.Channel:
    """A channel to one server or several replicas (gRPC's round_robin spreads the calls and
    its retry policy moves an Infer to another replica when one dies: ``_replicas``), with
    message limits and keepalive. `transport`: TLS or plaintext as the caller's policy decided
    (None: plaintext, loopback only). With TLS and several replicas, their certificates are
    checked against the server's `name` (``cnnpc certs`` puts it in every server certificate).
    Extra `options` come last and win. A call on it must still give its deadline (`timeout=`):
    gRPC waits forever without one."""
    hosts = listed(addresses)
    if transport is None:
        for host, _ in hosts:
            transport_policy(host, None, insecure=False)  # off loopback: TLS or --insecure
    largest = MAX_MESSAGE if max_send < 0 else max(max_send, max_receive)  # -1: no limit
    ours: list[tuple[str, int | str]] = [
        ("grpc.max_send_message_length", max_send),
        ("grpc.max_receive_message_length", max_receive),
    ]
    if transport is not None and transport.tls is not None and name is not None and len(hosts) > 1:
        ours.append(("grpc.ssl_target_name_override", name))
    ours += options
    # gRPC keeps the first of two equal keys: an option given here replaces the default
    given = {key for key, _ in ours}
    base = [kv for kv in channel_options(largest, KEEPALIVE_MS / 1000) if kv[0] not in given]
    settings = [*base, *ours]
    target = channel_target(hosts)
    if transport is None or transport.tls is None:
        return grpc.insecure_channel(target, options=settings)
    return grpc.secure_channel(target, channel_credentials(transport.tls), options=settings)


def tier_stub(channel: grpc.Channel) -> pb_grpc.TierStub:
    return pb_grpc.TierStub(channel)
