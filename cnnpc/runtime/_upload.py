"""The end device of an incremental upload (IONN): queries run while the model uploads.

An `Uploader` thread sends the parts of an upload folder to an empty edge in the folder's order,
over its own connection and through the same token bucket as the queries (the upload and the
queries share the shaped uplink). After each part the edge confirms what it holds; only
confirmed parts count. When the connection drops, the uploader reconnects, asks the edge what
it holds (and how many bytes of the part in flight) and resumes from there; the edge never
installs a partial part. Attempts are bounded in count.

`IncrementalClient.infer`: before each query, the layout with the least predicted latency among
those the edge's confirmed parts can serve (the folder's `LayoutChooser`, the one the upload
order was made with): the end runs segments [0, a), the edge [a, N). If the edge refuses (it
does not hold the span) or is unreachable, the end runs the rest itself (a fallback, counted).
`slowdown` makes this host stand in for a slower end device: the end's invokes of a query are
followed by one sleep of (slowdown - 1) times their duration.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from cnnpc.errors import CnnpcError
from cnnpc.records import TensorSpec, UploadPlan
from cnnpc.runtime._address import check_loopback
from cnnpc.runtime._client import COMPONENTS, InferResult, RequestError, split_timings
from cnnpc.runtime._framed import FramedConnection
from cnnpc.runtime._frames import (
    ERROR,
    HOLDINGS,
    STATUS,
    UPLOAD,
    FrameError,
    PayloadError,
    PeerClosed,
    decode_status,
    encode_chunk,
    read_frame,
    send_frame,
)
from cnnpc.runtime._part import Image, Part, dequantize, image_batch, quantize, requantize
from cnnpc.runtime._rpc import Tensor, remote_text
from cnnpc.runtime._server import RESULT_SLACK, TENSOR_SLACK
from cnnpc.runtime._shaper import TokenBucket
from cnnpc.runtime._uploadedge import CHUNK_BYTES, span_code
from cnnpc.runtime._verify import verify_parts
from cnnpc.upload import LayoutChooser

MAX_ATTEMPTS = 20
STATUS_LIMIT = 65536


@dataclass(frozen=True)
class UploadEvent:
    time_s: float
    kind: str
    """"installed" (the edge confirmed a part), "dropped" (the connection failed), "resumed"
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
    ) -> None:
        self.plan = plan
        self.edge = (check_loopback(edge[0]), edge[1])
        self.bucket = bucket
        self.order = (
            tuple(k for step in plan.steps for k in step) if order is None else tuple(order)
        )
        self.timeout = timeout
        self.events: list[UploadEvent] = []
        self.error: str | None = None
        self._clock = clock
        self._started = clock()
        self._held: frozenset[int] = frozenset()
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="upload", daemon=True)
        self._next_id = 0

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
        """Cut the upload connection as a failing network would (the upload resumes)."""
        with self._lock:
            sock = self._sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def _event(self, kind: str, segment: int | None, detail: str = "") -> None:
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
            with self._lock:
                sock, self._sock = self._sock, None
            if sock is not None:
                sock.close()
            self._done.set()

    def _session(self) -> bool:
        """One connection: ask what the edge holds, send the rest; True once all is confirmed."""
        try:
            sock = socket.create_connection(self.edge, timeout=self.timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._sock = sock
            partial = self._exchange(sock, HOLDINGS, 0, b"", None)
            for k in self.order:
                if self._stop.is_set():
                    return True
                if k in self.held:
                    continue
                offset = partial.pop(k, 0)
                if offset:
                    self._event("resumed", k, f"from byte {offset}")
                self._send_part(sock, k, offset)
                self._event("installed", k)
            return True
        except (OSError, PeerClosed, FrameError, PayloadError, RequestError) as exc:
            if not self._stop.is_set():
                self._event("dropped", None, str(exc))
            return False
        finally:
            with self._lock:
                sock_now, self._sock = self._sock, None
            if sock_now is not None:
                sock_now.close()

    def _send_part(self, sock: socket.socket, k: int, offset: int) -> None:
        data = memoryview(self.plan.part_path(k).read_bytes())
        size = self.plan.sizes[k]
        while offset + CHUNK_BYTES < size:
            self._next_id += 1
            payload = encode_chunk(offset, data[offset : offset + CHUNK_BYTES])
            send_frame(sock, UPLOAD, self._next_id, payload, self.bucket, k)
            offset += CHUNK_BYTES
        self._exchange(sock, UPLOAD, k, encode_chunk(offset, data[offset:size]), self.bucket)
        if k not in self.held:
            raise RequestError(f"the edge did not install segment {k}")

    def _exchange(
        self, sock: socket.socket, kind: int, k: int, payload: bytes, bucket: TokenBucket | None
    ) -> dict[int, int]:
        """Send one frame, read the STATUS it gets; returns the bytes held of parts in flight."""
        self._next_id += 1
        send_frame(sock, kind, self._next_id, payload, bucket, k)
        frame = read_frame(sock, STATUS_LIMIT, self.timeout, self.timeout)
        if frame.type == ERROR:
            raise RequestError(f"the edge refused: {remote_text(frame.payload)}")
        if frame.type != STATUS:
            raise RequestError("the edge answered out of protocol")
        installed, partial = decode_status(frame.payload)
        with self._lock:
            self._held = frozenset(installed)
        return partial


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
        self.uploader = Uploader(plan, edge, upload_bucket, order=order, timeout=timeout)
        max_result = max(p.output.nbytes for p in plan.parts) + TENSOR_SLACK + RESULT_SLACK
        self.connection = FramedConnection(edge, self.bucket, timeout, max_result)
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
                out = self.parts[n - 1].spec.output  # spec stays the input's for a fallback
                remote, q, rtt = self.connection.request(q, span_code(a, n), out)
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
