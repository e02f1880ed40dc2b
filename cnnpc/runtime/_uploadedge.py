"""An edge that starts empty and receives the model while it serves (IONN's edge server).

It knows the upload folder's document only (each segment's tensors, size and sha256), no part.
An Upload stream brings parts in chunks, in order (a Chunk: the segment, the offset, the
bytes); a part is installed only once all its bytes are there and their sha256 is the plan's,
and each install is answered on the stream with what the edge holds. GetHoldings says the same
at any time (the segments installed, the bytes held of each part in flight), so a client whose
stream broke resumes where the edge is: bytes held survive the stream that brought them. An
Infer names a span [first, end) of segments and runs if the edge holds the whole span.

Wrong input is a status code with one line, and nothing is installed: a segment the plan does
not have (NOT_FOUND), a chunk at the wrong offset or for a part installed already
(FAILED_PRECONDITION), a chunk past the part's size (INVALID_ARGUMENT), a part whose digest does
not match or that does not load (FAILED_PRECONDITION, its bytes discarded), a span not fully
held (NOT_FOUND). A refusal ends that stream, not the server. A stream whose next chunk does not
come within `Limits.frame_timeout` seconds is cut (CANCELLED, by the read deadline every cnnpc
server has: `_limits`): a silent client holds one worker for that long at most. Memory is
bounded by the plan: at most one buffer per part, of its size; the handler takes one chunk at a
time, and gRPC's flow control holds the sender back. With `metrics`, the upload's progress is there
too: bytes held and size of each segment's part, and the segments installed.
"""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from collections.abc import Iterator, Sequence

import grpc

from cnnpc.errors import InputError
from cnnpc.records import PlanError, UploadPlan
from cnnpc.runtime._limits import Limits, message_limit
from cnnpc.runtime._metrics import Metrics
from cnnpc.runtime._part import Part
from cnnpc.runtime._rpc import (
    NotHeld,
    Precondition,
    RpcServer,
    answer,
)
from cnnpc.runtime._server import Route, serve_route
from cnnpc.runtime._tls import Transport
from cnnpc.runtime.proto import cnnpc_tier_pb2 as pb
from cnnpc.runtime.proto import cnnpc_tier_pb2_grpc as pb_grpc

CHUNK_BYTES = 16384
"""Bytes of a part per Chunk message the uploader sends."""


class _UploadService(pb_grpc.TierServicer):
    """Upload, GetHoldings and Infer-by-span on an UploadEdgeServer."""

    def __init__(self, server: UploadEdgeServer) -> None:
        self.server = server

    def Infer(self, request: pb.InferRequest, context: grpc.ServicerContext) -> pb.InferReply:
        server = self.server
        return answer(context, server.stats, server.role, lambda: server.infer(request))

    def GetHoldings(
        self, request: pb.HoldingsRequest, context: grpc.ServicerContext
    ) -> pb.Holdings:
        server = self.server
        return answer(context, server.stats, server.role, server.holdings_message)

    def Upload(
        self, request_iterator: Iterator[pb.Chunk], context: grpc.ServicerContext
    ) -> Iterator[pb.Holdings]:
        server = self.server
        while True:
            holdings = answer(
                context,
                server.stats,
                server.role,
                lambda: server.receive_part(request_iterator, context),
            )
            if holdings is None:
                return
            yield holdings


