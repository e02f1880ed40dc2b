"""The end device of an incremental upload (IONN): queries run while the model uploads.

An `Uploader` thread sends the parts of an upload folder to an empty edge in the folder's order,
one Upload stream per session on its own channel, each chunk's bytes paid to the same token
bucket as the queries first (the upload and the queries share the shaped uplink). The edge
answers each installed part with what it holds; only confirmed parts count. A session starts by
asking GetHoldings and resumes from there (a part from the byte the edge holds); when the
stream breaks, the uploader starts a new session; the edge never installs a partial part.
Sessions are bounded in count, and each call has a deadline.

`IncrementalClient.infer`: before each query, the layout with the least predicted latency among
those the edge's confirmed parts can serve (the folder's `LayoutChooser`, the one the upload
order was made with): the end runs segments [0, a), the edge [a, N) (an Infer with that span).
If the edge refuses (NOT_FOUND: it does not hold the span) or is unreachable, the end runs the
rest itself (a fallback, counted). `slowdown` makes this host stand in for a slower end device:
the end's invokes of a query are followed by one sleep of (slowdown - 1) times their duration.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import grpc
import numpy as np
import numpy.typing as npt

from cnnpc.errors import CnnpcError
from cnnpc.records import TensorSpec, UploadPlan
from cnnpc.runtime._client import COMPONENTS, InferResult, RequestError, split_timings
from cnnpc.runtime._limits import message_limit
from cnnpc.runtime._part import Image, Part, dequantize, image_batch, quantize, requantize
from cnnpc.runtime._rpc import (
    StatusError,
    Tensor,
    check_timings,
    from_message,
    open_channel,
    rpc_failure,
    tier_stub,
    to_message,
)
from cnnpc.runtime._shaper import TokenBucket, pay
from cnnpc.runtime._tls import Transport
from cnnpc.runtime._uploadedge import CHUNK_BYTES
from cnnpc.runtime._verify import verify_parts
from cnnpc.runtime.proto import cnnpc_tier_pb2 as pb
from cnnpc.upload import LayoutChooser

MAX_ATTEMPTS = 20
HOLDINGS_LIMIT = message_limit(0)
"""The largest Holdings message a client takes (a plan's segments fit many times over)."""


@dataclass(frozen=True)
class UploadEvent:
    time_s: float
    kind: str
    """"installed" (the edge confirmed a part), "dropped" (the stream failed), "resumed"
    (a part continued from the bytes the edge already held)."""
    segment: int | None
    detail: str = ""


@dataclass(frozen=True)
class UploadResult:
    result: InferResult
    a: int
    """The end ran segments [0, a), the edge [a, N) (a = N: the end alone)."""
    predicted_ms: float
    fallback: bool


class Uploader:
    """Uploads `order`'s segments of `plan` to the edge in a background thread."""

    def __init__(
        self,
        plan: UploadPlan,
        edge: tuple[str, int],
        bucket: TokenBucket | None,
        *,
        order: Sequence[int] | None = None,
        timeout: float = 30.0,
        clock: Callable[[], float] = time.perf_counter,
        transport: Transport | None = None,
        options: Sequence[tuple[str, int | str]] = (),
    ) -> None:
        self.plan = plan
        self.edge = edge
        self.bucket = bucket
        self.order = (
            tuple(k for step in plan.steps for k in step) if order is None else tuple(order)
        )
        self.timeout = timeout
        self.transport = transport
        self.options = tuple(options)
        self.events: list[UploadEvent] = []
        self.error: str | None = None
        self._clock = clock
        self._started = clock()
        self._held: frozenset[int] = frozenset()
        self._call: grpc.RpcContext | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="upload", daemon=True)

    @property
    def held(self) -> frozenset[int]:
        """Segments the edge has confirmed installed."""
        with self._lock:
            return self._held

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def start(self) -> Uploader:
        self._started = self._clock()
        self._thread.start()
        return self

    def wait(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)

    def stop(self) -> None:
        self._stop.set()
        self.drop()
        if self._thread.is_alive():
            self._thread.join(timeout=5.0)

    def drop(self) -> None:
        """Cut the upload stream as a failing network would (the upload resumes)."""
        with self._lock:
            call = self._call
        if call is not None:
            call.cancel()

    def _event(self, kind: str, segment: int | None, detail: str = "") -> None:
        with self._lock:
            self.events.append(UploadEvent(self._clock() - self._started, kind, segment, detail))

    def _run(self) -> None:
        try:
            for attempt in range(1, MAX_ATTEMPTS + 1):
                if self._stop.is_set() or self._session():
                    return
                if attempt < MAX_ATTEMPTS:
                    self._stop.wait(min(0.02 * attempt, 0.5))
            self.error = f"the upload failed {MAX_ATTEMPTS} times; gave up"
        finally:
            self._done.set()

    def _session(self) -> bool:
        """One channel: ask what the edge holds, stream the rest; True once all is confirmed."""
        channel = open_channel(
            self.edge,
            max_send=message_limit(CHUNK_BYTES),
            max_receive=HOLDINGS_LIMIT,
            transport=self.transport,
            options=self.options,
        )
        try:
            stub = tier_stub(channel)
            partial = self._confirm(stub.GetHoldings(pb.HoldingsRequest(), timeout=self.timeout))
            todo = [k for k in self.order if k not in self.held]
            if not todo or self._stop.is_set():
                return True
            call = stub.Upload(self._chunks(todo, partial), timeout=self._deadline(todo, partial))
            with self._lock:
                self._call = call
            if self._stop.is_set():
                call.cancel()
            for holdings in call:
                self._confirm(holdings)
            missing = [k for k in todo if k not in self.held]
            if missing and not self._stop.is_set():
                raise RequestError(f"the edge did not install segment(s) {missing}")
            return True
        except (grpc.RpcError, RequestError) as exc:
            if not self._stop.is_set():
                detail = str(exc)
                if isinstance(exc, grpc.RpcError):
                    code, text = rpc_failure(exc)
                    detail = f"{code.name}: {text}"
                self._event("dropped", None, detail)
            return False
        finally:
            with self._lock:
                self._call = None
            channel.close()

    def _deadline(self, todo: Sequence[int], partial: dict[int, int]) -> float:
        """The Upload call's deadline: `timeout` per part (its install), plus twice the time
        its bytes take at the bucket's rate."""
        left = sum(self.plan.sizes[k] - partial.get(k, 0) for k in todo)
        shaped = 0.0 if self.bucket is None else 2.0 * left / self.bucket.rate
        return self.timeout * len(todo) + shaped

    def _chunks(self, todo: Sequence[int], partial: dict[int, int]) -> Iterator[pb.Chunk]:
        """The stream's chunks (gRPC pulls them in its own thread), each paid to the bucket."""
        for k in todo:
            data = memoryview(self.plan.part_path(k).read_bytes())
            size = self.plan.sizes[k]
            offset = partial.get(k, 0)
            if offset:
                self._event("resumed", k, f"from byte {offset}")
            while offset < size and not self._stop.is_set():
                piece = bytes(data[offset : offset + CHUNK_BYTES])
                chunk = pb.Chunk(segment=k, offset=offset, data=piece)
                pay(self.bucket, chunk.ByteSize())
                yield chunk
                offset += len(piece)

    def _confirm(self, holdings: pb.Holdings) -> dict[int, int]:
        """Take the edge's word for what it holds (an "installed" event per new part, in the
        upload's order); returns the bytes held of parts in flight."""
        n = self.plan.n_segments
        installed = frozenset(k for k in holdings.installed if 0 <= k < n)
        with self._lock:
            new, self._held = installed - self._held, installed
        for k in sorted(new, key=lambda k: (self.order.index(k) if k in self.order else n, k)):
            self._event("installed", k)
        return {int(k): int(v) for k, v in holdings.partial.items() if 0 <= k < n}


