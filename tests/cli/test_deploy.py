"""deploy / serve / infer / validate on the command line: success paths and one-line errors."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import pytest
from storage.factories import patched_main, spec

from cnnpc.runtime import running_servers
from cnnpc.storage import Storage

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def plan(three_tier):
    return three_tier


@pytest.fixture(scope="module")
def data():
    from deploy.plans import workload

    return workload()


@pytest.fixture
def main(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CNNPC_STORAGE", raising=False)
    with Storage(f"sqlite:///{tmp_path / 'r.db'}") as storage:
        storage.get_or_create_search(spec())  # search 1: nothing feasible
    return patched_main(monkeypatch)


STORE = ["--storage", "sqlite:///r.db"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["deploy", "9", "--out", "p", *STORE], "no search with id 9"),
        (["deploy", "1", "--out", "p", *STORE], "no feasible best plan"),
        (["deploy", "1", "--out", "no/such/p", *STORE], "does not exist"),
        (["deploy", "1", "--out", ".", "--force", *STORE], ". is not a cnnpc plan folder"),
        (["deploy", "1", "--out", "r.db", "--force", *STORE], "it is a regular file"),
        (["serve", "--role", "edge", "--plan", "missing", "--port", "0"], "no such plan folder"),
        (["infer", "--plan", "missing", "--edge", "127.0.0.1:1"], "no such plan folder"),
        (["validate", "9", *STORE], "no search with id 9"),
        (["validate", "1", "--plan", "missing", *STORE], "no such plan folder"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(main, capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


@pytest.mark.parametrize(
    "argv",
    [
        ["infer", "--plan", "p", "--edge", "127.0.0.1"],
        ["infer", "--plan", "p", "--edge", "127.0.0.1:99999"],
        ["serve", "--role", "fog", "--plan", "p", "--port", "0"],
    ],
)
def test_bad_addresses_exit_2(main, capsys, argv):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert capsys.readouterr().err.count("\n") == 1


@pytest.mark.parametrize(
    "argv",
    [
        ["infer", "--plan", "p", "--edge", "example.com:80"],
        ["serve", "--role", "edge", "--plan", "p", "--port", "0", "--next", "10.1.2.3:80"],
    ],
)
def test_plaintext_off_loopback_needs_tls_or_insecure(main, capsys, argv):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "TLS is required" in err and "--insecure" in err and err.count("\n") == 1


def test_serve_refuses_a_foreign_host_and_plaintext_off_loopback(main, capsys, plan):
    argv = ["serve", "--role", "cloud", "--plan", str(plan.folder), "--port", "0"]
    assert main([*argv, "--host", "192.0.2.77"]) == 2
    assert "not an address of this machine" in capsys.readouterr().err
    assert main([*argv, "--host", "0.0.0.0"]) == 2
    err = capsys.readouterr().err
    assert "TLS is required" in err and err.count("\n") == 1


def test_infer_against_in_process_servers(main, capsys, plan):
    with running_servers(plan, shape=False) as (host, port):
        argv = ["infer", "--plan", str(plan.folder), "--edge", f"{host}:{port}"]
        assert main([*argv, "--limit", "5", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["results"]) == 5 and 0.0 <= out["accuracy"] <= 1.0
    assert set(out["median_ms"]) >= {"end_ms", "uplink_ms", "total_ms"}


def test_infer_reads_image_files(main, capsys, plan, data, tmp_path):
    from cnnpc._keras import tf

    paths = []
    for i in range(2):
        pixels = tf.cast(data.test.x[i] * 255.0, tf.uint8)
        path = tmp_path / f"digit{i}.png"
        path.write_bytes(tf.io.encode_png(pixels).numpy())
        paths.append(str(path))
    (tmp_path / "bad.png").write_text("not an image")
    with running_servers(plan, shape=False) as (host, port):
        argv = ["infer", "--plan", str(plan.folder), "--edge", f"{host}:{port}", *paths]
        assert main(argv) == 0
        out = capsys.readouterr().out
        assert "digit0.png" in out and "digit1.png" in out and "total_ms" in out
        assert main([*argv, str(tmp_path / "bad.png")]) == 2
        assert "cannot read it as an image" in capsys.readouterr().err


def test_serve_command_serves_until_terminated(plan, tmp_path):
    """`cnnpc serve` as a process: it prints its OS-chosen port, serves, and stops on SIGTERM."""
    cmd = [sys.executable, "-m", "cnnpc", "serve", "--role", "cloud", "--plan", str(plan.folder)]
    proc = subprocess.Popen([*cmd, "--port", "0"], stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert "cloud serving" in line
        port = int(line.rsplit(":", 1)[1])
        import grpc
        import numpy as np
        from grpc_health.v1 import health_pb2, health_pb2_grpc

        from cnnpc.runtime._rpc import to_message
        from cnnpc.runtime.proto import cnnpc_tier_pb2 as pb
        from cnnpc.runtime.proto import cnnpc_tier_pb2_grpc as pb_grpc

        cloud = plan.parts["cloud"].input
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            health = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service="cnnpc.v1.Tier"), timeout=10
            )
            assert health.status == health_pb2.HealthCheckResponse.SERVING
            request = pb.InferRequest(tensor=to_message(np.zeros(cloud.shape, np.int8)))
            reply = pb_grpc.TierStub(channel).Infer(request, timeout=10)
            assert list(reply.tensor.shape) == list(plan.parts["cloud"].output.shape)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
