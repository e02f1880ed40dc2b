"""Edge and cloud servers on OS-chosen loopback ports: requests, and clients that misbehave.

Each refusal is a gRPC status code with one line, and the server goes on serving."""

from __future__ import annotations

import socket
import threading
import time

import grpc
import numpy as np
import pytest
from deploy.plans import compose
from grpc_health.v1 import health_pb2, health_pb2_grpc

from cnnpc.errors import InputError
from cnnpc.runtime import (
    Limits,
    PartServer,
    PlanClient,
    RequestError,
    TokenBucket,
    message_limit,
    running_servers,
)
from cnnpc.runtime._rpc import to_message
from cnnpc.runtime.proto import cnnpc_tier_pb2 as pb
from cnnpc.runtime.proto import cnnpc_tier_pb2_grpc as pb_grpc

pytestmark = pytest.mark.slow
LIMITS = Limits(max_connections=3, frame_timeout=0.3, idle_timeout=5.0)


@pytest.fixture(scope="module")
def edge_server(three_tier):
    cloud = PartServer(three_tier, "cloud", limits=LIMITS)
    edge = PartServer(three_tier, "edge", next_address=cloud.start(), limits=LIMITS)
    with cloud, edge:
        yield edge


@pytest.fixture(scope="module")
def servers(edge_server):
    return edge_server.address


@pytest.fixture()
def client(three_tier, servers):
    with PlanClient(three_tier, servers) as c:
        yield c


@pytest.fixture()
def stub(servers):
    """A bare Tier stub that sends whatever a test gives it (no client-side limit)."""
    channel = grpc.insecure_channel(f"{servers[0]}:{servers[1]}")
    try:
        yield pb_grpc.TierStub(channel)
    finally:
        channel.close()


def _still_serves(three_tier, servers, data):
    with PlanClient(three_tier, servers) as fresh:
        assert fresh.infer(data.test.x[0]).scores.shape == (10,)


def _feature(three_tier, data):
    from cnnpc.runtime import Part, quantize

    end = Part(three_tier.part_path("end"), three_tier.parts["end"])
    return end.run(quantize(data.test.x[:1], three_tier.parts["end"].input))[0]


def _refused(stub, request):
    with pytest.raises(grpc.RpcError) as info:
        stub.Infer(request, timeout=10)
    err = info.value
    assert "\n" not in err.details() and len(err.details()) < 1100
    return err.code(), err.details()


def test_requests_go_end_edge_cloud_and_back(three_tier, client, data):
    images = data.test.x[:20]
    results = [client.infer(x) for x in images]
    local = compose(three_tier, images)
    assert np.array_equal(np.array([r.scores for r in results]), local)  # bit for bit
    t = results[-1].timings
    for key in ("end_ms", "edge_ms", "cloud_ms", "uplink_ms", "downlink_ms", "total_ms"):
        assert t[key] >= 0.0
    assert t["end_ms"] > 0 and t["edge_ms"] > 0 and t["cloud_ms"] > 0
    parts = sum(t[k] for k in ("end_ms", "uplink_ms", "edge_ms", "downlink_ms", "cloud_ms"))
    assert parts + t["overhead_ms"] == pytest.approx(t["total_ms"])


def test_shaped_links_take_the_plan_bandwidth(three_tier, data):
    up, down = three_tier.links
    with (
        running_servers(three_tier, shape=True) as edge,
        PlanClient(three_tier, edge, shape=True) as shaped,
    ):
        t = shaped.infer(data.test.x[0]).timings
    for measured, link in ((t["uplink_ms"], up), (t["downlink_ms"], down)):
        pure = link.bytes * 8 / (link.bandwidth_mbps * link.mbit_bits) * 1e3
        assert measured >= 0.5 * pure


