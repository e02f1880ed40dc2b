"""The end device: run the head, send the int8 feature to the edge, get the classes back.

Every request is timed per component. The servers report their compute and service times in
the reply (its timings_ms), so the client can tell transfer from compute:

    uplink   = round trip to the edge - the edge's service time   (the way back is included)
    downlink = the edge's forward time - the cloud's service time
    overhead = total - every component (quantising, serialising, thread hand-offs)

A link with a codec (plan.json) is priced with its encode and decode time, so both go to the
link's component here too (each tier reports its own: <tier>_encode_ms, <tier>_decode_ms), and
the coded bytes each tier sent are kept as <tier>_sent_bytes (`InferResult.sent_bytes`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import grpc
import numpy as np
import numpy.typing as npt

from cnnpc.codec import DEFAULT_CODEC, Codec
from cnnpc.errors import CnnpcError
from cnnpc.records import DeployedPlan, TensorSpec
from cnnpc.runtime._coded import send
from cnnpc.runtime._part import Image, Part, dequantize, image_batch, quantize
from cnnpc.runtime._rpc import (
    Addresses,
    StatusError,
    Tensor,
    check_timings,
    from_message,
    open_channel,
    rpc_failure,
    said_by,
    tier_stub,
    where,
)
from cnnpc.runtime._server import result_limit
from cnnpc.runtime._shaper import TokenBucket
from cnnpc.runtime._tls import Transport
from cnnpc.runtime._verify import runnable_codecs
from cnnpc.runtime.proto import cnnpc_tier_pb2 as pb

COMPONENTS = ("end_ms", "uplink_ms", "edge_ms", "downlink_ms", "cloud_ms", "overhead_ms")


class RequestError(CnnpcError):
    """A request could not be served (server unreachable, or it answered with an error)."""


@dataclass(frozen=True)
class InferResult:
    label: int
    scores: npt.NDArray[np.float32]
    timings: dict[str, float]
    """end_ms, uplink_ms, edge_ms, downlink_ms, cloud_ms, overhead_ms, total_ms (+ raw ones)."""

    @property
    def sent_bytes(self) -> dict[str, int]:
        """The coded bytes sent on each link with a codec ("end->edge", "edge->cloud")."""
        links = {"end": "end->edge", "edge": "edge->cloud"}
        return {
            link: int(self.timings[f"{tier}_sent_bytes"])
            for tier, link in links.items()
            if f"{tier}_sent_bytes" in self.timings
        }


def split_timings(remote: dict[str, float], rtt: float) -> dict[str, float]:
    """The servers' reported times and the client's round trip as the plan's components
    (uplink, edge, downlink, cloud), keeping the raw ones too (see the module doc)."""
    timings = dict(remote)
    timings["uplink_ms"] = rtt - remote.get("edge_service_ms", 0.0)
    timings["edge_ms"] = remote.get("edge_compute_ms", 0.0)
    if "edge_forward_ms" in remote:
        timings["downlink_ms"] = remote["edge_forward_ms"] - remote["cloud_service_ms"]
        timings["cloud_ms"] = remote["cloud_compute_ms"]
    # a coded link's encode and decode times are the link's, as priced (absent: int8 links)
    timings["uplink_ms"] += remote.get("end_encode_ms", 0.0) + remote.get("edge_decode_ms", 0.0)
    if "downlink_ms" in timings:
        timings["downlink_ms"] += remote.get("edge_encode_ms", 0.0)
        timings["downlink_ms"] += remote.get("cloud_decode_ms", 0.0)
    return timings


class EdgeConnection:
    """The channel to the edge server: one Infer call per request, with a deadline, its bytes
    paid to the link's token bucket first (the round trip includes that wait)."""

    def __init__(
        self,
        edge: Addresses,
        bucket: TokenBucket | None,
        timeout: float,
        max_result: int,
        *,
        transport: Transport | None = None,
        options: Sequence[tuple[str, int | str]] = (),
    ) -> None:
        self.edge = edge
        self.bucket = bucket
        self.timeout = timeout
        self.max_result = max_result
        self._channel = open_channel(
            edge,
            max_send=-1,
            max_receive=max_result,
            transport=transport,
            name="edge",
            options=options,
        )
        self._stub = tier_stub(self._channel)

    def close(self) -> None:
        self._channel.close()

    def request(
        self,
        q: Tensor,
        plan: int = 0,
        expect: TensorSpec | None = None,
        spec: TensorSpec | None = None,
        codec: Codec = DEFAULT_CODEC,
    ) -> tuple[dict[str, float], Tensor, float]:
        """(the servers' timings, the result tensor, the round trip in ms) of one request;
        `plan` is the plan's number in a plan set (0: the server's only plan), `spec` the
        quantization `q` is sent with, `codec` the link's. A result that is not `expect`'s shape
        and type is refused: it would be read as scores without a word."""
        tensor, encode_ms = send(q, spec, codec)
        request = pb.InferRequest(tensor=tensor)
        if plan:
            request.plan = plan
        start = time.perf_counter()
        if self.bucket is not None:
            self.bucket.consume(request.ByteSize())
        try:
            reply = self._stub.Infer(request, timeout=self.timeout)
        except grpc.RpcError as err:
            raise self._failure(err) from None
        rtt = (time.perf_counter() - start) * 1e3
        try:
            timings = check_timings(reply.timings_ms)
            result = from_message(reply.tensor)
        except StatusError as exc:
            raise RequestError(f"the edge's result is malformed: {exc}") from None
        if not codec.is_default:
            timings |= {"end_encode_ms": encode_ms, "end_sent_bytes": float(len(tensor.data))}
        timings |= {f"{t}_sent_bytes": float(n) for t, n in reply.sent_bytes.items() if t == "edge"}
        if expect is not None and (
            tuple(np.shape(result)) != expect.shape or np.dtype(result.dtype).name != expect.dtype
        ):
            raise RequestError(
                f"the edge's result is {np.dtype(result.dtype).name}{list(np.shape(result))}, "
                f"the plan's output is {expect.dtype}{list(expect.shape)}"
            )
        return timings, result, rtt

    def _failure(self, err: grpc.RpcError) -> RequestError:
        """The one line a failed call is: the edge's words (escaped and cut), or gRPC's."""
        code, text = rpc_failure(err)
        if said_by(err) is not None:
            # a server's words are shown escaped and cut, never raw on the user's terminal
            return RequestError(f"the edge answered: {text}")
        at = where(self.edge)
        if code == grpc.StatusCode.UNAVAILABLE:
            return RequestError(f"cannot reach the edge at {at}: {text}")
        if code == grpc.StatusCode.DEADLINE_EXCEEDED:
            return RequestError(f"the edge at {at} did not answer within {self.timeout:g} s")
        return RequestError(f"the edge dropped the request ({code.name}): {text}")