class _SpanChannel:
    """The queries' channel to the edge: one Infer with a span per query, with a deadline, its
    bytes paid to the link's token bucket first (the round trip includes that wait)."""

    def __init__(
        self,
        plan: UploadPlan,
        edge: tuple[str, int],
        bucket: TokenBucket | None,
        timeout: float,
        *,
        transport: Transport | None = None,
        options: Sequence[tuple[str, int | str]] = (),
    ) -> None:
        self.bucket = bucket
        self.timeout = timeout
        self._channel = open_channel(
            edge,
            max_send=message_limit(max(p.input.nbytes for p in plan.parts)),
            max_receive=message_limit(max(p.output.nbytes for p in plan.parts)),
            transport=transport,
            options=options,
        )
        self._stub = tier_stub(self._channel)

    def close(self) -> None:
        self._channel.close()

    def request(
        self, q: Tensor, spec: TensorSpec, span: tuple[int, int], expect: TensorSpec
    ) -> tuple[dict[str, float], Tensor, float]:
        """(the edge's timings, its result, the round trip in ms) of segments `span` run on
        `q` (quantised as `spec`); RequestError when the edge refuses or cannot answer."""
        request = pb.InferRequest(
            tensor=to_message(q, spec), span=pb.Span(first=span[0], end=span[1])
        )
        start = time.perf_counter()
        if self.bucket is not None:
            self.bucket.consume(request.ByteSize())
        try:
            reply = self._stub.Infer(request, timeout=self.timeout)
        except grpc.RpcError as err:
            code, text = rpc_failure(err)
            raise RequestError(f"the edge answered {code.name}: {text}") from None
        rtt = (time.perf_counter() - start) * 1e3
        try:
            timings = check_timings(reply.timings_ms)
            result = from_message(reply.tensor, expect, "the plan's output")
        except StatusError as exc:
            raise RequestError(f"the edge's result is malformed: {exc}") from None
        return timings, result, rtt


