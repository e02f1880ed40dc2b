"""A server's answer is never trusted: its error text reaches the terminal escaped and cut, and a
result of the wrong shape or type is refused in one line."""

from __future__ import annotations

from concurrent import futures

import grpc
import numpy as np
import pytest

from cnnpc.runtime._client import PlanClient, RequestError
from cnnpc.runtime._rpc import to_message
from cnnpc.runtime.proto import cnnpc_tier_pb2 as pb
from cnnpc.runtime.proto import cnnpc_tier_pb2_grpc as pb_grpc

pytestmark = pytest.mark.slow
HOSTILE = "\x1b[2J\nforged line " + "x" * 1000


class _Fake(pb_grpc.TierServicer):
    def __init__(self, answer):
        self.answer = answer

    def Infer(self, request, context):
        return self.answer(request, context)


class _FakeServer:
    """A loopback gRPC server whose Infer is answer(request, context); `close` stops it."""

    def __init__(self, answer):
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        pb_grpc.add_TierServicer_to_server(_Fake(answer), self.server)
        port = self.server.add_insecure_port("127.0.0.1:0")
        self.server.start()
        self.address = ("127.0.0.1", port)

    def close(self):
        self.server.stop(None)


def _fake_edge(answer):
    """(the fake server, its address): the tests of this file and test_adaptive's share it."""
    fake = _FakeServer(answer)
    return fake, fake.address


def _abort(text, trailer=None):
    def answer(request, context):
        if trailer is not None:
            context.set_trailing_metadata((("cnnpc-tier", trailer),))
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, text)

    return answer


def _reply(array, timings=None):
    return lambda request, context: pb.InferReply(
        tensor=to_message(array), timings_ms=timings or {}
    )


@pytest.mark.parametrize(
    ("answer", "match"),
    [
        (_abort(HOSTILE, "edge"), r"the edge answered: \\x1b\[2J\\nforged line x+…$"),
        (
            _abort(HOSTILE),
            r"dropped the request \(INVALID_ARGUMENT\): \\x1b\[2J\\nforged line x+…$",
        ),
        (
            _reply(np.zeros((1, 3), np.int8)),
            r"the edge's result is int8\[1, 3\], the plan's output",
        ),
        (_reply(np.zeros((2, 10), np.int8)), r"the edge's result is int8\[2, 10\]"),
        (
            lambda r, c: pb.InferReply(tensor=pb.Tensor(dtype=pb.INT8, shape=[1, 10], data=b"1")),
            r"the edge's result is malformed: tensor \(1, 10\) of int8 needs 10 bytes, got 1",
        ),
        (
            _reply(np.zeros((1, 10), np.int8), {"\x1b[2J": 1.0}),
            r"malformed: a reply timing's name is not a short identifier",
        ),
        (_reply(np.zeros((1, 10), np.int8), {"edge_ms": float("nan")}), r"timings must be finite"),
        (
            _reply(np.zeros((1, 10), np.int8), {f"k{i}": 1.0 for i in range(33)}),
            r"more than 32 timings",
        ),
        (
            _reply(np.zeros((1, 1 << 21), np.int8)),  # over the client's limit: never read
            r"dropped the request \(RESOURCE_EXHAUSTED\)",
        ),
    ],
    ids=[
        "abort-text",
        "abort-no-trailer",
        "shape",
        "batch",
        "bytes",
        "timing-name",
        "timing-nan",
        "timings-many",
        "oversized",
    ],
)
def test_a_hostile_edge_is_one_escaped_line(three_tier, data, answer, match):
    fake, address = _fake_edge(answer)
    try:
        with (
            PlanClient(three_tier, address, timeout=5.0) as client,
            pytest.raises(RequestError, match=match) as info,
        ):
            client.infer(data.test.x[0])
        text = str(info.value)
        assert "\n" not in text and "\x1b" not in text and len(text) < 400
    finally:
        fake.close()


def test_every_client_checks_a_result_in_the_connection_they_share(three_tier):
    """EdgeConnection.request is where the plain and adaptive clients read a result: the
    plan's output spec is checked there, shape and type."""
    from cnnpc.runtime._client import EdgeConnection

    out = three_tier.parts["cloud"].output
    fake, address = _fake_edge(_reply(np.zeros(out.shape, np.float32)))
    connection = EdgeConnection(address, None, 5.0, 1 << 20)
    try:
        q = np.zeros((1, 4), np.int8)
        with pytest.raises(RequestError, match=r"the edge's result is float32\[1, 10\]"):
            connection.request(q, expect=out)
        _, result, _ = connection.request(q)  # no spec: the connection itself reads it
        assert result.dtype == np.float32
    finally:
        connection.close()
        fake.close()


def test_an_edge_relays_its_clouds_words_escaped(three_tier):
    """The edge passes a cloud's error on to its client: escaped and cut there already, so no
    raw escape sequence reaches the client's status, its log or its terminal; the cloud's code
    is kept."""
    from cnnpc.runtime import PartServer

    fake, cloud = _fake_edge(_abort(HOSTILE, "cloud"))
    spec = three_tier.parts["edge"].input
    try:
        with PartServer(three_tier, "edge", next_address=cloud, shape=False) as edge:
            channel = grpc.insecure_channel(f"127.0.0.1:{edge.address[1]}")
            request = pb.InferRequest(tensor=to_message(np.zeros(spec.shape, spec.dtype)))
            with pytest.raises(grpc.RpcError) as info:
                pb_grpc.TierStub(channel).Infer(request, timeout=60)
            channel.close()
        said = info.value.details()
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert said.startswith(r"next tier: \x1b[2J\nforged line x")
        assert said.isprintable() and len(said) < 400
    finally:
        fake.close()
