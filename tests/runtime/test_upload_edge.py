"""IONN in the runtime: an empty edge receives the model's parts while queries run.

The folder is `deploy.folders`' upload folder (3 segments, priced so that segment 2 uploads
first, then segment 1, and segment 0 is never needed). The uplink is shaped so that the whole
model would upload in about 0.6 s.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import signal
import subprocess
import sys
import threading
import time

import grpc
import numpy as np
import pytest
from deploy.folders import local_scores, reused_segments, upload_folder

from cnnpc.cli._main import main
from cnnpc.records import load_upload
from cnnpc.runtime import (
    CHUNK_BYTES,
    IncrementalClient,
    Limits,
    Metrics,
    UploadEdgeServer,
    host_upload_planner,
    quantize,
    run_during_upload,
)
from cnnpc.runtime.proto import cnnpc_tier_pb2 as pb
from cnnpc.runtime.proto import cnnpc_tier_pb2_grpc as pb_grpc
from cnnpc.upload import LayoutChooser

pytestmark = pytest.mark.slow
N = 3
LIMITS = Limits(max_connections=4, frame_timeout=1.0, idle_timeout=5.0)


@pytest.fixture(scope="module")
def built(three_tier, qat_model, data):
    return reused_segments(three_tier, qat_model, data)


@pytest.fixture(scope="module")
def folder(built, data, tmp_path_factory):
    return upload_folder(built, data, tmp_path_factory.mktemp("upload") / "up")


@pytest.fixture(scope="module")
def plan(folder):
    return load_upload(folder[0])


@pytest.fixture()
def edge(plan):
    with UploadEdgeServer(plan, limits=LIMITS) as server:
        yield server


def _installed(run):
    return [e.segment for e in run.events if e.kind == "installed"]


def test_the_order_is_upload_plans_and_every_query_matches_the_local_model(
    plan, folder, edge, data
):
    order = folder[1]
    assert [s.segments for s in order.steps] == [("s2",), ("s1",)]
    assert order.full.a == 1 and plan.steps == ((2,), (1,))
    images = data.test.x[:60]
    with IncrementalClient(plan, edge.address, shape=True) as client:
        run = run_during_upload(client, images, query_rate=80.0, wait_upload=10.0)
        after = [client.infer(x) for x in images[:5]]
    expected = [k for step in plan.steps for k in step]
    assert run.error is None and run.uploaded_s is not None
    assert _installed(run) == expected  # upload-plan's order, each part confirmed once
    assert dict(edge.installs) == dict.fromkeys(expected, 1)
    local = local_scores(plan, images)
    scores = np.array([r.result.scores for r in run.results])
    assert np.array_equal(scores, local)  # bit for bit, whatever the split
    splits = [r.a for r in run.results]
    assert splits[0] == N and splits == sorted(splits, reverse=True)  # the edge only gains
    assert len(set(splits)) >= 2 and run.fallbacks == 0
    assert all(r.a == order.full.a and not r.fallback for r in after)
    assert [r.predicted_ms for r in after] == [order.full.latency_ms] * 5


def test_a_dropped_upload_resumes_and_installs_each_part_once(plan, edge, data):
    images = np.resize(data.test.x[:40], (120, *data.test.x.shape[1:]))
    with IncrementalClient(plan, edge.address, shape=True) as client:
        dropped_at = []

        def cut():  # once the edge holds part of a part beyond its first chunk, cut the link
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                _, partial = edge.holdings()
                if any(v >= CHUNK_BYTES for v in partial.values()):
                    dropped_at.append(time.perf_counter())
                    client.uploader.drop()
                    return
                time.sleep(0.0005)

        watcher = threading.Thread(target=cut)
        watcher.start()
        run = run_during_upload(client, images, query_rate=150.0, wait_upload=10.0)
        watcher.join()
    kinds = [e.kind for e in run.events]
    assert dropped_at and "dropped" in kinds and "resumed" in kinds
    resumed = next(e for e in run.events if e.kind == "resumed")
    assert "from byte" in resumed.detail and not resumed.detail.endswith(" 0")
    expected = [k for step in plan.steps for k in step]
    assert _installed(run) == expected and run.uploaded_s is not None
    assert dict(edge.installs) == dict.fromkeys(expected, 1)  # never twice, never partial
    # queries went on while the upload was down
    drop = next(e.time_s for e in run.events if e.kind == "dropped")
    after_drop = [s for s in run.issued_s if drop <= s <= resumed.time_s + 0.05]
    assert after_drop
    local = local_scores(plan, images[:40])
    assert np.array_equal(np.array([r.result.scores for r in run.results[:40]]), local)


def _stub(server):
    """A plain gRPC stub on the edge (not cnnpc's client: it would never send these)."""
    channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    return channel, pb_grpc.TierStub(channel)


def _refused(code, call, request):
    """The one line `call(request)` is refused with, checking its status code."""
    with pytest.raises(grpc.RpcError) as info:
        answer = call(request, timeout=120)  # an install verifies the part in a child: seconds
        if not isinstance(answer, pb.InferReply | pb.Holdings):
            list(answer)  # a stream's answers: the refusal comes while reading them
    err = info.value
    assert err.code() == code, (err.code(), err.details())
    assert "\n" not in err.details()
    return err.details()


def _chunks(segment, data, size=CHUNK_BYTES):
    return [
        pb.Chunk(segment=segment, offset=offset, data=bytes(data[offset : offset + size]))
        for offset in range(0, len(data), size)
    ]


def _tensor(x):
    """A tensor message stating no quantization (scale 0)."""
    return pb.Tensor(dtype=pb.INT8, shape=list(x.shape), data=x.tobytes())


def test_bad_uploads_and_missing_spans_are_one_line_errors_and_nothing_is_installed(
    plan, edge, data
):
    x = _tensor(quantize(data.test.x[:1], plan.parts[0].input))
    part = plan.part_path(2).read_bytes()
    notfound, precondition = grpc.StatusCode.NOT_FOUND, grpc.StatusCode.FAILED_PRECONDITION
    channel, stub = _stub(edge)
    with channel:
        infer = stub.Infer
        span = pb.InferRequest(tensor=x, span=pb.Span(first=0, end=N))
        assert "does not hold segment(s) 0, 1, 2" in _refused(notfound, infer, span)
        span = pb.InferRequest(tensor=x, span=pb.Span(first=5, end=3))
        assert "no span [5, 3)" in _refused(notfound, infer, span)
        assert "spans of segments" in _refused(notfound, infer, pb.InferRequest(tensor=x, plan=1))
        upload = stub.Upload
        bad = [pb.Chunk(segment=99, offset=0, data=b"x")]
        assert "has no segment 99" in _refused(notfound, upload, iter(bad))
        bad = [pb.Chunk(segment=2, offset=100, data=b"x")]
        assert "holds 0 bytes" in _refused(precondition, upload, iter(bad))
        bad = [pb.Chunk(segment=1, offset=len(part) - 1, data=b"xx")]
        assert "holds 0 bytes" in _refused(precondition, upload, iter(bad))
        # a whole part of the right size whose bytes are not the plan's: dropped
        damaged = bytearray(part)
        damaged[len(damaged) // 2] ^= 0xFF
        said = _refused(precondition, upload, iter(_chunks(2, damaged)))
        assert "sha256 is not the plan's" in said
        assert edge.holdings() == (frozenset(), {})
        # a chunk past the part's end: refused, the bytes before it held for a resume
        good = _chunks(1, plan.part_path(1).read_bytes())
        last = good[-1]
        over = pb.Chunk(segment=1, offset=last.offset, data=last.data + b"x")
        said = _refused(grpc.StatusCode.INVALID_ARGUMENT, upload, iter([*good[:-1], over]))
        assert f"of a {plan.sizes[1]}-byte part" in said
        assert edge.holdings() == (frozenset(), {1: last.offset})
        # a message over the edge's limit (set from the plan): refused by gRPC, unread
        huge = [pb.Chunk(segment=1, offset=last.offset, data=b"y" * (edge.max_receive + 1))]
        _refused(grpc.StatusCode.RESOURCE_EXHAUSTED, upload, iter(huge))
        # the channel went on throughout, and the held bytes resume: segment 1 installs
        answers = list(upload(iter([last]), timeout=120))
        assert [list(h.installed) for h in answers] == [[1]]
        holdings = stub.GetHoldings(pb.HoldingsRequest(), timeout=5)
        assert list(holdings.installed) == [1] and dict(holdings.partial) == {}
    assert edge.installs == {1: 1}


def test_a_silent_upload_stream_is_dropped_and_the_edge_serves_the_others(plan, edge, caplog):
    """A client that opens a stream and sends nothing holds one worker for frame_timeout s."""
    caplog.set_level(logging.WARNING, logger="cnnpc.runtime")
    release = threading.Event()

    def silent():
        release.wait(30)
        yield from ()

    channel, stub = _stub(edge)
    other_channel, other = _stub(edge)
    try:
        start = time.monotonic()
        call = stub.Upload(silent(), timeout=30)
        answered = []
        for _ in range(3):  # the others are answered meanwhile
            answered.append(other.GetHoldings(pb.HoldingsRequest(), timeout=5))
        assert time.monotonic() - start < LIMITS.frame_timeout
        with pytest.raises(grpc.RpcError) as info:
            list(call)
        waited = time.monotonic() - start
        assert info.value.code() == grpc.StatusCode.CANCELLED  # a cancel carries no text
        said = [r.getMessage() for r in caplog.records if "no message from" in r.getMessage()]
        assert len(said) == 1 and "for 1 s" in said[0] and "Upload" in said[0]  # one line
        assert LIMITS.frame_timeout <= waited < LIMITS.frame_timeout + 3
        assert len(answered) == 3
        # still serving, a new stream on the same channel is taken
        chunks = _chunks(0, plan.part_path(0).read_bytes())
        assert [list(h.installed) for h in stub.Upload(iter(chunks), timeout=120)] == [[0]]
    finally:
        release.set()
        channel.close()
        other_channel.close()


def test_an_edge_that_refuses_a_span_makes_the_end_run_it(plan, edge, data, monkeypatch):
    with IncrementalClient(plan, edge.address) as client:
        monkeypatch.setattr(client, "usable", lambda: np.ones(N, dtype=bool))  # stale belief
        result = client.infer(data.test.x[0])
    assert result.fallback and result.a < N and client.fallbacks == 1
    assert np.array_equal(result.result.scores, local_scores(plan, data.test.x[:1])[0])


def test_the_prices_survive_the_folder_and_a_host_planner_times_the_parts(folder, plan, built):
    order = folder[1]
    held = np.zeros(N, dtype=bool)
    assert LayoutChooser.of_prices(plan.layouts).best(held) == order.initial
    held[:] = True
    assert LayoutChooser.of_prices(plan.layouts).best(held) == order.full
    parts, files = built
    host = host_upload_planner(parts, files, uplink_mbps=5.0, slowdown=3.0)
    segments = host.profile.segments
    assert len(segments) == N and all(s.end_ms == pytest.approx(3 * s.edge_ms) for s in segments)
    assert all(s.edge_ms > 0 for s in segments)


def test_serve_empty_and_infer_upload_on_the_command_line(folder, capsys):
    """`cnnpc serve --empty` as a process, `cnnpc infer --upload` against it."""
    cmd = [sys.executable, "-m", "cnnpc", "serve", "--role", "edge", "--empty", "--port", "0"]
    proc = subprocess.Popen([*cmd, "--plan", str(folder[0])], stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert "edge serving" in line
        port = int(line.rsplit(":", 1)[1])
        argv = ["infer", "--plan", str(folder[0]), "--edge", f"127.0.0.1:{port}", "--upload"]
        assert main([*argv, "--limit", "8", "--json", "--slowdown", "2"]) == 0
        out = json.loads(capsys.readouterr().out)
        assert out["queries"] == 8 and out["fallbacks"] == 0 and out["accuracy"] is not None
        assert out["error"] is None
        # the session waits for the upload (--upload-wait, 60 s by default): the edge holds it all
        assert out["uploaded_s"] is not None and out["uploaded_s"] > 0
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["serve", "--role", "cloud", "--empty", "--port", "0"], "--empty is an edge"),
        (["serve", "--role", "edge", "--empty", "--port", "0", "--adaptive"], "--empty"),
        (["infer", "--upload"], "--edge HOST:PORT"),
        (["infer", "--upload", "--adaptive", "--edge", "127.0.0.1:9"], "do not go together"),
    ],
)
def test_bad_upload_arguments_are_one_line_and_exit_2(folder, capsys, argv, message):
    assert main([*argv, "--plan", str(folder[0])]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_a_plain_plan_folder_is_not_an_upload_folder(three_tier, capsys):
    argv = ["serve", "--role", "edge", "--empty", "--port", "0", "--plan", str(three_tier.folder)]
    assert main(argv) == 2
    assert "no upload.json" in capsys.readouterr().err
    assert main(["infer", "--upload", "--plan", "/nonexistent", "--edge", "127.0.0.1:9"]) == 2
    assert "no upload.json" in capsys.readouterr().err


def test_deploy_upload_refuses_before_any_work(tmp_path, monkeypatch, capsys):
    from storage.factories import spec

    from cnnpc.storage import Storage

    url = f"sqlite:///{tmp_path / 'r.db'}"
    with Storage(url) as storage:
        search = storage.get_or_create_search(spec())  # nothing feasible
    out = str(tmp_path / "up")
    argv = ["deploy", str(search.id), "--out", out, "--storage", url]
    assert main([*argv, "--upload"]) == 2
    assert "no feasible best plan" in capsys.readouterr().err
    assert main([*argv, "--upload-rate", "5"]) == 2
    assert "--upload-rate goes with --upload" in capsys.readouterr().err
    assert main([*argv, "--upload", "--adaptive", "--bandwidth", "1:5"]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert not (tmp_path / "up").exists()


def test_an_uploaded_part_the_interpreter_cannot_run_is_refused_and_the_edge_serves_on(plan, data):
    """Its sha256 is the plan's (the plan itself was made from the damaged bytes): only the
    verification in a child process stands between those bytes and this process's interpreter."""
    part = bytearray(plan.part_path(2).read_bytes())
    for i in range(8, 48):  # the root table and its vtable: inside the file, but wrong
        part[i] ^= 0xA5
    digests = list(plan.digests)
    digests[2] = hashlib.sha256(bytes(part)).hexdigest()
    damaged = dataclasses.replace(plan, digests=tuple(digests))
    with UploadEdgeServer(damaged, limits=LIMITS) as server:
        channel, stub = _stub(server)
        with channel:
            code = grpc.StatusCode.FAILED_PRECONDITION
            said = _refused(code, stub.Upload, iter(_chunks(2, part)))
            assert "uploaded segment 2: not a loadable TFLite model" in said, said
            assert server.holdings() == (frozenset(), {}) and not server.installs
            good = plan.part_path(1).read_bytes()  # the same channel goes on: segment 1 installs
            answers = list(stub.Upload(iter(_chunks(1, good)), timeout=120))
            assert [list(h.installed) for h in answers] == [[1]]


def test_the_metrics_follow_the_upload(plan, data):
    """The upload-progress gauges of `serve --empty --metrics-port`: each part's size and the
    bytes held of it, back to 0 when a part is discarded, and the segments installed."""
    metrics = Metrics()

    def gauge(name, segment=None):
        labels = {"tier": "edge"} | ({} if segment is None else {"segment": str(segment)})
        return metrics.registry.get_sample_value(name, labels)

    def held():
        return [gauge("cnnpc_upload_held_bytes", k) for k in range(N)]

    with UploadEdgeServer(plan, limits=LIMITS, metrics=metrics) as edge:
        sizes = [gauge("cnnpc_upload_part_bytes", k) for k in range(N)]
        assert sizes == list(plan.sizes) and held() == [0] * N
        assert gauge("cnnpc_upload_segments_installed") == 0
        channel, stub = _stub(edge)
        with channel:
            chunks = _chunks(1, plan.part_path(1).read_bytes())
            over = pb.Chunk(segment=1, offset=chunks[-1].offset, data=chunks[-1].data + b"x")
            _refused(grpc.StatusCode.INVALID_ARGUMENT, stub.Upload, iter([*chunks[:-1], over]))
            assert held()[1] == chunks[-1].offset  # held for a resume
            damaged = bytearray(plan.part_path(2).read_bytes())
            damaged[len(damaged) // 2] ^= 0xFF
            _refused(grpc.StatusCode.FAILED_PRECONDITION, stub.Upload, iter(_chunks(2, damaged)))
            assert held()[2] == 0  # discarded
        with IncrementalClient(plan, edge.address) as client:
            run = run_during_upload(client, data.test.x[:4], wait_upload=30.0)
        expected = sorted(k for step in plan.steps for k in step)
        assert sorted(_installed(run)) == expected
        assert gauge("cnnpc_upload_segments_installed") == len(expected)
        assert [held()[k] for k in expected] == [plan.sizes[k] for k in expected]
