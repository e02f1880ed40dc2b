"""The runtime's numbers are bounded where they are parsed and where the library takes them:
the values the issue found accepted (a million threads, 1e12 connections, 1e10 s timeouts) are
one line and exit 2, and a Python caller gets the same refusal. No TensorFlow is run."""

from __future__ import annotations

import pytest

from cnnpc.cli._main import main
from cnnpc.errors import InputError
from cnnpc.runtime import Limits, server_options

SERVE = ["serve", "--role", "edge", "--plan", "plan", "--port", "0"]


@pytest.mark.parametrize(
    "argv",
    [
        [*SERVE, "--threads", "1000000"],
        [*SERVE, "--threads", "257"],
        [*SERVE, "--max-connections", "1000000000000"],
        [*SERVE, "--max-connections", "10001"],
        [*SERVE, "--idle-timeout", "1e10"],
        [*SERVE, "--idle-timeout", "1e308"],
        [*SERVE, "--frame-timeout", "1e308"],
        [*SERVE, "--frame-timeout", "0"],
        ["infer", "--plan", "plan", "--threads", "1000000"],
        ["validate", "1", "--threads", "1000000"],
        ["validate", "1", "--requests", "100001"],
        ["validate", "1", "--requests", str(2**63 - 1)],
        ["validate", "1", "--warmup", "10001"],
    ],
    ids=lambda argv: " ".join(argv[:1] + argv[-2:]),
)
def test_out_of_range_is_one_line_and_exit_2(argv, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as info:
        main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert info.value.code == 2
    assert "must be" in err[-1] and argv[-1][:20] in err[-1], err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "limits",
    [
        {"max_connections": 10**12},
        {"max_connections": 0},
        {"idle_timeout": 1e10},
        {"frame_timeout": 1e308},
        {"forward_timeout": float("nan")},
        {"idle_timeout": 0.0},
    ],
)
def test_limits_refuse_what_a_socket_cannot_take(limits):
    with pytest.raises(InputError):
        Limits(**limits)


def test_the_largest_accepted_limits_are_ones_grpc_takes():
    """gRPC's channel arguments are int32 milliseconds: the largest bounds still fit."""
    from cnnpc.runtime._rpc import RpcServer, TierService

    class Bare(RpcServer):
        def _service(self):
            return TierService()

    day = 86_400.0
    limits = Limits(
        max_connections=10_000,
        idle_timeout=day,
        frame_timeout=day,
        forward_timeout=day,
        max_peers=1_000_000,
        max_age=day,
        age_grace=day,
        keepalive=day,
        keepalive_timeout=day,
    )
    server = Bare("edge", "127.0.0.1", 0, limits)
    options = server_options(limits, server.max_receive, server.max_send)
    assert all(value < 2**31 for _, value in options if isinstance(value, int))
    assert server.start()[1] > 0
    server.stop()


@pytest.mark.parametrize("threads", [0, 257, 1_000_000])
def test_a_part_refuses_threads_out_of_range_before_reading_anything(tmp_path, threads):
    from cnnpc.runtime._part import Part

    with pytest.raises(InputError, match="threads must be in"):
        Part(tmp_path / "absent.tflite", None, threads)
