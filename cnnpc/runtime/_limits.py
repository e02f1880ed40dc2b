"""What bounds a Tier server: message size, connections, concurrent calls, threads, silent peers.

A server is exposed to clients it does not control, so every resource a client can hold is
bounded by gRPC itself or, for streams, by a read deadline. Every cnnpc server (`RpcServer`:
the plan, plan-set and upload servers) is built by `limited_server` from one `Limits`:

- a message over the plan's limit is refused by gRPC with RESOURCE_EXHAUSTED before any handler
  runs (``message_limit`` derives it from the plan's largest tensor);
- at most ``max_connections`` calls run at once, on that many worker threads, and as many more
  wait; any further call is answered RESOURCE_EXHAUSTED at once;
- at most ``max_peers`` connections are accepted; a handshake must end within
  ``frame_timeout``; a connection without a call for ``idle_timeout`` is closed (its channel
  reconnects on its next call);
- a stream that sends no message for ``frame_timeout`` is cancelled (``ReadDeadlineInterceptor``:
  an upload's client gone silent);
- a unary call whose client never sends its request holds a worker thread inside gRPC, where no
  interceptor reaches it: only ``max_age + age_grace`` (the connection's maximum age, then
  GOAWAY and a grace for the calls in flight) ends it. Uploads resume from GetHoldings after that
  cut, and Infer is retried (``channel_options``), so a well-behaved client loses nothing.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent import futures
from dataclasses import dataclass
from typing import TypeVar

import grpc

from cnnpc.errors import InputError
from cnnpc.records import check_number
from cnnpc.runtime._intercept import HandlerInterceptor

log = logging.getLogger("cnnpc.runtime")

MIN_CLIENT_PING_S = 10.0
"""The shortest keepalive a client may use (``channel_options`` refuses less): servers answer a
client pinging more often than half of it with GOAWAY (too_many_pings)."""

MESSAGE_MARGIN = 64 * 1024
"""Bytes a message carries besides its tensor or chunk: shape, quantization, route, timings."""

MAX_MESSAGE = 2**31 - 1
"""gRPC's own ceiling on a message length (a C int)."""

_Request = TypeVar("_Request")
_Response = TypeVar("_Response")


def message_limit(largest_tensor: int, chunk: int = 0) -> int:
    """The message length a server and its clients accept: the plan's largest tensor (or an
    upload chunk) in bytes plus ``MESSAGE_MARGIN``."""
    if largest_tensor < 0 or chunk < 0:
        raise InputError("a tensor or chunk size cannot be negative")
    return min(max(largest_tensor, chunk) + MESSAGE_MARGIN, MAX_MESSAGE)


@dataclass(frozen=True)
class Limits:
    """Everything that bounds one server (see the module doc; `cnnpc serve` sets the first
    three). Times are in seconds."""

    max_connections: int = 16
    """Calls served at once (worker threads); as many more wait; beyond: RESOURCE_EXHAUSTED."""
    frame_timeout: float = 10.0
    """A connection's handshake, and a stream's wait for its next message."""
    idle_timeout: float = 30.0
    """A connection without calls this long is closed."""
    forward_timeout: float = 60.0
    """The deadline of a call to the next tier (never beyond the caller's own)."""
    max_peers: int = 2048
    """Connections open at once."""
    max_age: float = 120.0
    """A connection's lifetime (then GOAWAY): what frees a worker a silent unary call holds."""
    age_grace: float = 30.0
    """The calls in flight on a connection past its age may take this long to finish."""
    keepalive: float = 60.0
    keepalive_timeout: float = 20.0

    def __post_init__(self) -> None:
        """The CLI's bounds, for Python callers too: a timeout of 1e10 s overflows."""
        if not 1 <= self.max_connections <= 10_000:
            raise InputError(f"max_connections must be in [1, 10000], got {self.max_connections}")
        if not 1 <= self.max_peers <= 1_000_000:
            raise InputError(f"max_peers must be in [1, 1000000], got {self.max_peers}")
        for name in (
            "frame_timeout",
            "idle_timeout",
            "forward_timeout",
            "max_age",
            "age_grace",
            "keepalive",
            "keepalive_timeout",
        ):
            check_number(name, getattr(self, name), minimum=1e-3, maximum=86_400.0)


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


