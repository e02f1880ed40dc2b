"""Replicas: gRPC's round_robin spreads calls, its retry policy moves them off a dead replica."""

from __future__ import annotations

import json
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest
from toytier import Echo, serve, start_child, stop_child

from cnnpc.errors import InputError
from cnnpc.runtime import (
    MAX_REPLICAS,
    MIN_CLIENT_PING_S,
    channel_options,
    channel_target,
    message_limit,
    parse_addresses,
    service_config,
)
from cnnpc.runtime.proto import cnnpc_tier_pb2 as pb
from cnnpc.runtime.proto import cnnpc_tier_pb2_grpc as pb_grpc

TENSOR = 300 * 1024  # over gRPC's default retry buffer (256 KiB): channel_options must raise it


def test_parse_addresses_reads_one_or_several():
    assert parse_addresses("127.0.0.1:5000") == (("127.0.0.1", 5000),)
    assert parse_addresses("localhost:1, 127.0.0.2:2,[::1]:3") == (
        ("127.0.0.1", 1),
        ("127.0.0.2", 2),
        ("::1", 3),
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "expected HOST:PORT"),
        ("127.0.0.1:1,", "expected HOST:PORT"),
        ("127.0.0.1:1,,127.0.0.1:2", "expected HOST:PORT"),
        ("127.0.0.1:1,localhost:1", "listed twice"),
        ("127.0.0.1:x", "port must be a number"),
        ("127.0.0.1:0", "port must be in 1..65535"),
        (",".join(f"127.0.0.1:{p}" for p in range(1, MAX_REPLICAS + 2)), "at most 16 "),
    ],
)
def test_parse_addresses_refuses_in_one_line(text, message):
    with pytest.raises(InputError, match=message) as caught:
        parse_addresses(text)
    assert "\n" not in str(caught.value)


def test_channel_target_is_grpcs_static_list():
    assert channel_target([("127.0.0.1", 5)]) == "ipv4:127.0.0.1:5"
    assert channel_target([("127.0.0.1", 5), ("10.0.0.2", 6)]) == "ipv4:127.0.0.1:5,10.0.0.2:6"
    assert channel_target([("::1", 5), ("[fd00::2]", 6)]) == "ipv6:[::1]:5,[fd00::2]:6"
    assert channel_target([("edge.example", 7)]) == "dns:///edge.example:7"
    for bad in ([], [("127.0.0.1", 5), ("::1", 5)], [("a.example", 1), ("b.example", 1)]):
        with pytest.raises(InputError):
            channel_target(bad)


def test_service_config_retries_infer_and_holdings_never_upload():
    config = json.loads(service_config(3))
    assert config["loadBalancingConfig"] == [{"round_robin": {}}]
    by_method = {c["name"][0]["method"]: c["retryPolicy"] for c in config["methodConfig"]}
    assert set(by_method) == {"Infer", "GetHoldings"}
    assert by_method["Infer"]["maxAttempts"] == 4
    assert by_method["Infer"]["retryableStatusCodes"] == ["UNAVAILABLE", "CANCELLED"]
    assert by_method["GetHoldings"]["retryableStatusCodes"] == ["UNAVAILABLE"]
    assert by_method["Infer"]["initialBackoff"] == "0.05s"
    assert json.loads(service_config(0))["methodConfig"] == []
    for bad in (-1, 5):
        with pytest.raises(InputError, match=r"retries must be in 0\.\.4"):
            service_config(bad)
    with pytest.raises(InputError, match="backoffs"):
        service_config(2, initial_backoff_s=2.0, max_backoff_s=1.0)


def test_channel_options_bound_messages_keepalive_and_retries():
    options = dict(channel_options(message_limit(TENSOR), 30.0))
    assert options["grpc.max_send_message_length"] == TENSOR + 64 * 1024
    assert options["grpc.max_receive_message_length"] == TENSOR + 64 * 1024
    assert options["grpc.per_rpc_retry_buffer_size"] > TENSOR
    assert options["grpc.keepalive_time_ms"] == 30_000
    assert options["grpc.enable_retries"] == 1
    assert options["grpc.lb_policy_name"] == "round_robin"
    assert json.loads(options["grpc.service_config"]) == json.loads(service_config())
    assert options["grpc.service_config_disable_resolution"] == 1
    with pytest.raises(InputError, match="keepalive"):
        channel_options(1 << 20, MIN_CLIENT_PING_S / 2)
    with pytest.raises(InputError, match="max_message"):
        channel_options(0, 30.0)


def _request(plan=1, size=TENSOR):
    tensor = pb.Tensor(dtype=pb.INT8, shape=[size], data=bytes(size))
    return pb.InferRequest(tensor=tensor, plan=plan)


def _channel(ports):
    target = channel_target([("127.0.0.1", port) for port in ports])
    channel = grpc.insecure_channel(target, options=channel_options(message_limit(TENSOR), 30.0))
    grpc.channel_ready_future(channel).result(timeout=10)
    return channel


@pytest.fixture
def replicas():
    servers = []
    try:
        for name in ("a", "b", "c"):
            toy = Echo(name, sleep=0.02)
            server, port = serve(toy, message_limit(TENSOR))
            servers.append((server, port, toy))
        yield servers
    finally:
        for server, _, _ in servers:
            server.stop(0)


def test_round_robin_spreads_calls_over_every_replica(replicas):
    with _channel([port for _, port, _ in replicas]) as channel:
        stub = pb_grpc.TierStub(channel)
        for _ in range(60):
            stub.Infer(_request(size=64), timeout=10)
    served = [toy.answered for _, _, toy in replicas]
    assert sum(served) == 60
    assert min(served) >= 10, served  # round robin over the ready ones: about 20 each