class PlanClient:
    """Runs requests of a deployed plan against its edge server (None: an end-only plan)."""

    def __init__(
        self,
        plan: DeployedPlan,
        edge: Addresses | None,
        *,
        shape: bool = False,
        threads: int = 1,
        timeout: float = 60.0,
        transport: Transport | None = None,
        options: Sequence[tuple[str, int | str]] = (),
    ) -> None:
        """`transport`: TLS or plaintext, as the caller's policy decided (None: plaintext to
        loopback only); `edge`: one address or several replicas; `options`: extra channel
        options."""
        runnable_codecs(plan)
        self.plan = plan
        spec = plan.part("end")
        self.end = None if spec is None else Part(plan.part_path("end"), spec, threads)
        self.link = plan.link("end")
        if self.link is not None and edge is None:
            raise CnnpcError("the plan sends to the edge: give its address (--edge HOST:PORT)")
        self.bucket = (
            TokenBucket(self.link.rate_bytes_per_s) if shape and self.link is not None else None
        )
        self.output = list(plan.parts.values())[-1].output
        self.connection = (
            None
            if edge is None
            else EdgeConnection(
                edge,
                self.bucket,
                timeout,
                result_limit(plan),
                transport=transport,
                options=options,
            )
        )

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()

    def __enter__(self) -> PlanClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def infer(self, image: Image) -> InferResult:
        """Classify one float image (H, W, C) in [0, 1] at the plan's input size."""
        x = image_batch(image, self.plan.input)
        start = time.perf_counter()
        end_ms = 0.0
        first = next(iter(self.plan.parts.values()))
        q: Tensor = quantize(x, first.input)
        if self.end is not None:
            q, end_ms = self.end.run(q)
        timings = {"end_ms": end_ms, "uplink_ms": 0.0, "edge_ms": 0.0, "downlink_ms": 0.0}
        timings["cloud_ms"] = 0.0
        if self.connection is not None:
            assert self.link is not None
            remote, q, rtt = self.connection.request(
                q, expect=self.output, spec=self.link.spec, codec=self.link.codec
            )
            timings.update(split_timings(remote, rtt))
        scores = dequantize(q, self.output).reshape(-1)
        total = (time.perf_counter() - start) * 1e3
        parts = sum(timings[k] for k in COMPONENTS[:-1])
        timings["overhead_ms"] = total - parts
        timings["total_ms"] = total
        return InferResult(int(np.argmax(scores)), scores, timings)