def server_options(
    limits: Limits, max_receive: int, max_send: int | None = None
) -> list[tuple[str, int]]:
    """The ``grpc.server`` options that enforce `limits`, receiving messages up to
    `max_receive` bytes and sending up to `max_send` (default: the same). No port sharing: a
    taken port is an error, not a silent twin."""
    max_send = max_receive if max_send is None else max_send
    for name, value in (("max_receive", max_receive), ("max_send", max_send)):
        if not 1 <= value <= MAX_MESSAGE:
            raise InputError(f"{name} must be in 1..{MAX_MESSAGE}, got {value}")
    return [
        ("grpc.max_receive_message_length", max_receive),
        ("grpc.max_send_message_length", max_send),
        ("grpc.so_reuseport", 0),
        ("grpc.server_handshake_timeout_ms", _ms(limits.frame_timeout)),
        ("grpc.max_allowed_incoming_connections", limits.max_peers),
        ("grpc.max_connection_idle_ms", _ms(limits.idle_timeout)),
        ("grpc.max_connection_age_ms", _ms(limits.max_age)),
        ("grpc.max_connection_age_grace_ms", _ms(limits.age_grace)),
        ("grpc.keepalive_time_ms", _ms(limits.keepalive)),
        ("grpc.keepalive_timeout_ms", _ms(limits.keepalive_timeout)),
        ("grpc.keepalive_permit_without_calls", 0),
        # half the clients' minimum: a client pinging at that minimum is never struck for jitter
        ("grpc.http2.min_recv_ping_interval_without_data_ms", _ms(MIN_CLIENT_PING_S / 2)),
        ("grpc.http2.max_ping_strikes", 2),
    ]


def limited_server(
    limits: Limits,
    max_receive: int,
    max_send: int | None = None,
    interceptors: Sequence[grpc.ServerInterceptor] = (),
    name: str = "cnnpc-rpc",
) -> grpc.Server:
    """A ``grpc.Server`` bounded by `limits` (not started, no port yet): `max_connections`
    worker threads named `name`, twice as many calls at once; `interceptors` run inside the
    read deadline."""
    workers = limits.max_connections
    pool = futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
    return grpc.server(
        pool,
        interceptors=[ReadDeadlineInterceptor(limits.frame_timeout), *interceptors],
        options=server_options(limits, max_receive, max_send),
        maximum_concurrent_rpcs=2 * workers,
    )


class _Watchdog:
    """Calls `expire` once if armed for longer than `seconds`; one thread per guarded stream."""

    def __init__(self, seconds: float, expire: Callable[[], None]) -> None:
        self._seconds = seconds
        self._expire = expire
        self._deadline: float | None = None
        self._done = False
        self._condition = threading.Condition()
        self._thread = threading.Thread(target=self._watch, name="cnnpc-read-deadline", daemon=True)
        self._thread.start()

    def arm(self) -> None:
        with self._condition:
            self._deadline = time.monotonic() + self._seconds
            self._condition.notify()

    def disarm(self) -> None:
        with self._condition:
            self._deadline = None

    def stop(self) -> None:
        with self._condition:
            self._done = True
            self._condition.notify()

    def _watch(self) -> None:
        with self._condition:
            while not self._done:
                if self._deadline is None:
                    self._condition.wait()
                    continue
                left = self._deadline - time.monotonic()
                if left <= 0:
                    self._done = True
                    break
                self._condition.wait(left)
            else:
                return
        self._expire()


def _guarded(
    requests: Iterator[_Request], context: grpc.ServicerContext, seconds: float, method: str
) -> Iterator[_Request]:
    """`requests`, cancelling the call when the client sends nothing for `seconds` (time the
    handler spends on a message does not count). The handler then sees the stream end, or
    an RpcError, with its context no longer active."""

    def expire() -> None:
        log.warning("%s: no message from %s for %g s: call cut", method, context.peer(), seconds)
        context.set_code(grpc.StatusCode.CANCELLED)  # what the client sees, and the metrics
        context.set_details(f"no message for {seconds:g} s")
        context.cancel()

    watchdog = _Watchdog(seconds, expire)
    try:
        while True:
            watchdog.arm()
            try:
                request = next(requests)
            except StopIteration:
                return
            finally:
                watchdog.disarm()
            yield request
    finally:
        watchdog.stop()


class ReadDeadlineInterceptor(HandlerInterceptor):
    """Cuts a client-streaming call (Upload) whose client goes silent: gRPC's own limits do not,
    since the connection is neither idle nor dead. The client sees CANCELLED and the server logs
    one line."""

    def __init__(self, read_timeout_s: float) -> None:
        if read_timeout_s <= 0:
            raise InputError(f"read_timeout_s must be positive, got {read_timeout_s}")
        self._seconds = read_timeout_s

    def wrap(
        self, handler: grpc.RpcMethodHandler[_Request, _Response], method: str
    ) -> grpc.RpcMethodHandler[_Request, _Response]:
        seconds = self._seconds
        stream_stream, stream_unary = handler.stream_stream, handler.stream_unary
        if stream_stream is not None:

            def streams(
                requests: Iterator[_Request], context: grpc.ServicerContext
            ) -> Iterator[_Response]:
                return stream_stream(_guarded(requests, context, seconds, method), context)

            return grpc.stream_stream_rpc_method_handler(
                streams, handler.request_deserializer, handler.response_serializer
            )
        if stream_unary is not None:

            def unary(requests: Iterator[_Request], context: grpc.ServicerContext) -> _Response:
                return stream_unary(_guarded(requests, context, seconds, method), context)

            return grpc.stream_unary_rpc_method_handler(
                unary, handler.request_deserializer, handler.response_serializer
            )
        return handler
