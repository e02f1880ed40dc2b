"""What the upload path (``_upload``, ``_uploadedge``) still takes from the framed transport
while it moves to gRPC: its edge connection and its route handler. Goes with the framing."""

from __future__ import annotations

import contextlib
import socket
import time

import numpy as np

from cnnpc.records import TensorSpec
from cnnpc.runtime._address import check_loopback
from cnnpc.runtime._client import RequestError
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
    read_frame,
    send_frame,
)
from cnnpc.runtime._rpc import Tensor, remote_text
from cnnpc.runtime._server import Route, run_route
from cnnpc.runtime._shaper import TokenBucket


def serve_framed(route: Route, payload: bytes, role: str) -> bytes:
    """The RESULT payload of one INFER frame along `route` (a route that does not forward)."""
    start = time.perf_counter()
    x = decode_tensor(payload)
    expected = route.incoming
    if tuple(x.shape) != expected.shape or x.dtype.name != expected.dtype:
        raise PayloadError(
            f"{route.what} takes {expected.dtype}{list(expected.shape)}, "
            f"got {x.dtype.name}{list(x.shape)}"
        )
    x, _, compute_ms = run_route(route, x)
    timings = {f"{role}_compute_ms": compute_ms}
    timings[f"{role}_service_ms"] = (time.perf_counter() - start) * 1e3
    return encode_result(timings, x)


class FramedConnection:
    """One persistent framed connection to an upload edge: send an INFER, read its RESULT."""

    def __init__(
        self,
        edge: tuple[str, int],
        bucket: TokenBucket | None,
        timeout: float,
        max_result: int,
    ) -> None:
        self.edge = (check_loopback(edge[0]), edge[1])
        self.bucket = bucket
        self.timeout = timeout
        self.max_result = max_result
        self._sock: socket.socket | None = None
        self._next_id = 0

    def close(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()
            self._sock = None

    def _connect(self) -> socket.socket:
        if self._sock is None:
            try:
                sock = socket.create_connection(self.edge, timeout=self.timeout)
            except OSError as exc:
                where = f"{self.edge[0]}:{self.edge[1]}"
                raise RequestError(f"cannot reach the edge at {where}: {exc.strerror}") from None
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._sock = sock
        return self._sock

    def request(
        self, q: Tensor, plan: int = 0, expect: TensorSpec | None = None
    ) -> tuple[dict[str, float], Tensor, float]:
        """(the edge's timings, the result tensor, the round trip in ms) of one request."""
        payload = encode_tensor(q)
        self._next_id += 1
        sock = self._connect()
        try:
            sock.settimeout(self.timeout)
            start = time.perf_counter()
            send_frame(sock, INFER, self._next_id, payload, self.bucket, plan)
            frame = read_frame(sock, self.max_result, self.timeout, self.timeout)
            rtt = (time.perf_counter() - start) * 1e3
        except (OSError, PeerClosed, FrameError) as exc:
            self.close()
            raise RequestError(f"the edge dropped the request: {exc}") from None
        if frame.type == ERROR:
            raise RequestError(f"the edge answered: {remote_text(frame.payload)}")
        if frame.type != RESULT or frame.request_id != self._next_id:
            self.close()
            raise RequestError("the edge answered out of protocol")
        try:
            timings, result = decode_result(frame.payload)
        except PayloadError as exc:
            raise RequestError(f"the edge's result is malformed: {exc}") from None
        if expect is not None and (
            tuple(np.shape(result)) != expect.shape or np.dtype(result.dtype).name != expect.dtype
        ):
            raise RequestError(
                f"the edge's result is {np.dtype(result.dtype).name}{list(np.shape(result))}, "
                f"the plan's output is {expect.dtype}{list(expect.shape)}"
            )
        return timings, result, rtt