def test_the_reply_carries_the_plans_quantization(three_tier, stub, data):
    feature = _feature(three_tier, data)
    reply = stub.Infer(pb.InferRequest(tensor=to_message(feature)), timeout=30)
    out = three_tier.parts["cloud"].output
    assert list(reply.tensor.shape) == list(out.shape) and reply.tensor.dtype == pb.INT8
    assert (
        reply.tensor.scale == pytest.approx(out.scale) and reply.tensor.zero_point == out.zero_point
    )
    assert {"edge_compute_ms", "edge_forward_ms", "cloud_service_ms"} <= set(reply.timings_ms)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda f: to_message(np.zeros((1, 3), np.int8)), "the edge takes int8"),
        (lambda f: to_message(f.astype(np.float32)), "got float32"),
        (lambda f: pb.Tensor(dtype=pb.INT8, shape=f.shape, data=b"\x00" * 5), "needs"),
        (lambda f: pb.Tensor(dtype=7, shape=f.shape, data=f.tobytes()), "dtype code 7"),
        (lambda f: pb.Tensor(dtype=pb.INT8, shape=[1] * 9, data=b"\x00"), "at most 8"),
        (
            lambda f: pb.Tensor(dtype=pb.INT8, shape=f.shape, data=f.tobytes(), scale=9.0),
            "takes scale",
        ),
    ],
    ids=["shape", "dtype", "bytes", "dtype-code", "rank", "quantization"],
)
def test_a_wrong_tensor_is_invalid_argument_and_the_server_goes_on(
    three_tier, servers, edge_server, stub, data, make, message
):
    feature = _feature(three_tier, data)
    errors = edge_server.stats.errors
    code, text = _refused(stub, pb.InferRequest(tensor=make(feature)))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and message in text
    assert edge_server.stats.errors == errors + 1
    reply = stub.Infer(pb.InferRequest(tensor=to_message(feature)), timeout=30)  # same channel
    assert list(reply.tensor.shape) == [1, 10]
    _still_serves(three_tier, servers, data)


def test_a_plan_or_span_the_server_does_not_hold_is_not_found(three_tier, stub, data):
    tensor = to_message(_feature(three_tier, data))
    code, text = _refused(stub, pb.InferRequest(tensor=tensor, plan=3))
    assert code == grpc.StatusCode.NOT_FOUND and "not plan 3" in text
    span = pb.Span(first=0, end=2)
    code, text = _refused(stub, pb.InferRequest(tensor=tensor, span=span))
    assert code == grpc.StatusCode.NOT_FOUND and "not the spans of an upload" in text
    for method in ("GetHoldings",):
        with pytest.raises(grpc.RpcError) as info:
            getattr(stub, method)(pb.HoldingsRequest(), timeout=10)
        assert info.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_an_oversized_message_is_resource_exhausted(three_tier, servers, edge_server, stub, data):
    # the largest message read is the plan's tensor plus a margin: memory stays bounded
    assert edge_server.max_receive == message_limit(three_tier.links[0].bytes)
    huge = pb.Tensor(dtype=pb.INT8, shape=[1, 4 << 20], data=bytes(4 << 20))
    code, text = _refused(stub, pb.InferRequest(tensor=huge))
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED and "larger than max" in text
    _still_serves(three_tier, servers, data)


def _closed(sock):
    """The server closed it: EOF, or a reset when our unread bytes were still in its buffer."""
    try:
        while sock.recv(4096):
            pass
        return True
    except ConnectionResetError:
        return True


