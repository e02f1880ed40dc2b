"""Idle or silent clients cannot lock a server out, calls at once are bounded, and a damaged
part is one line, not a crash."""

from __future__ import annotations

import json
import shutil
import socket
import threading
import time

import grpc
import pytest

from cnnpc.records import PLAN_FILE, PlanError, load_plan
from cnnpc.runtime import Limits, PartServer, PlanClient, RequestError, TokenBucket

pytestmark = pytest.mark.slow


def _wait_for(condition, seconds=5.0):
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
    return condition()


def _closed_by_server(sock):
    try:
        while sock.recv(4096):
            pass
    except ConnectionResetError:
        pass
    return True


def test_silent_connections_are_dropped_and_others_served(three_tier, data):
    limits = Limits(max_connections=1, frame_timeout=0.5, idle_timeout=1.0)
    cloud = PartServer(three_tier, "cloud", limits=limits)
    edge = PartServer(three_tier, "edge", next_address=cloud.start(), limits=limits)
    with cloud, edge:
        silent = [socket.create_connection(edge.address, timeout=5) for _ in range(50)]
        try:
            with PlanClient(three_tier, edge.address) as client:  # served meanwhile
                assert client.infer(data.test.x[0]).scores.shape == (10,)
            start = time.monotonic()
            for sock in silent:  # closed by the server, not by us: no handshake in time
                assert _closed_by_server(sock)
            assert time.monotonic() - start <= limits.frame_timeout + 2.0
        finally:
            for sock in silent:
                sock.close()


def test_an_idle_connection_is_closed_and_the_client_reconnects(three_tier, data):
    limits = Limits(idle_timeout=0.5)
    cloud = PartServer(three_tier, "cloud", limits=limits)
    edge = PartServer(three_tier, "edge", next_address=cloud.start(), limits=limits)
    with cloud, edge, PlanClient(three_tier, edge.address) as client:
        assert client.connection is not None
        states: list[grpc.ChannelConnectivity] = []
        client.connection._channel.subscribe(states.append)
        client.infer(data.test.x[0])
        assert _wait_for(lambda: grpc.ChannelConnectivity.READY in states)
        ready = states.index(grpc.ChannelConnectivity.READY)
        # the server's max_connection_idle: its GOAWAY takes the channel out of READY (IDLE
        # with pick_first; round_robin, which replicas use, reconnects at once: CONNECTING)
        assert _wait_for(
            lambda: any(s != grpc.ChannelConnectivity.READY for s in states[ready:]), 5.0
        )
        assert client.infer(data.test.x[0]).scores.shape == (10,)


def test_calls_at_once_are_bounded(three_tier, data):
    """max_connections calls run, as many more wait, and one more is RESOURCE_EXHAUSTED at once;
    the server goes on."""
    limits = Limits(max_connections=1)
    cloud = PartServer(three_tier, "cloud", limits=limits)
    edge = PartServer(three_tier, "edge", next_address=cloud.start(), shape=True, limits=limits)
    assert edge.forwarder is not None
    edge.forwarder.bucket = TokenBucket(three_tier.links[1].bytes, burst=1)  # a forward: ~1 s
    with cloud, edge:
        clients = [PlanClient(three_tier, edge.address, timeout=30) for _ in range(3)]
        done: list[object] = []
        slow = [
            threading.Thread(target=lambda c=c: done.append(c.infer(data.test.x[0])))
            for c in clients[:2]
        ]
        try:
            for thread in slow:
                thread.start()
            time.sleep(0.5)
            start = time.monotonic()
            with pytest.raises(RequestError, match="RESOURCE_EXHAUSTED"):
                clients[2].infer(data.test.x[0])
            assert time.monotonic() - start < 0.3  # refused, not queued
            for thread in slow:
                thread.join(30)
            assert len(done) == 2
            edge.forwarder.bucket = None
            assert clients[2].infer(data.test.x[0]).scores.shape == (10,)
        finally:
            for c in clients:
                c.close()


def _damaged_copy(three_tier, tmp_path, *, keep_digest):
    folder = tmp_path / "plan"
    shutil.copytree(three_tier.folder, folder)
    (folder / "cloud.tflite").write_bytes(b"\xff\xfe not a flatbuffer \x80" * 40)
    if not keep_digest:  # as written by an older cnnpc: the interpreter itself must refuse it
        raw = json.loads((folder / PLAN_FILE).read_text())
        for part in raw["parts"]:
            part.pop("sha256")
        (folder / PLAN_FILE).write_text(json.dumps(raw))
    return folder


def test_a_damaged_part_without_digest_is_one_line(three_tier, tmp_path):
    folder = _damaged_copy(three_tier, tmp_path, keep_digest=False)
    with pytest.raises(PlanError) as info:
        PartServer(load_plan(folder), "cloud")
    message = str(info.value)
    assert message.startswith(f"{folder / 'cloud.tflite'}: not a loadable TFLite model (")
    assert message.endswith("; deploy the plan again") and "\n" not in message


@pytest.mark.parametrize("keep_digest", [True, False])
def test_serve_on_a_damaged_part_exits_2(three_tier, tmp_path, capsys, keep_digest):
    from cnnpc.cli import main

    folder = _damaged_copy(three_tier, tmp_path, keep_digest=keep_digest)
    assert main(["serve", "--role", "cloud", "--plan", str(folder), "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"cnnpc serve: error: {folder / 'cloud.tflite'}: ")
    assert err.count("\n") == 1 and "Traceback" not in err


def test_serve_takes_the_idle_timeout_option(three_tier, monkeypatch, capsys):
    import cnnpc.runtime
    from cnnpc.cli import main
    from cnnpc.errors import CnnpcError

    seen = []

    def fake_server(plan, role, **kwargs):
        seen.append(kwargs["limits"])
        raise CnnpcError("stop here")

    monkeypatch.setattr(cnnpc.runtime, "PartServer", fake_server)
    argv = ["serve", "--role", "cloud", "--plan", str(three_tier.folder), "--port", "0"]
    assert main([*argv, "--idle-timeout", "2.5"]) == 2
    assert main(argv) == 2
    assert [lim.idle_timeout for lim in seen] == [2.5, Limits().idle_timeout] and seen[
        1
    ].idle_timeout <= 30
    with pytest.raises(SystemExit):
        main([*argv, "--idle-timeout", "0"])
    assert "--idle-timeout: must be in [0.001, 86400]" in capsys.readouterr().err