class UploadEdgeServer(RpcServer):
    """The empty edge of an upload folder (see the module doc)."""

    def __init__(
        self,
        plan: UploadPlan,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        threads: int = 1,
        limits: Limits | None = None,
        transport: Transport | None = None,
        interceptors: Sequence[grpc.ServerInterceptor] = (),
        metrics: Metrics | None = None,
    ) -> None:
        super().__init__("edge", host, port, limits, transport=transport, interceptors=interceptors)
        self.plan = plan
        self.metrics = metrics
        self.threads = threads
        largest_in = max(p.input.nbytes for p in plan.parts)
        self.max_receive = message_limit(max(largest_in, CHUNK_BYTES))
        self.max_send = message_limit(max(p.output.nbytes for p in plan.parts))
        self.installs: Counter[int] = Counter()
        """How many times each segment was installed (once, however the upload went)."""
        self._installed: dict[int, Part] = {}
        self._buffers: dict[int, bytearray] = {}
        self._state = threading.Lock()
        for segment in range(plan.n_segments):
            self._progress(segment, 0)
        if metrics is not None:
            metrics.installed(self.role, 0)

    def _progress(self, segment: int, held: int) -> None:
        """Tell the metrics (if any) how many bytes of `segment`'s part the edge holds."""
        if self.metrics is not None:
            self.metrics.upload_progress(self.role, segment, held, self.plan.sizes[segment])

    def _service(self) -> pb_grpc.TierServicer:
        return _UploadService(self)

    def holdings(self) -> tuple[frozenset[int], dict[int, int]]:
        """(segments installed, bytes held of each part in flight)."""
        with self._state:
            partial = {k: len(buf) for k, buf in self._buffers.items()}
            return frozenset(self._installed), partial

    def holdings_message(self) -> pb.Holdings:
        installed, partial = self.holdings()
        return pb.Holdings(installed=sorted(installed), partial=partial)

    def infer(self, request: pb.InferRequest) -> pb.InferReply:
        """The reply to one Infer (errors: StatusError, see ``_rpc``)."""
        if request.WhichOneof("route") != "span":
            raise NotHeld("an upload edge runs spans of segments: name one (route.span)")
        return serve_route(
            self._route(request.span.first, request.span.end), request.tensor, "edge"
        )

    def _route(self, a: int, b: int) -> Route:
        n = self.plan.n_segments
        if not 0 <= a < b <= n:
            raise NotHeld(f"no span [{a}, {b}) in a model of {n} segments")
        with self._state:
            parts = [self._installed.get(k) for k in range(a, b)]
        missing = [k for k, part in zip(range(a, b), parts, strict=True) if part is None]
        if missing:
            raise NotHeld(
                f"the edge does not hold segment(s) {', '.join(map(str, missing))} of span "
                f"[{a}, {b}) yet: run it on the end device"
            )
        held = tuple(p for p in parts if p is not None)
        return Route(f"span [{a}, {b}) on the edge", self.plan.parts[a].input, held, False)

    def receive_part(
        self, chunks: Iterator[pb.Chunk], context: grpc.ServicerContext
    ) -> pb.Holdings | None:
        """Chunks until one completes and installs a part (its Holdings), or the stream ends
        (None); a chunk of a cancelled call is not applied."""
        while True:
            try:
                chunk = next(chunks, None)
            except grpc.RpcError:  # the call was cut (read deadline) or cancelled: it is gone
                return None
            if chunk is None or not context.is_active():
                return None
            content = self._receive(chunk.segment, chunk.offset, chunk.data)
            if content is not None:
                self._install(chunk.segment, content)
                return self.holdings_message()

    def _receive(self, segment: int, offset: int, data: bytes) -> bytes | None:
        """Apply one chunk; the part's bytes once complete."""
        n = self.plan.n_segments
        if not 0 <= segment < n:
            raise NotHeld(f"the plan has no segment {segment} (it has 0..{n - 1})")
        size = self.plan.sizes[segment]
        with self._state:
            if segment in self._installed:
                raise Precondition(f"segment {segment} is installed already")
            held = len(self._buffers.get(segment, b""))
            if offset != held:
                raise Precondition(
                    f"segment {segment}: a chunk at byte {offset}, but the edge holds {held} "
                    "bytes of it (ask GetHoldings and resume there)"
                )
            if offset + len(data) > size:
                raise InputError(
                    f"segment {segment}: a chunk up to byte {offset + len(data)} of a "
                    f"{size}-byte part"
                )
            buffer = self._buffers.setdefault(segment, bytearray())
            buffer += data
            self._progress(segment, len(buffer))
            if len(buffer) < size:
                return None
            return bytes(self._buffers.pop(segment))

    def _install(self, segment: int, content: bytes) -> None:
        """Check and load a complete part; on any fault its bytes are gone, nothing installed."""
        if hashlib.sha256(content).hexdigest() != self.plan.digests[segment]:
            self._progress(segment, 0)
            raise Precondition(
                f"segment {segment}: its sha256 is not the plan's; discarded, upload it again"
            )
        try:
            part = Part(
                f"uploaded segment {segment}", self.plan.parts[segment], self.threads, content
            )
        except PlanError as exc:
            self._progress(segment, 0)
            raise Precondition(str(exc)) from None
        with self._state:
            if segment in self._installed:  # two uploaders raced: keep the first
                return
            self._installed[segment] = part
            self.installs[segment] += 1
            count = len(self._installed)
        if self.metrics is not None:
            self.metrics.installed(self.role, count)
