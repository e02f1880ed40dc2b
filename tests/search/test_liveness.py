"""Liveness settings (--heartbeat, --grace), the worker's name, and the pulse thread."""

from __future__ import annotations

import os
import socket
import threading
import time

import pytest

from cnnpc.cli import main
from cnnpc.errors import InputError
from cnnpc.search import WORKER_ENV, Liveness
from cnnpc.search._workers import Pulse, this_worker

SEARCH = ["search", "--model", "mobilenet", "--device", "MI8", "--bandwidth", "10"]


@pytest.mark.parametrize(
    ("heartbeat", "grace", "message"),
    [
        (0, 60, "heartbeat_s must be a whole number of seconds >= 1"),
        (1.5, 60, "heartbeat_s must be a whole number of seconds >= 1"),
        (True, 60, "heartbeat_s must be a whole number of seconds >= 1"),
        (10, 0, "grace_s must be a whole number of seconds >= 1"),
        (10, 15, r"grace period \(15 s\) must be at least twice the heartbeat interval \(10 s\)"),
    ],
)
def test_bad_liveness_is_refused(heartbeat, grace, message):
    with pytest.raises(InputError, match=message):
        Liveness(heartbeat, grace)


def test_defaults():
    assert Liveness() == Liveness(10, 60)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--heartbeat", "10", "--grace", "15"], "grace period (15 s) must be at least twice"),
        (["--heartbeat", "0"], "argument --heartbeat: must be >= 1"),
        (["--grace", "x"], "argument --grace: 'x' is not a whole number"),
    ],
)
def test_cli_refuses_bad_liveness_before_creating_anything(tmp_path, capsys, args, message):
    db = tmp_path / "r.db"
    try:
        code = main([*SEARCH, "--acc-floor", "0.9", *args, "--storage", f"sqlite:///{db}"])
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not db.exists()


def test_worker_name_is_host_pid_token_and_may_be_set(monkeypatch):
    monkeypatch.delenv(WORKER_ENV, raising=False)
    monkeypatch.setattr("cnnpc.search._workers._identity", None)
    me = this_worker()
    host, pid, token = me.split(":")
    assert host == socket.gethostname() and pid == str(os.getpid()) and len(token) == 8
    assert this_worker() == me  # stable within a process
    monkeypatch.setenv(WORKER_ENV, "edge-7")
    monkeypatch.setattr("cnnpc.search._workers._identity", None)
    assert this_worker().startswith(f"edge-7:{os.getpid()}:")


def test_pulse_beats_until_stopped_and_survives_a_failing_beat():
    beats: list[float] = []

    def beat() -> None:
        beats.append(time.monotonic())
        if len(beats) == 2:
            raise RuntimeError("database blip")

    with Pulse(beat, 0.05, "test-pulse"):
        time.sleep(0.5)
    count = len(beats)
    assert count >= 5  # the failure at the second beat did not stop it
    time.sleep(0.2)
    assert len(beats) == count  # stopped
    assert not any(t.name == "test-pulse" for t in threading.enumerate())
