"""A Tier server's limits: oversized messages, silent clients and a thousand connections are each
refused or cut with a status code, and the server goes on serving the others in bounded memory."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import grpc
import pytest
from toytier import Echo, serve, start_child, stop_child

from cnnpc.errors import InputError
from cnnpc.runtime import (
    MIN_CLIENT_PING_S,
    Limits,
    Metrics,
    MetricsInterceptor,
    message_limit,
    server_options,
)
from cnnpc.runtime.proto import cnnpc_tier_pb2 as pb
from cnnpc.runtime.proto import cnnpc_tier_pb2_grpc as pb_grpc


def _request(size=100, plan=1):
    tensor = pb.Tensor(dtype=pb.INT8, shape=[size], data=bytes(size))
    return pb.InferRequest(tensor=tensor, plan=plan)


def _stub(port, **options):
    channel = grpc.insecure_channel(f"127.0.0.1:{port}", options=list(options.items()))
    return channel, pb_grpc.TierStub(channel)


def test_server_options_carry_the_limits():
    limits = Limits(max_peers=10, frame_timeout=0.5, idle_timeout=2.0, max_age=3.0, age_grace=1.5)
    options = dict(server_options(limits, message_limit(1000)))
    assert options["grpc.max_receive_message_length"] == 1000 + 64 * 1024
    assert options["grpc.max_send_message_length"] == 1000 + 64 * 1024
    assert dict(server_options(limits, 10, 20))["grpc.max_send_message_length"] == 20
    assert options["grpc.so_reuseport"] == 0
    assert options["grpc.server_handshake_timeout_ms"] == 500
    assert options["grpc.max_allowed_incoming_connections"] == 10
    assert options["grpc.max_connection_idle_ms"] == 2000
    assert options["grpc.max_connection_age_ms"] == 3000
    assert options["grpc.max_connection_age_grace_ms"] == 1500
    assert options["grpc.http2.min_recv_ping_interval_without_data_ms"] == MIN_CLIENT_PING_S * 500
    with pytest.raises(InputError, match="max_connections"):
        Limits(max_connections=0)
    with pytest.raises(InputError, match="max_peers"):
        Limits(max_peers=0)
    with pytest.raises(InputError, match="frame_timeout"):
        Limits(frame_timeout=0)
    with pytest.raises(InputError, match="max_receive"):
        server_options(Limits(), 0)


def test_an_oversized_message_is_refused_and_the_server_keeps_serving():
    server, port = serve(Echo(), message_limit(1000))
    channel, stub = _stub(port)
    try:
        with pytest.raises(grpc.RpcError) as refused:
            stub.Infer(_request(200 * 1024), timeout=5)
        assert refused.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
        assert stub.Infer(_request(1000), timeout=5).tensor.shape == [1000]
    finally:
        channel.close()
        server.stop(0)


@pytest.fixture
def guarded():
    """A server whose streams are cut after 1 s of silence, with metrics."""
    metrics = Metrics()
    limits = Limits(frame_timeout=1.0)
    server, port = serve(Echo(), limits=limits, interceptors=[MetricsInterceptor(metrics, "edge")])
    try:
        yield port, metrics
    finally:
        server.stop(0)


def test_a_silent_upload_stream_is_cut_while_others_are_served(guarded, caplog):
    port, metrics = guarded
    release = threading.Event()

    def silent():
        yield pb.Chunk(segment=1, offset=0, data=b"abc")
        release.wait(10)  # goes silent with the stream open

    channel, stub = _stub(port)
    other_channel, other = _stub(port)
    caplog.set_level(logging.WARNING, logger="cnnpc.runtime")
    try:
        start = time.monotonic()
        call = stub.Upload(silent(), timeout=10)
        assert next(call).partial[1] == 3
        served = 0
        while time.monotonic() - start < 0.8:  # others are served during the silence
            other.Infer(_request(), timeout=5)
            served += 1
        with pytest.raises(grpc.RpcError) as cut:
            list(call)
        elapsed = time.monotonic() - start
        assert cut.value.code() is grpc.StatusCode.CANCELLED
        assert 1.0 <= elapsed < 4.0
        assert served > 0
        assert other.Infer(_request(), timeout=5).tensor.shape == [100]
    finally:
        release.set()
        channel.close()
        other_channel.close()
    lines = [r.getMessage() for r in caplog.records if "no message" in r.getMessage()]
    assert len(lines) == 1 and "Upload" in lines[0] and "\n" not in lines[0]
    code = {"tier": "edge", "plan": "", "method": "Upload", "code": "CANCELLED"}
    deadline = time.monotonic() + 5  # the handler ends after the client was told
    while metrics.registry.get_sample_value("cnnpc_calls_total", code) is None:
        assert time.monotonic() < deadline, "the cut call was not counted"
        time.sleep(0.02)
    assert metrics.registry.get_sample_value("cnnpc_calls_total", code) == 1


def test_a_slow_upload_that_keeps_sending_is_not_cut(guarded):
    port, _ = guarded

    def slow():
        for i in range(6):  # 1.5 s in all, never 1 s without a chunk
            time.sleep(0.25)
            yield pb.Chunk(segment=2, offset=i, data=b"x")

    channel, stub = _stub(port)
    with channel:
        holdings = list(stub.Upload(slow(), timeout=10))
    assert holdings[-1].partial[2] == 6


def test_silent_unary_callers_are_cut_by_the_connection_age():
    """A unary call whose request never comes holds a worker inside gRPC: the connection's
    maximum age (then its grace) is what frees it, and the server serves again."""
    limits = Limits(max_connections=2, max_age=1.0, age_grace=1.0)  # 2 workers, 4 calls
    server, port = serve(Echo(), limits=limits)
    release = threading.Event()

    def never():
        release.wait(15)
        yield b""

    silent = []
    try:
        for _ in range(2):  # one per worker thread
            channel = grpc.insecure_channel(
                f"127.0.0.1:{port}", options=[("grpc.use_local_subchannel_pool", 1)]
            )
            infer = channel.stream_unary(
                "/cnnpc.v1.Tier/Infer", lambda b: b, pb.InferReply.FromString
            )
            silent.append((channel, infer.future(never(), timeout=15)))
        time.sleep(0.3)
        good_channel, good = _stub(port)
        with good_channel:
            start = time.monotonic()
            assert good.Infer(_request(), timeout=10).tensor.shape == [100]
            waited = time.monotonic() - start
        assert waited < 4.0  # about max_age + grace, jitter included
        for _, future in silent:
            assert future.exception(timeout=5).code() is grpc.StatusCode.UNAVAILABLE
    finally:
        release.set()
        for channel, _ in silent:
            channel.close()
        server.stop(0)


def _memory(pid):
    """(VmRSS, VmHWM) of a process in MiB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.split()[0] if value.split() else "0"
    return int(fields["VmRSS"]) / 1024, int(fields["VmHWM"]) / 1024


