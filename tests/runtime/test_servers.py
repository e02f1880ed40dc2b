"""Edge and cloud servers on OS-chosen loopback ports: requests, and clients that misbehave."""

from __future__ import annotations

import socket
import time

import numpy as np
import pytest
from deploy.plans import compose

from cnnpc.errors import InputError
from cnnpc.runtime import (
    ERROR,
    INFER,
    RESULT,
    Limits,
    PartServer,
    PlanClient,
    RequestError,
    encode_header,
    encode_tensor,
    read_frame,
    running_servers,
    send_frame,
)

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


def _still_serves(three_tier, servers, data):
    with PlanClient(three_tier, servers) as fresh:
        assert fresh.infer(data.test.x[0]).scores.shape == (10,)


def _feature(three_tier, data):
    from cnnpc.runtime import Part, quantize

    end = Part(three_tier.part_path("end"), three_tier.parts["end"])
    return end.run(quantize(data.test.x[:1], three_tier.parts["end"].input))[0]


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


def _closed(sock):
    """The server closed it: EOF, or a reset when our unread bytes were still in its buffer."""
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def _raw(servers):
    sock = socket.create_connection(servers, timeout=5)
    return sock


def test_malformed_frame_gets_an_error_and_the_server_goes_on(
    three_tier, servers, edge_server, data
):
    dropped = edge_server.stats.dropped
    with _raw(servers) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        frame = read_frame(sock, 4096, 2.0)
        assert frame.type == ERROR and b"bad magic" in frame.payload
        assert _closed(sock)
    _still_serves(three_tier, servers, data)
    assert edge_server.stats.dropped == dropped + 1


def test_oversize_length_is_refused_before_reading(three_tier, servers, edge_server, data):
    # the largest frame read is the plan's tensor (+ its small header): memory stays bounded
    assert edge_server.max_payload == three_tier.links[0].bytes + 64
    with _raw(servers) as sock:
        sock.sendall(encode_header(INFER, 1, 2**31))  # 2 GiB announced, never allocated
        frame = read_frame(sock, 4096, 2.0)
        assert frame.type == ERROR and b"over this peer's limit" in frame.payload
    _still_serves(three_tier, servers, data)


def test_client_dropping_mid_frame(three_tier, servers, edge_server, data):
    payload = encode_tensor(_feature(three_tier, data))
    dropped = edge_server.stats.dropped
    with _raw(servers) as sock:
        sock.sendall(encode_header(INFER, 1, len(payload)) + payload[: len(payload) // 2])
    _still_serves(three_tier, servers, data)
    assert edge_server.stats.dropped == dropped + 1
    assert _wait_for(lambda: edge_server.active_connections() == 0)


def test_slow_client_is_dropped_while_others_are_served(three_tier, servers, data):
    payload = encode_tensor(_feature(three_tier, data))
    with _raw(servers) as slow:
        slow.sendall(encode_header(INFER, 1, len(payload)) + payload[:5])
        _still_serves(three_tier, servers, data)  # served while the slow one stalls
        time.sleep(LIMITS.frame_timeout + 0.2)
        frame = read_frame(slow, 4096, 2.0)
        assert frame.type == ERROR and b"timed out" in frame.payload
        assert _closed(slow)


def test_wrong_tensor_is_an_error_and_the_connection_stays(three_tier, servers, data):
    feature = _feature(three_tier, data)
    with _raw(servers) as sock:
        send_frame(sock, INFER, 5, encode_tensor(np.zeros((1, 3), np.int8)))
        frame = read_frame(sock, 4096, 2.0)
        assert frame.type == ERROR and frame.request_id == 5 and b"takes int8" in frame.payload
        send_frame(sock, INFER, 6, encode_tensor(feature))
        frame = read_frame(sock, 4096, 5.0)
        assert frame.type == RESULT and frame.request_id == 6


def _wait_for(condition, seconds=5.0):
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
    return condition()


def test_connections_are_bounded(three_tier, servers, edge_server, data):
    assert _wait_for(lambda: edge_server.active_connections() == 0)  # earlier tests' are gone
    idle = [_raw(servers) for _ in range(LIMITS.max_connections)]
    try:
        assert _wait_for(lambda: edge_server.active_connections() == LIMITS.max_connections)
        with _raw(servers) as extra:
            frame = read_frame(extra, 4096, 2.0)
            assert frame.type == ERROR and b"busy" in frame.payload
    finally:
        for sock in idle:
            sock.close()
    time.sleep(0.3)
    _still_serves(three_tier, servers, data)


def test_edge_without_cloud_answers_an_error(three_tier, data):
    edge = PartServer(three_tier, "edge", next_address=("127.0.0.1", 9), limits=LIMITS)
    with edge, PlanClient(three_tier, edge.address) as c, pytest.raises(RequestError, match="unav"):
        c.infer(data.test.x[0])


def test_only_loopback_is_served(three_tier):
    with pytest.raises(InputError, match="loopback"):
        PartServer(three_tier, "cloud", host="10.0.0.1")
    with pytest.raises(InputError, match="--next"):
        PartServer(three_tier, "edge")
