"""An edge that starts empty and receives the model while it serves (IONN's edge server).

It knows the upload folder's document only (each segment's tensors, size and sha256), no part.
UPLOAD frames bring a part in chunks, in order (`plan`: the segment, payload: offset and bytes);
a part is installed only once all its bytes are there and their sha256 is the plan's, and the
last chunk is answered with a STATUS. HOLDINGS asks for a STATUS at any time: the segments
installed and the bytes held of each part in flight, so a client whose connection dropped
resumes where the edge is. An INFER names a span [a, b) of segments (`plan` = a * 256 + b) and
is served by the one request handler (``serve_route``) if the edge holds the whole span.

Wrong input is an ERROR frame and nothing is installed: a segment the plan does not have, a
chunk at the wrong offset or past the part's size, a part whose digest does not match (its
bytes are discarded), a span not fully held. Frame-level faults (oversize, truncated, stalled)
are FrameServer's. Memory is bounded by the plan: at most one buffer per part, of its size.
"""

from __future__ import annotations

import hashlib
import threading
from collections import Counter

from cnnpc.records import PlanError, UploadPlan
from cnnpc.runtime._framed import serve_framed
from cnnpc.runtime._frames import (
    CHUNK,
    HOLDINGS,
    INFER,
    RESULT,
    STATUS,
    UPLOAD,
    Frame,
    PayloadError,
    decode_chunk,
    encode_status,
)
from cnnpc.runtime._listener import FrameServer
from cnnpc.runtime._part import Part
from cnnpc.runtime._rpc import Limits
from cnnpc.runtime._server import TENSOR_SLACK, Route

CHUNK_BYTES = 16384
"""Bytes of a part per UPLOAD frame (the largest frame the empty edge accepts beyond a tensor)."""


def span_code(a: int, b: int) -> int:
    """The frame header's u16 for the span [a, b) of segments."""
    return a << 8 | b


class UploadEdgeServer(FrameServer):
    """The empty edge of an upload folder (see the module doc)."""

    def __init__(
        self,
        plan: UploadPlan,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        threads: int = 1,
        limits: Limits | None = None,
    ) -> None:
        super().__init__("edge", host, port, limits)
        self.plan = plan
        self.threads = threads
        tensor = max(p.input.nbytes for p in plan.parts) + TENSOR_SLACK
        self.max_payload = max(tensor, CHUNK_BYTES + CHUNK.size)
        self.installs: Counter[int] = Counter()
        """How many times each segment was installed (once, however the upload went)."""
        self._installed: dict[int, Part] = {}
        self._buffers: dict[int, bytearray] = {}
        self._state = threading.Lock()

    def holdings(self) -> tuple[frozenset[int], dict[int, int]]:
        """(segments installed, bytes held of each part in flight)."""
        with self._state:
            partial = {k: len(buf) for k, buf in self._buffers.items()}
            return frozenset(self._installed), partial

    def _status(self) -> bytes:
        installed, partial = self.holdings()
        return encode_status(sorted(installed), partial)

    def _answer(self, frame: Frame) -> tuple[int, bytes] | None:
        if frame.type == INFER:
            route = self._route(frame.plan)
            return RESULT, serve_framed(route, frame.payload, self.role)
        if frame.type == UPLOAD:
            return self._receive(frame.plan, frame.payload)
        if frame.type == HOLDINGS:
            return STATUS, self._status()
        raise PayloadError("the edge takes INFER, UPLOAD and HOLDINGS frames")

    def _route(self, code: int) -> Route:
        a, b = code >> 8, code & 0xFF
        n = self.plan.n_segments
        if not 0 <= a < b <= n:
            raise PayloadError(f"no span [{a}, {b}) in a model of {n} segments")
        with self._state:
            parts = [self._installed.get(k) for k in range(a, b)]
        missing = [k for k, part in zip(range(a, b), parts, strict=True) if part is None]
        if missing:
            raise PayloadError(
                f"the edge does not hold segment(s) {', '.join(map(str, missing))} of span "
                f"[{a}, {b}) yet: run it on the end device"
            )
        held = tuple(p for p in parts if p is not None)
        return Route(f"span [{a}, {b}) on the edge", self.plan.parts[a].input, held, False)

    def _receive(self, segment: int, payload: bytes) -> tuple[int, bytes] | None:
        n = self.plan.n_segments
        if not 0 <= segment < n:
            raise PayloadError(f"the plan has no segment {segment} (it has 0..{n - 1})")
        offset, data = decode_chunk(payload)
        size = self.plan.sizes[segment]
        with self._state:
            if segment in self._installed:
                raise PayloadError(f"segment {segment} is installed already")
            held = len(self._buffers.get(segment, b""))
            if offset != held:
                raise PayloadError(
                    f"segment {segment}: a chunk at byte {offset}, but the edge holds {held} "
                    "bytes of it (ask HOLDINGS and resume there)"
                )
            if offset + len(data) > size:
                raise PayloadError(
                    f"segment {segment}: a chunk up to byte {offset + len(data)} of a "
                    f"{size}-byte part"
                )
            buffer = self._buffers.setdefault(segment, bytearray())
            buffer += data
            if len(buffer) < size:
                return None
            content = bytes(self._buffers.pop(segment))
        self._install(segment, content)
        return STATUS, self._status()

    def _install(self, segment: int, content: bytes) -> None:
        """Check and load a complete part; on any fault its bytes are gone, nothing installed."""
        if hashlib.sha256(content).hexdigest() != self.plan.digests[segment]:
            raise PayloadError(
                f"segment {segment}: its sha256 is not the plan's; discarded, upload it again"
            )
        try:
            part = Part(
                f"uploaded segment {segment}", self.plan.parts[segment], self.threads, content
            )
        except PlanError as exc:
            raise PayloadError(str(exc)) from None
        with self._state:
            if segment in self._installed:  # two uploaders raced: keep the first
                return
            self._installed[segment] = part
            self.installs[segment] += 1