def _run(stub, calls, on_half, workers=4):
    """`calls` Infer calls from `workers` threads; `on_half()` once half are answered.
    Returns each call's (start, end, error code or None), on the perf_counter clock."""
    done = [0]
    guard = threading.Lock()

    def one(_):
        start = time.perf_counter()
        try:
            stub.Infer(_request(), timeout=10)
            code = None
        except grpc.RpcError as error:
            code = error.code()
        with guard:
            done[0] += 1
            half = done[0] == calls // 2
        if half:
            on_half()
        return start, time.perf_counter(), code

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(one, range(calls)))


def _report(label, results, killed):
    """Calls lost, and the latency added to the calls in flight when the replica died (their
    slowest against the run's median)."""
    median = statistics.median(end - start for start, end, _ in results)
    spanning = [end - start for start, end, _ in results if start <= killed <= end]
    lost = sum(1 for _, _, code in results if code is not None)
    added = max(spanning, default=median) - median
    print(
        f"\n{label}: {len(results)} calls, {lost} lost; median {median * 1000:.1f} ms; "
        f"{len(spanning)} in flight at the kill, slowest {(median + added) * 1000:.1f} ms "
        f"(+{added * 1000:.1f} ms)"
    )
    return lost, added


def test_a_replica_stopped_mid_call_loses_no_call(replicas):
    """server.stop(0) cancels the calls it is running: the client sees CANCELLED, retried."""
    calls = 240
    _, _, victim = replicas[2]
    # the victim's calls last 0.2 s: a call seen running is still running when stop(0) comes,
    # even on a loaded machine (at 0.02 s one could finish in between: none left to cancel)
    victim.sleep = 0.2
    kill_at, cut = [], []

    def kill():
        deadline = time.monotonic() + 5
        while victim.in_flight == 0 and time.monotonic() < deadline:  # catch it mid-call
            time.sleep(0.001)
        kill_at.append(time.perf_counter())
        replicas[2][0].stop(0)
        # Counted after the stop: a call still in the servicer then had sent no reply, so it was
        # cancelled and must run again elsewhere (counted before, one could finish in between).
        cut.append(victim.in_flight)

    with _channel([port for _, port, _ in replicas]) as channel:
        results = _run(pb_grpc.TierStub(channel), calls, kill)
    lost, added = _report("replica stopped", results, kill_at[0])
    assert lost == 0, {code for _, _, code in results if code}
    assert cut[0] >= 1  # calls were running on the victim when it stopped...
    assert sum(toy.started for _, _, toy in replicas) >= calls + cut[0]  # ...and ran again
    assert added < 2.0


def test_a_replica_process_killed_loses_no_call(replicas):
    """SIGKILL: the connection breaks under the calls in flight (UNAVAILABLE), retried."""
    calls = 240
    child, port = start_child("--sleep", "0.02", "--max-message", str(message_limit(TENSOR)))
    kill_at = []

    def kill():
        kill_at.append(time.perf_counter())
        child.kill()

    try:
        ports = [p for _, p, _ in replicas[:2]] + [port]
        with _channel(ports) as channel:
            results = _run(pb_grpc.TierStub(channel), calls, kill)
    finally:
        child.kill()
        stop_child(child)
    lost, added = _report("replica killed", results, kill_at[0])
    assert lost == 0, {code for _, _, code in results if code}
    assert sum(toy.answered for _, _, toy in replicas[:2]) > calls // 2
    assert added < 2.0


@pytest.mark.parametrize("retries", [0, 3])
def test_a_call_cut_on_its_replica_is_saved_by_the_retry_policy_alone(retries):
    victim, healthy = Echo("victim", sleep=1.0), Echo("healthy")
    servers = [serve(victim, message_limit(TENSOR)), serve(healthy, message_limit(TENSOR))]
    target = channel_target([("127.0.0.1", port) for _, port in servers])
    channel = grpc.insecure_channel(
        target, options=channel_options(message_limit(TENSOR), 30.0, retries=retries)
    )
    try:
        grpc.channel_ready_future(channel).result(timeout=10)
        stub = pb_grpc.TierStub(channel)
        calls = [stub.Infer.future(_request(), timeout=10) for _ in range(4)]  # 2 on each
        deadline = time.monotonic() + 5
        while victim.in_flight == 0 and time.monotonic() < deadline:
            time.sleep(0.001)
        assert victim.in_flight > 0
        servers[0][0].stop(0)
        errors = [call.exception(timeout=15) for call in calls]
    finally:
        channel.close()
        for server, _ in servers:
            server.stop(0)
    lost = [error.code() for error in errors if error is not None]
    if retries:
        assert lost == []
        assert healthy.answered == 4
    else:
        assert lost and set(lost) <= {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED}


def test_the_channel_opener_keeps_the_callers_message_limits():
    """gRPC keeps the first of two equal channel options: a limit the caller gives must replace
    the replica defaults, not follow them (a 150 kB request was refused at 64 kB)."""
    from cnnpc.runtime._rpc import open_channel, tier_stub

    server, port = serve(Echo(), max_message=1 << 20)
    big = pb.InferRequest(tensor=pb.Tensor(dtype=pb.INT8, shape=[150_000], data=b"x" * 150_000))
    try:
        with open_channel(("127.0.0.1", port), max_send=-1, max_receive=1 << 20) as channel:
            reply = tier_stub(channel).Infer(big, timeout=10)
        assert len(reply.tensor.data) == 150_000
        small = open_channel(("127.0.0.1", port), max_send=1000, max_receive=1 << 20)
        with small as channel, pytest.raises(grpc.RpcError) as refused:
            tier_stub(channel).Infer(big, timeout=10)
        assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    finally:
        server.stop(0)
