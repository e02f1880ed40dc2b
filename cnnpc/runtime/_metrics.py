"""Prometheus metrics of the Tier servers (`cnnpc serve --metrics-port P`), with prometheus-client.

A `Metrics` holds its own registry, never prometheus-client's global one: several servers (or
tests) in one process keep theirs apart. `MetricsInterceptor` records every call a server
answers: its count by final status code, its latency, the message bytes both ways; an upload
edge reports its progress itself (`upload_progress`, `installed`). `serve_metrics` exposes a
registry over HTTP for Prometheus to scrape.

What the interceptor cannot see: calls gRPC refuses before any handler runs (a message over the
size limit, a call over ``maximum_concurrent_rpcs``, a refused TLS handshake). Bytes are the
serialized messages, without HTTP/2 and TLS framing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import grpc
from google.protobuf.message import Message
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from cnnpc.errors import InputError
from cnnpc.runtime._intercept import HandlerInterceptor
from cnnpc.runtime.proto import cnnpc_tier_pb2 as pb

LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10)
"""Seconds: a loopback call of a small part (0.5 ms) up to a large model on a slow link."""

MAX_PLAN_LABELS = 256
OTHER = "other"
"""The plan label of a call for a plan or span this server never answered (bounded labels: a
client cannot grow the registry by sending made-up plan numbers)."""

_Request = TypeVar("_Request")
_Response = TypeVar("_Response")


class Metrics:
    """One process's server metrics; the tier is a label, so a process serving two tiers
    (`validate`) can share one registry and one port."""

    def __init__(self) -> None:
        self.registry = r = CollectorRegistry(auto_describe=True)
        call, link, part = ("tier", "plan", "method"), ("tier", "method"), ("tier", "segment")
        self.calls = Counter("cnnpc_calls", "Calls answered", (*call, "code"), registry=r)
        self.latency = Histogram(
            "cnnpc_call_seconds",
            "From a call's arrival at the server to its answer (queueing and request included)",
            call,
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.received = Counter("cnnpc_received_bytes", "Message bytes in", link, registry=r)
        self.sent = Counter("cnnpc_sent_bytes", "Message bytes out", link, registry=r)
        self.errors = Counter("cnnpc_errors", "Calls not OK", (*link, "code"), registry=r)
        self.upload_held = Gauge("cnnpc_upload_held_bytes", "Part bytes held", part, registry=r)
        self.upload_size = Gauge("cnnpc_upload_part_bytes", "Part sizes", part, registry=r)
        self.segments_installed = Gauge(
            "cnnpc_upload_segments_installed", "Segments installed", ("tier",), registry=r
        )
        self._plans: set[tuple[str, str]] = set()
        self._guard = threading.Lock()

    def record_call(self, call: CallRecord) -> None:
        """Count one answered call."""
        plan = self._plan_label(call)
        code = call.code.name
        self.calls.labels(call.tier, plan, call.method, code).inc()
        self.latency.labels(call.tier, plan, call.method).observe(call.seconds)
        self.received.labels(call.tier, call.method).inc(call.received)
        self.sent.labels(call.tier, call.method).inc(call.sent)
        if call.code is not grpc.StatusCode.OK:
            self.errors.labels(call.tier, call.method, code).inc()

    def _plan_label(self, call: CallRecord) -> str:
        key = (call.tier, call.plan)
        with self._guard:
            if key in self._plans:
                return call.plan
            if call.code is grpc.StatusCode.OK and len(self._plans) < MAX_PLAN_LABELS:
                self._plans.add(key)
                return call.plan
        return OTHER if call.plan else ""

    def upload_progress(self, tier: str, segment: int, held: int, total: int) -> None:
        """An upload edge holds `held` of the `total` bytes of `segment`'s part."""
        self.upload_held.labels(tier, str(segment)).set(held)
        self.upload_size.labels(tier, str(segment)).set(total)

    def installed(self, tier: str, count: int) -> None:
        """An upload edge has installed `count` segments."""
        self.segments_installed.labels(tier).set(count)


@dataclass(frozen=True)
class CallRecord:
    """One answered call, as `Metrics.record_call` counts it."""

    tier: str
    method: str
    plan: str
    code: grpc.StatusCode
    seconds: float
    received: int
    sent: int


def plan_label(request: object) -> str:
    """The plan label of a request: its plan number, a span ``first-end``, or "" (no route)."""
    if not isinstance(request, pb.InferRequest):
        return ""
    if request.WhichOneof("route") == "span":
        return f"{request.span.first}-{request.span.end}"
    return str(request.plan)


def _size(message: object) -> int:
    return message.ByteSize() if isinstance(message, Message) else 0


class _Closed(Exception):
    """The server stopped reading a call's answers: its client went away."""


