"""Profiling on the device: `cnnpc profile export`, `cnnpc profile device` (LiteRT's real benchmark
tool, in a process where TensorFlow cannot be imported), `cnnpc profile import` of its JSON or of
the C++ benchmark_model's text, then `cnnpc plan` and `cnnpc search` (on an accuracy table) on the
imported profile; and the bad inputs."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from cnnpc.accuracy import TableRow, format_table, kept_of
from cnnpc.cli import main
from cnnpc.profiles import PROFILES_ENV, load_profile
from cnnpc.spaces import load_space

SIZE = 16
MODEL = "resnet"  # 5 segments
REPO = Path(__file__).resolve().parents[2]
NO_TF = (
    "import sys; sys.modules['tensorflow'] = None; sys.modules['tf_keras'] = None\n"
    "from cnnpc.cli import main\n"
    "rc = main(sys.argv[1:])\n"
    "assert sys.modules['tensorflow'] is None, 'tensorflow was replaced'\n"
    "sys.exit(rc)\n"
)

# The C++ tool's line, from BenchmarkLoggingListener::OnBenchmarkEnd in
# tensorflow/lite/tools/benchmark/benchmark_model.cc (TFLITE_LOG(INFO) prefixes "INFO: "):
#   TFLITE_LOG(INFO) << "Inference timings in us: " << "Init: " << init_us << ", "
#                    << "First inference: " << warmup_us.first() << ", "
#                    << "Warmup (avg): " << warmup_us.avg() << ", "
#                    << "Inference (avg): " << inference_us.avg();
CPP_TIMINGS = (
    "INFO: Inference timings in us: Init: {init}, First inference: {first}, "
    "Warmup (avg): {warmup}, Inference (avg): {avg}"
)
# and next, where the platform measures memory (same listener, same file):
#   TFLITE_LOG(INFO) << "Memory footprint delta from the start of the tool (MB): "
#                    << "init=" << init_mem_usage.mem_footprint_kb / 1024.0
#                    << " overall=" << overall_mem_usage.mem_footprint_kb / 1024.0;
CPP_MEMORY = (
    "INFO: Memory footprint delta from the start of the tool (MB): init={init} overall={all}"
)


def _no_tf(*args: str) -> subprocess.CompletedProcess[str]:
    """`cnnpc ARGS` in a fresh interpreter whose `import tensorflow` fails."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run(
        [sys.executable, "-c", NO_TF, *args], capture_output=True, text=True, env=env, timeout=300
    )


@pytest.fixture(scope="module")
def exports(tmp_path_factory) -> dict[str, Path]:
    """An end export (keeps 1 and 0.5) and an edge export (keep 1), timed without TensorFlow."""
    root = tmp_path_factory.mktemp("device")
    end, edge = root / "end", root / "edge"
    base = ["profile", "export", "--model", MODEL, "--image-size", str(SIZE), "--json"]
    assert main([*base, "--out", str(end), "--keep-fractions", "1,0.5"]) == 0
    assert main([*base, "--out", str(edge), "--keep-fractions", "1", "--tier", "edge"]) == 0
    for folder in (end, edge):
        done = _no_tf("profile", "device", str(folder), "--runs", "10", "--warmup", "2")
        assert done.returncode == 0, done.stderr[-2000:]
    return {"end": end, "edge": edge}


@pytest.fixture
def user_root(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "profiles"
    monkeypatch.setenv(PROFILES_ENV, str(root))
    return root


def _import(end: Path, edge: Path, *extra: str) -> int:
    return main(["profile", "import", "--model", MODEL, "--device", "phone", "--end", str(end),
                 "--edge", str(edge), "--cloud", str(edge / "results"), *extra])  # fmt: skip


def _copy(src: Path, tmp_path: Path) -> Path:
    dst = tmp_path / src.name
    shutil.copytree(src, dst)
    return dst


def test_export_folder(exports):
    end = exports["end"]
    manifest = json.loads((end / "manifest.json").read_text())
    assert (manifest["model"], manifest["image_size"], manifest["tier"], manifest["format"]) == (
        MODEL,
        SIZE,
        "end",
        "int8",
    )
    files = manifest["files"]
    assert len(files) == 2 * 5
    for f in files:
        data = (end / f["file"]).read_bytes()
        assert f["bytes"] == len(data) and f["sha256"] == hashlib.sha256(data).hexdigest()
    first = next(f for f in files if f["segment"] == 0 and f["keep"] == 1.0)
    assert first["input_shape"] == [SIZE, SIZE, 3] and first["in_channels"] == 3
    half = next(f for f in files if f["segment"] == 1 and f["keep"] == 0.5)
    assert (half["in_channels"], half["out_channels"], half["keep_in"]) == (32, 32, 0.5)
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(end / first["file"]))
    assert interpreter.get_input_details()[0]["dtype"].__name__ == "int8"  # deployed as int8
    readme = (end / "README.txt").read_text()
    assert "cnnpc profile device end" in readme and "pip install" in readme
    for f in files:  # one adb command per file, its output into results/
        stem = f["file"].removesuffix(".tflite")
        assert f"--graph={f['file']}" in readme and f"results/{stem}.txt" in readme
    assert "adb pull /data/local/tmp/end/results end/" in readme
    assert not [p for p in end.parent.iterdir() if p.name.startswith(".")]  # no temp folder left