def test_not_grpc_is_closed_and_the_server_goes_on(three_tier, servers, data):
    with socket.create_connection(servers, timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert _closed(sock)
    _still_serves(three_tier, servers, data)


def test_a_stalled_handshake_is_dropped_while_others_are_served(three_tier, servers, data):
    with socket.create_connection(servers, timeout=5) as slow:
        slow.sendall(b"PRI * HTTP/2.0\r\n")  # half of HTTP/2's preface, then silence
        _still_serves(three_tier, servers, data)  # served while the slow one stalls
        start = time.monotonic()
        assert _closed(slow)
        assert time.monotonic() - start <= LIMITS.frame_timeout + 2.0


def test_edge_without_cloud_is_unavailable(three_tier, data):
    edge = PartServer(three_tier, "edge", next_address=("127.0.0.1", 9), limits=LIMITS)
    with edge, PlanClient(three_tier, edge.address) as c:
        with pytest.raises(RequestError, match=r"the edge answered: next tier 127\.0\.0\.1:9 unav"):
            c.infer(data.test.x[0])
        channel = grpc.insecure_channel(f"127.0.0.1:{edge.address[1]}")
        tensor = to_message(_feature(three_tier, data))
        code, _ = _refused(pb_grpc.TierStub(channel), pb.InferRequest(tensor=tensor))
        channel.close()
        assert code == grpc.StatusCode.UNAVAILABLE


def test_an_unreachable_edge_is_one_line(three_tier, data):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with (
        PlanClient(three_tier, ("127.0.0.1", port), timeout=5) as c,
        pytest.raises(RequestError, match=f"cannot reach the edge at 127.0.0.1:{port}") as info,
    ):
        c.infer(data.test.x[0])
    assert "\n" not in str(info.value)


def test_health_says_serving_once_started(three_tier, servers, edge_server):
    channel = grpc.insecure_channel(f"{servers[0]}:{servers[1]}")
    try:
        health = health_pb2_grpc.HealthStub(channel)
        for service in ("", "cnnpc.v1.Tier"):
            request = health_pb2.HealthCheckRequest(service=service)
            assert health.Check(request, timeout=5).status == health_pb2.HealthCheckResponse.SERVING
    finally:
        channel.close()
    cloud = PartServer(three_tier, "cloud", limits=LIMITS)
    request = health_pb2.HealthCheckRequest(service="cnnpc.v1.Tier")
    with cloud:
        assert cloud.health.Check(request, None).status == health_pb2.HealthCheckResponse.SERVING
    assert cloud.health.Check(request, None).status == health_pb2.HealthCheckResponse.NOT_SERVING


def test_stop_answers_every_call_in_flight(three_tier, data):
    """SIGTERM's `stop`: no new calls, and those in flight are answered, not cut."""
    cloud = PartServer(three_tier, "cloud")
    edge = PartServer(three_tier, "edge", next_address=cloud.start(), shape=True)
    edge.start()
    assert edge.forwarder is not None
    down = three_tier.links[1].bytes
    edge.forwarder.bucket = TokenBucket(down / 0.15, burst=1)  # a forward: about 150 ms
    results, errors = [], []
    clients = [PlanClient(three_tier, edge.address, timeout=30) for _ in range(3)]

    def call(c):
        try:
            results.append(c.infer(data.test.x[0]).label)
        except Exception as exc:
            errors.append(exc)

    callers = [threading.Thread(target=call, args=(c,)) for c in clients]
    try:
        for caller in callers:
            caller.start()
        time.sleep(0.25)  # in flight: queued on the shaped link
        assert len(results) < 3
        start = time.monotonic()
        edge.stop(grace=20.0)
        for caller in callers:
            caller.join(30)
        assert not errors and len(results) == 3
        assert time.monotonic() - start < 10
        with (
            PlanClient(three_tier, edge.address, timeout=5) as late,
            pytest.raises(RequestError, match="cannot reach"),
        ):
            late.infer(data.test.x[0])
    finally:
        for c in clients:
            c.close()
        edge.stop()
        cloud.stop()


def test_only_local_addresses_are_served_and_plaintext_only_on_loopback(three_tier):
    with pytest.raises(InputError, match="not an address of this machine"):
        PartServer(three_tier, "cloud", host="192.0.2.77")
    with pytest.raises(InputError, match="TLS is required"):
        PartServer(three_tier, "cloud", host="0.0.0.0")  # every address: off loopback
    with pytest.raises(InputError, match="--next"):
        PartServer(three_tier, "edge")


def test_an_edge_replica_stopped_mid_call_loses_no_request(three_tier, data):
    """Two edge replicas of the deployed plan (`--edge A,B`); one stops with a request in
    flight (its forward to the cloud held on a slow link), which gRPC's retry policy moves to
    the other: every request is answered, with the labels a healthy edge gives."""
    cloud = PartServer(three_tier, "cloud")
    edges = [PartServer(three_tier, "edge", next_address=cloud.start(), shape=True) for _ in "ab"]
    addresses = [e.start() for e in edges]
    victim = edges[1]
    assert victim.forwarder is not None
    bucket = TokenBucket(three_tier.links[1].bytes / 0.05, burst=1)  # a forward: about 50 ms
    armed, holding = threading.Event(), threading.Event()
    consume = bucket.consume

    def held_forward(n):
        if armed.is_set():
            holding.set()  # a request is in flight on the victim now
        return consume(n)

    bucket.consume = held_forward
    victim.forwarder.bucket = bucket
    images = data.test.x[:40]
    killed: list[float] = []

    def kill():
        if holding.wait(30):
            time.sleep(0.01)
            killed.append(time.perf_counter())
            victim.stop(grace=None)  # cancels the calls it runs

    try:
        with PlanClient(three_tier, addresses[0]) as healthy:
            expected = [healthy.infer(x).label for x in images]
        spans, labels = [], []
        killer = threading.Thread(target=kill)
        killer.start()
        with PlanClient(three_tier, addresses, timeout=30) as client:
            for i, x in enumerate(images):
                if i == 10:
                    armed.set()
                start = time.perf_counter()
                labels.append(client.infer(x).label)
                spans.append((start, time.perf_counter()))
        killer.join(30)
    finally:
        for server in (*edges, cloud):
            server.stop()
    assert killed and labels == expected  # none lost, none wrong
    median = float(np.median([b - a for a, b in spans]))
    hit = [b - a for a, b in spans if a <= killed[0] <= b]
    assert hit  # a request was in flight when the replica stopped
    print(
        f"\nedge replica stopped: {len(labels)} requests, 0 lost; median {median * 1e3:.1f} ms, "
        f"the one in flight {hit[0] * 1e3:.1f} ms (+{(hit[0] - median) * 1e3:.1f} ms)"
    )
    assert hit[0] < 5.0