def _final_code(context: grpc.ServicerContext, error: BaseException | None) -> grpc.StatusCode:
    """The status a call ended with: the one the handler set or aborted with; else CANCELLED
    when the call was cancelled under the handler; else OK, or UNKNOWN if the handler raised."""
    code = getattr(context, "code", None)  # in grpc's ServicerContext, not in its stubs
    if callable(code) and isinstance(set_code := code(), grpc.StatusCode):
        return set_code
    if isinstance(error, _Closed | grpc.RpcError) or not context.is_active():
        return grpc.StatusCode.CANCELLED
    return grpc.StatusCode.OK if error is None else grpc.StatusCode.UNKNOWN


class _Call:
    """What is counted of one call while it runs."""

    def __init__(self, metrics: Metrics, tier: str, method: str) -> None:
        self._metrics, self._tier, self._method = metrics, tier, method
        self._start = time.perf_counter()
        self._received = self._sent = 0
        self._plan = ""
        self._done = False

    def request(self, message: object) -> None:
        self._received += _size(message)
        if not self._plan:
            self._plan = plan_label(message)

    def response(self, message: object) -> None:
        self._sent += _size(message)

    def finish(self, context: grpc.ServicerContext, error: BaseException | None) -> None:
        if self._done:
            return
        self._done = True
        code = _final_code(context, error)
        seconds = time.perf_counter() - self._start
        self._metrics.record_call(
            CallRecord(
                self._tier, self._method, self._plan, code, seconds, self._received, self._sent
            )
        )

    def requests(self, messages: Iterator[_Request]) -> Iterator[_Request]:
        for message in messages:
            self.request(message)
            yield message

    def responses(
        self, messages: Iterator[_Response], context: grpc.ServicerContext
    ) -> Iterator[_Response]:
        error: BaseException | None = None
        try:
            for message in messages:
                self.response(message)
                yield message
        except GeneratorExit:
            error = _Closed()
            raise
        except BaseException as exc:
            error = exc
            raise
        finally:
            self.finish(context, error)


def _unary_answer(
    call: _Call, run: Callable[[], _Response], context: grpc.ServicerContext
) -> _Response:
    try:
        response = run()
    except BaseException as error:
        call.finish(context, error)
        raise
    call.response(response)
    call.finish(context, None)
    return response


def _stream_answer(
    call: _Call, run: Callable[[], Iterator[_Response]], context: grpc.ServicerContext
) -> Iterator[_Response]:
    try:
        responses = run()
    except BaseException as error:
        call.finish(context, error)
        raise
    return call.responses(responses, context)


class MetricsInterceptor(HandlerInterceptor):
    """Records each call a server answers in `metrics`, labelled with `tier`."""

    def __init__(self, metrics: Metrics, tier: str) -> None:
        self._metrics = metrics
        self._tier = tier

    def wrap(
        self, handler: grpc.RpcMethodHandler[_Request, _Response], method: str
    ) -> grpc.RpcMethodHandler[_Request, _Response]:
        call = _Call(self._metrics, self._tier, method.rpartition("/")[2])
        wire = (handler.request_deserializer, handler.response_serializer)
        if (unary_unary := handler.unary_unary) is not None:

            def uu(request: _Request, context: grpc.ServicerContext) -> _Response:
                call.request(request)
                return _unary_answer(call, lambda: unary_unary(request, context), context)

            return grpc.unary_unary_rpc_method_handler(uu, *wire)
        if (unary_stream := handler.unary_stream) is not None:

            def us(request: _Request, context: grpc.ServicerContext) -> Iterator[_Response]:
                call.request(request)
                return _stream_answer(call, lambda: unary_stream(request, context), context)

            return grpc.unary_stream_rpc_method_handler(us, *wire)
        if (stream_unary := handler.stream_unary) is not None:

            def su(requests: Iterator[_Request], context: grpc.ServicerContext) -> _Response:
                return _unary_answer(
                    call, lambda: stream_unary(call.requests(requests), context), context
                )

            return grpc.stream_unary_rpc_method_handler(su, *wire)
        if (stream_stream := handler.stream_stream) is not None:

            def ss(
                requests: Iterator[_Request], context: grpc.ServicerContext
            ) -> Iterator[_Response]:
                return _stream_answer(
                    call, lambda: stream_stream(call.requests(requests), context), context
                )

            return grpc.stream_stream_rpc_method_handler(ss, *wire)
        return handler


class MetricsEndpoint:
    """A running ``/metrics`` HTTP endpoint; `stop` (or leaving the ``with``) closes it."""

    def __init__(self, metrics: Metrics, port: int, host: str) -> None:
        self._server, self._thread = start_http_server(port, addr=host, registry=metrics.registry)
        self.host = host
        self.port: int = self._server.server_port

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5.0)

    def __enter__(self) -> MetricsEndpoint:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_metrics(metrics: Metrics, port: int = 0, host: str = "127.0.0.1") -> MetricsEndpoint:
    """Expose `metrics` at ``http://host:port/metrics`` on a daemon thread (port 0: the system
    picks one; the endpoint's ``port`` says which)."""
    if not 0 <= port <= 65535:
        raise InputError(f"metrics port must be in 0..65535, got {port}")
    return MetricsEndpoint(metrics, port, host)
