"""Idle clients cannot lock a server out, and a damaged part is one line, not a crash."""

from __future__ import annotations

import json
import shutil
import socket
import time

import pytest

from cnnpc.records import PLAN_FILE, PlanError, load_plan
from cnnpc.runtime import ERROR, Limits, PartServer, PlanClient, read_frame

pytestmark = pytest.mark.slow


def _wait_for(condition, seconds=5.0):
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
    return condition()


def test_idle_clients_cannot_hold_the_last_slot(three_tier, data):
    limits = Limits(max_connections=2, frame_timeout=0.5, idle_timeout=1.0)
    cloud = PartServer(three_tier, "cloud", limits=limits)
    edge = PartServer(three_tier, "edge", next_address=cloud.start(), limits=limits)
    with cloud, edge:
        idle = [socket.create_connection(edge.address, timeout=5) for _ in range(2)]
        try:
            assert _wait_for(lambda: edge.active_connections() == 2)
            with socket.create_connection(edge.address, timeout=5) as extra:  # every slot held
                frame = read_frame(extra, 4096, 2.0)
                assert frame.type == ERROR and b"busy" in frame.payload
            start = time.monotonic()
            assert _wait_for(lambda: edge.active_connections() == 0)  # the server closed them
            assert time.monotonic() - start <= limits.idle_timeout + 1.0
            with PlanClient(three_tier, edge.address) as client:
                assert client.infer(data.test.x[0]).scores.shape == (10,)
            for sock in idle:
                assert sock.recv(1) == b""  # closed by the server, not by us
        finally:
            for sock in idle:
                sock.close()


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