class IncrementalClient:
    """The end device of an upload folder (see the module doc)."""

    def __init__(
        self,
        plan: UploadPlan,
        edge: tuple[str, int],
        *,
        shape: bool = False,
        threads: int = 1,
        timeout: float = 30.0,
        slowdown: float = 1.0,
        whole_first: bool = False,
        transport: Transport | None = None,
        options: Sequence[tuple[str, int | str]] = (),
    ) -> None:
        if not slowdown >= 1.0:
            raise CnnpcError(f"the end's slowdown must be >= 1, got {slowdown}")
        self.plan = plan
        self.chooser = LayoutChooser.of_prices(plan.layouts)
        paths = [plan.part_path(k) for k in range(plan.n_segments)]
        verify_parts([(str(p), p.read_bytes()) for p in paths])  # in one child, not one each
        self.parts = [
            Part(plan.part_path(k), plan.parts[k], threads) for k in range(plan.n_segments)
        ]
        self.slowdown = slowdown
        self.whole_first = whole_first
        rate = plan.uplink_mbps * plan.mbit_bits / 8.0
        self.bucket = TokenBucket(rate) if shape else None
        upload_bucket = self.bucket
        if shape and plan.upload_mbps != plan.uplink_mbps:  # the upload's own share of the link
            upload_bucket = TokenBucket(plan.upload_mbps * plan.mbit_bits / 8.0)
        order = range(plan.n_segments) if whole_first else None
        self.uploader = Uploader(
            plan,
            edge,
            upload_bucket,
            order=order,
            timeout=timeout,
            transport=transport,
            options=options,
        )
        self.connection = _SpanChannel(
            plan, edge, self.bucket, timeout, transport=transport, options=options
        )
        self.fallbacks = 0

    def __enter__(self) -> IncrementalClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.uploader.stop()
        self.connection.close()

    def usable(self) -> npt.NDArray[np.bool_]:
        """Which segments a query may ask of the edge now."""
        held = np.zeros(self.plan.n_segments, dtype=bool)
        confirmed = self.uploader.held
        if self.whole_first and len(confirmed) < self.plan.n_segments:
            return held
        held[list(confirmed)] = True
        return held

    def infer(self, image: Image) -> UploadResult:
        """Classify one float image (H, W, C) in [0, 1] with the best layout the edge allows."""
        x = image_batch(image, self.plan.input)
        layout = self.chooser.best(self.usable())
        a, n = layout.a, self.plan.n_segments
        start = time.perf_counter()
        spec = self.parts[0].spec.input
        q: Tensor = quantize(x, spec)
        q, spec, end_ms = self._run_local(q, spec, 0, a)
        timings = dict.fromkeys(COMPONENTS[:-1], 0.0)
        fallback = False
        if a < n:
            try:
                incoming = self.parts[a].spec.input  # as the edge's first part takes it
                q, spec = requantize(q, spec, incoming), incoming
                out = self.parts[n - 1].spec.output  # spec stays the input's for a fallback
                remote, q, rtt = self.connection.request(q, spec, (a, n), out)
                timings.update(split_timings(remote, rtt))
                spec = out
            except RequestError:
                fallback = True
                self.fallbacks += 1
                q, spec, more = self._run_local(q, spec, a, n)
                end_ms += more
        timings["end_ms"] = end_ms
        scores = dequantize(q, spec).reshape(-1)
        total = (time.perf_counter() - start) * 1e3
        timings["overhead_ms"] = total - sum(timings[k] for k in COMPONENTS[:-1])
        timings["total_ms"] = total
        result = InferResult(int(np.argmax(scores)), scores, timings)
        return UploadResult(result, a, layout.latency_ms, fallback)

    def _run_local(
        self, q: Tensor, spec: TensorSpec, start: int, stop: int
    ) -> tuple[Tensor, TensorSpec, float]:
        """Segments [start, stop) on the end device; (output, its spec, ms incl. slowdown)."""
        total = 0.0
        for part in self.parts[start:stop]:
            q, ms = part.run(requantize(q, spec, part.spec.input))
            spec = part.spec.output
            total += ms
        if self.slowdown > 1.0 and total > 0:  # one sleep: each one overshoots a little
            time.sleep((self.slowdown - 1.0) * total / 1e3)
        return q, spec, self.slowdown * total