def _descriptors(pid):
    return sum(1 for _ in Path(f"/proc/{pid}/fd").iterdir())


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc (Linux)")
def test_a_thousand_connections_at_once_leave_the_server_serving_in_bounded_memory():
    connections = 1000
    child, port = start_child("--sleep", "0.005", "--workers", "32")  # 64 calls at once
    channels = []
    try:
        server_before, _ = _memory(child.pid)
        client_before, _ = _memory("self")
        start = time.monotonic()
        for _ in range(connections):  # a connection each: no shared subchannel
            channels.append(
                grpc.insecure_channel(
                    f"127.0.0.1:{port}",
                    options=[("grpc.use_local_subchannel_pool", 1), ("grpc.enable_retries", 0)],
                )
            )
        calls = [pb_grpc.TierStub(c).Infer.future(_request(), timeout=20) for c in channels]
        codes = {}
        for call in calls:
            error = call.exception(timeout=25)
            code = "OK" if error is None else error.code().name
            codes[code] = codes.get(code, 0) + 1
        elapsed = time.monotonic() - start
        held = _descriptors(child.pid)
        server_after, server_peak = _memory(child.pid)
        client_after, client_peak = _memory("self")
        assert child.poll() is None  # alive
        assert set(codes) <= {"OK", "RESOURCE_EXHAUSTED"}, codes  # refused or served, no crash
        assert codes.get("OK", 0) >= 64
        assert held >= connections  # they really were a thousand connections
        good_channel, good = _stub(port)
        with good_channel:
            assert good.Infer(_request(), timeout=10).tensor.shape == [100]
        for channel in channels:
            channel.close()
        deadline = time.monotonic() + 10
        while _descriptors(child.pid) >= connections / 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        released = _descriptors(child.pid)
        print(
            f"\n{connections} connections in {elapsed:.1f} s: {codes}; server RSS "
            f"{server_before:.0f} -> {server_after:.0f} MiB (peak {server_peak:.0f}), "
            f"{held} -> {released} descriptors; test process RSS {client_before:.0f} -> "
            f"{client_after:.0f} MiB (peak {client_peak:.0f})"
        )
        assert server_peak - server_before < 200
        assert released < connections / 2
    finally:
        for channel in channels:
            channel.close()
        stop_child(child)


def test_connections_over_the_cap_are_refused_and_the_server_serves_again():
    child, port = start_child("--max-peers", "20")
    channels = []
    try:
        for _ in range(40):
            channels.append(
                grpc.insecure_channel(
                    f"127.0.0.1:{port}",
                    options=[("grpc.use_local_subchannel_pool", 1), ("grpc.enable_retries", 0)],
                )
            )
        calls = [pb_grpc.TierStub(c).Infer.future(_request(), timeout=10) for c in channels]
        codes = [call.exception(timeout=15) for call in calls]
        refused = [e.code() for e in codes if e is not None]
        assert 0 < len(refused) <= 20 and set(refused) == {grpc.StatusCode.UNAVAILABLE}
        assert child.poll() is None
        for channel in channels:
            channel.close()
        time.sleep(0.5)
        good_channel, good = _stub(port)
        with good_channel:
            assert good.Infer(_request(), timeout=10).tensor.shape == [100]
    finally:
        for channel in channels:
            channel.close()
        stop_child(child)