def test_device_results_without_tensorflow(exports):
    results = exports["end"] / "results"
    summary = json.loads((results / "summary.json").read_text())
    assert summary["tool"] == "ai_edge_litert.tools.benchmark_litert_model"
    assert len(summary["files"]) == 10
    for f in summary["files"]:
        result = json.loads((results / f["file"].replace(".tflite", ".json")).read_text())
        raw = result["benchmark"]  # the tool's JSON, untouched
        inner = result["iterations_per_run"]
        assert raw["latency"]["num_runs"] == 10 and raw["num_threads"] == 1
        assert result["per_invoke_ms"]["median"] == pytest.approx(
            raw["latency"]["median_ms"] / inner
        )
        # A timed run lasts about a millisecond, so the 0.01 ms rounding stays near 1 %.
        assert inner == 1 or raw["latency"]["median_ms"] >= 0.3
    again = _no_tf("profile", "device", str(exports["end"]))
    assert again.returncode == 2 and "already exists" in again.stderr.strip().splitlines()[-1]


def test_import_then_plan_and_search(exports, user_root, tmp_path, capsys):
    capsys.readouterr()
    assert _import(exports["end"], exports["edge"], "--json") == 0
    report = json.loads(capsys.readouterr().out)
    assert report["stand_in"] == "" and report["notes"] == []
    meta = yaml.safe_load((user_root / MODEL / "meta.yaml").read_text())
    assert "measured on the device by LiteRT's benchmark" in meta["source"]
    assert "stand_in" not in meta and "benchmark_litert_model" in meta["devices"]["phone"]
    summary = json.loads((exports["end"] / "results" / "summary.json").read_text())
    unpruned = {f["segment"]: f["median_ms"] for f in summary["files"] if f["keep"] == 1.0}
    profile = load_profile(MODEL, "phone")
    assert [s.end_ms for s in profile.segments] == pytest.approx(
        [unpruned[i] for i in range(5)], rel=1e-5
    )
    assert (user_root / MODEL / "phone_measurements.csv").is_file()
    assert main(["plan", "--model", MODEL, "--device", "phone", "--bandwidth", "10", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["device"] == "phone" and plan["best"]["latency_ms"] > 0
    # memory: each unpruned file's, measured on the device beside LiteRT's benchmark
    results = exports["end"] / "results"
    memory = {
        f["segment"]: json.loads((results / f["file"].replace(".tflite", ".json")).read_text())
        for f in summary["files"]
        if f["keep"] == 1.0
    }
    measured = [memory[i]["memory_mb"] for i in range(5)]
    assert [s.end_memory_mb for s in profile.segments] == pytest.approx(measured, rel=1e-5)
    assert all(0 < m["memory_mb"] < 512 for m in memory.values())
    limited = ["plan", "--model", MODEL, "--device", "phone", "--bandwidth", "10"]
    assert main([*limited, "--end-memory", "1000", "--json"]) == 0
    parts = json.loads(capsys.readouterr().out)["baselines"]["end_only"]["parts"]
    peak = max(m["memory_mb"] for m in memory.values()) * 2**20
    assert parts["end_memory_bytes"] >= peak  # weights + the largest working memory
    assert main(limited) == 0
    assert "end peak KB" in capsys.readouterr().out
    # a search on an accuracy table, priced by the device profile
    space = load_space(MODEL)
    configs = [({}, 0.95), ({"block6": 0.5}, 0.94), ({"block11": 0.5}, 0.93)]
    rows = [TableRow(kept_of(space, c), a, a - 0.01, 1.5, i) for i, (c, a) in enumerate(configs, 1)]
    table = tmp_path / "table.csv"
    table.write_text(format_table(MODEL, "synthetic", "epochs=3,seed=0,id=test", rows))
    search = ["search", "--model", MODEL, "--device", "phone", "--bandwidth", "10"]
    search += ["--acc-floor", "0.93", "--strategy", "exhaustive", "--trials", "50"]
    search += ["--accuracy", f"table:{table}", "--storage", f"sqlite:///{tmp_path / 's.db'}"]
    assert main([*search, "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found["finetunes"] == 0 and not found["stand_in"]
    assert found["best"]["val_accuracy"] >= 0.93 and found["best"]["latency_ms"] > 0


def test_cpp_text_results(exports, user_root, tmp_path, capsys):
    edge = _copy(exports["edge"], tmp_path)
    manifest = json.loads((edge / "manifest.json").read_text())
    shutil.rmtree(edge / "results")
    (edge / "results").mkdir()
    for i, f in enumerate(manifest["files"]):
        text = "\n".join(
            [
                f"{f['sha256']}  {f['file']}",
                "INFO: STARTING!",
                f"INFO: Graph: [{f['file']}]",
                "INFO: count=50 first=120 curr=80 min=75 max=130 avg=81.5 std=4",
                CPP_TIMINGS.format(init=1500, first=120, warmup=90.25, avg=f"{80.5 + i}"),
                "INFO: Memory footprint delta from the start of the tool (MB): init=2 overall=3",
            ]
        )
        (edge / "results" / f["file"].replace(".tflite", ".txt")).write_text(text + "\n")
    assert _import(exports["end"], edge) == 0
    out = capsys.readouterr().out
    assert "TensorFlow Lite C++ benchmark_model" in out
    profile = load_profile(MODEL, "phone")
    assert [s.edge_ms for s in profile.segments] == pytest.approx(
        [0.0805 + i / 1000 for i in range(5)]
    )


def test_cpp_memory_lines_into_the_profile(exports, user_root, tmp_path, capsys):
    end = _copy(exports["end"], tmp_path)
    manifest = json.loads((end / "manifest.json").read_text())
    shutil.rmtree(end / "results")
    (end / "results").mkdir()
    for f in manifest["files"]:
        lines = [
            f"{f['sha256']}  {f['file']}",
            f"INFO: Graph: [{f['file']}]",
            CPP_TIMINGS.format(init=1500, first=120, warmup=90.25, avg=f"{80.5 + f['segment']}"),
        ]
        if f["segment"] != 3:  # block16's file: a platform that measures no memory
            lines.append(CPP_MEMORY.format(init=1.5, all=f"{2.25 + f['segment']}"))
        (end / "results" / f["file"].replace(".tflite", ".txt")).write_text("\n".join(lines))
    assert _import(end, exports["edge"]) == 0
    capsys.readouterr()
    profile = load_profile(MODEL, "phone")
    assert [s.end_memory_mb for s in profile.segments] == [2.25, 3.25, 4.25, None, 6.25]
    header = (user_root / MODEL / "phone.csv").read_text().splitlines()[0]
    assert header == "segment,name,end_ms,edge_ms,cloud_ms,end_memory_mb"
    argv = ["plan", "--model", MODEL, "--device", "phone", "--bandwidth", "10"]
    assert main([*argv, "--end-memory", "1", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    # the end part's need: weights plus at least 2.25 MB measured: nothing but an empty end fits
    assert report["best"]["parts"]["end_bytes"] == 0
    assert report["baselines"]["end_only"]["parts"]["end_memory_bytes"] is None  # block16
    broken = end / "results" / "segment0_block1_keep1.txt"
    broken.write_text(broken.read_text().replace("init=1.5", "init=lots"))
    (user_root / MODEL / "phone.csv").unlink()
    assert _import(end, exports["edge"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "memory footprint line without numbers" in err[0]


def test_untimed_segments_are_filled_then_refused(exports, user_root, tmp_path, capsys):
    end = _copy(exports["end"], tmp_path)
    (end / "results" / "segment2_block11_keep1.json").unlink()
    assert _import(end, exports["edge"]) == 0
    out = capsys.readouterr().out
    assert "note: end tier: block11 not timed; filled by the" in out
    filled = load_profile(MODEL, "phone").segments[2].end_ms
    assert filled > 0
    for name in (
        "segment0_block1_keep1",
        "segment1_block6_keep1",
        "segment3_block16_keep1",
        "segment0_block1_keep0.5",
        "segment1_block6_keep0.5",
    ):
        (end / "results" / f"{name}.json").unlink()
    (user_root / MODEL / "phone.csv").unlink()
    assert _import(end, exports["edge"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "only 4 of the 10 exported files are timed" in err[0]


def _result(folder: Path, name: str = "segment0_block1_keep1.json") -> Path:
    return folder / "results" / name


def _edit(path: Path, key: str, value: object) -> None:
    data = json.loads(path.read_text())
    if key == "median":
        data["per_invoke_ms"]["median"] = value
    else:
        data[key] = value
    path.write_text(json.dumps(data))


BAD = {
    "another export (sha256)": (
        lambda p: _edit(_result(p), "sha256", "0" * 64),
        "times another export of segment0_block1_keep1.tflite",
    ),
    "a file not in the manifest": (
        lambda p: _edit(_result(p), "file", "segment9_x_keep1.tflite"),
        "which is not in",
    ),
    "truncated JSON": (
        lambda p: _result(p).write_text(_result(p).read_text()[:40]),
        "not JSON (truncated?)",
    ),
    "not JSON": (lambda p: _result(p).write_text("hello"), "not JSON (truncated?)"),
    "zero time": (lambda p: _edit(_result(p), "median", 0), "must be a finite number > 0"),
    "negative time": (lambda p: _edit(_result(p), "median", -1.5), "must be a finite number > 0"),
    "text without a timing line": (
        lambda p: _result(p, "extra.txt").write_text(f"{'a' * 64}  x.tflite\nINFO: Graph: [x]\n"),
        "no 'Inference timings in us: ...' line",
    ),
    "text with a zero time": (
        lambda p: _result(p, "segment0_block1_keep1.txt").write_text(
            f"{json.loads(_result(p).read_text())['sha256']}  segment0_block1_keep1.tflite\n"
            + CPP_TIMINGS.format(init=1, first=1, warmup=1, avg=0)
            + "\n"
        ),
        "Inference (avg) must be a finite number > 0",
    ),
    "LiteRT JSON without a sha256": (
        lambda p: _result(p).write_text(
            json.dumps(json.loads(_result(p).read_text())["benchmark"])
        ),
        "without its file's sha256",
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_results_are_one_line_exit_2(case, exports, user_root, tmp_path, capsys):
    end = _copy(exports["end"], tmp_path)
    damage, message = BAD[case]
    damage(end)
    capsys.readouterr()
    assert _import(end, exports["edge"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert not user_root.exists()  # nothing written


def test_other_model_tier_and_files_are_refused(exports, user_root, tmp_path, capsys):
    args = ["profile", "import", "--model", "mobilenet", "--device", "phone", "--end"]
    edge = str(exports["edge"])
    cases = [
        ([*args, str(exports["end"]), "--edge", edge, "--cloud", edge], "an export of resnet"),
        (
            [*args[:3], MODEL, *args[4:], edge, "--edge", edge, "--cloud", edge],
            "exported for the edge tier, given as --end",
        ),
    ]
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    rest = [*args[:3], MODEL, *args[4:], str(exports["end"]), "--edge", str(a_file)]
    cases.append(([*rest, "--cloud", edge], "not a profile folder"))
    for argv, message in cases:
        assert main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and message in err[0], err
    done = _no_tf("profile", "device", str(a_file))
    assert done.returncode == 2
    assert "is a file, not the folder" in done.stderr.strip().splitlines()[-1]
    assert not user_root.exists()


def test_export_refuses_an_existing_folder(exports, capsys):
    before = sorted(p.name for p in exports["end"].iterdir())
    argv = ["profile", "export", "--model", MODEL, "--out", str(exports["end"])]
    assert main([*argv, "--image-size", str(SIZE)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "already exists" in err[0]
    assert sorted(p.name for p in exports["end"].iterdir()) == before


def test_a_changed_file_is_refused_on_the_device(exports, tmp_path):
    end = _copy(exports["end"], tmp_path)
    shutil.rmtree(end / "results")
    path = end / "segment4_head_keep1.tflite"
    path.write_bytes(path.read_bytes() + b"\0")
    done = _no_tf("profile", "device", str(end))
    assert done.returncode == 2 and "sha256 differs" in done.stderr.strip().splitlines()[-1]
    assert not (end / "results").exists()
