"""`cnnpc profile device`: time every file of an export with LiteRT's own benchmark tool.

Runs on the device (a board with Python), so nothing here imports TensorFlow: only the
manifest, the files and ``ai_edge_litert.tools.benchmark_litert_model``, called through its
Python API (`run_benchmark`, the function its command line runs, with the arguments parsed by
its own parser).

Rounding: the tool's JSON rounds every time to 0.01 ms, as coarse as a small segment's whole run
time. So each timed run of the tool is `inner` back-to-back invokes, enough to last about a
millisecond (found by a short first pass of the tool), and its statistics are divided by
`inner`: the resolution becomes 0.01 ms / inner. The tool's JSON does not carry the per-run
latencies; its own statistics (median, mean, min, max, p5, p95) are what is kept. Each result
records `iterations_per_run` next to the tool's JSON, untouched, under ``benchmark``. The tool
reports no memory: `memory_mb` is measured apart (`_footprint`).
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import platform
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from cnnpc._files import fill_folder
from cnnpc.errors import InputError, ProfileError, first_line
from cnnpc.profiling._footprint import MEMORY_TOOL, footprint_mb
from cnnpc.profiling._manifest import (
    RESULTS,
    SUMMARY,
    ExportFile,
    Manifest,
    read_manifest,
    sha256_file,
)

TOOL = "ai_edge_litert.tools.benchmark_litert_model"
RESULT_KIND = "cnnpc device result"
SAMPLE_MS = 1.0
"""A timed run lasts about this long, so the JSON's 0.01 ms rounding is at most 1 %."""
MAX_INNER = 1000
STATS = ("median", "avg", "min", "max", "p5", "p95")


def litert_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("ai-edge-litert")
    except PackageNotFoundError:
        return "unknown"


class _Repeating:
    """A LiteRT compiled model whose `run_by_name` invokes the model `inner` times."""

    def __init__(self, model: Any, inner: int) -> None:
        self._model = model
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)

    def run_by_name(self, *args: Any, **kwargs: Any) -> None:
        for _ in range(self._inner):
            self._model.run_by_name(*args, **kwargs)


@contextlib.contextmanager
def _repeating(tool: Any, inner: int) -> Iterator[None]:
    """While open, the tool's models run `inner` invokes per timed run."""
    original = tool._import_litert
    if inner == 1:
        yield
        return

    def classes() -> tuple[Any, ...]:
        compiled, *rest = original()

        class Compiled:
            @staticmethod
            def from_file(*args: Any, **kwargs: Any) -> _Repeating:
                return _Repeating(compiled.from_file(*args, **kwargs), inner)

        return (Compiled, *rest)

    tool._import_litert = classes
    try:
        yield
    finally:
        tool._import_litert = original


@contextlib.contextmanager
def _native_log() -> Iterator[list[str]]:
    """File descriptor 2 into a temporary file while LiteRT runs: its C++ runtime logs every
    model load there. Yields a list that holds the log's last line once the block ends."""
    sys.stderr.flush()
    saved = os.dup(2)
    last: list[str] = []
    with tempfile.TemporaryFile() as log:
        os.dup2(log.fileno(), 2)
        try:
            yield last
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            log.seek(0)
            lines = [ln for ln in log.read().decode("utf-8", "replace").splitlines() if ln]
            last.extend(lines[-1:])


def benchmark(path: Path, *, runs: int, warmup: int, threads: int, inner: int) -> dict[str, Any]:
    """The tool's JSON for `path` (each timed run `inner` invokes); its printout is dropped."""
    from ai_edge_litert.tools import benchmark_litert_model as tool

    argv = [
        TOOL,
        f"--model={path}",
        f"--num_runs={runs}",
        f"--warmup_runs={warmup}",
        f"--num_threads={threads}",
    ]
    saved = sys.argv
    try:
        sys.argv = argv
        args = tool.parse_args()
    finally:
        sys.argv = saved
    log: list[str] = []
    try:
        with (
            _native_log() as log,
            _repeating(tool, inner),
            contextlib.redirect_stdout(io.StringIO()),
        ):
            result = tool.run_benchmark(args)
    except SystemExit:
        why = log[-1] if log else "it exited"
        raise ProfileError(f"{path}: LiteRT's benchmark failed: {why}") from None
    except Exception as exc:  # the LiteRT runtime raises its own errors
        raise ProfileError(f"{path}: LiteRT's benchmark failed: {first_line(exc)}") from None
    if not isinstance(result, dict) or not isinstance(result.get("latency"), dict):
        raise ProfileError(f"{path}: LiteRT's benchmark returned no latency")
    return result


def iterations_for(per_invoke_ms: float, floor_ms: float = 0.005) -> int:
    """Invokes per timed run so that a run lasts about SAMPLE_MS (the 0.01 ms rounding); a
    time that rounded to 0 counts as `floor_ms` (half the resolution)."""
    return max(1, min(MAX_INNER, math.ceil(SAMPLE_MS / max(per_invoke_ms, floor_ms))))


def _check_files(folder: Path, manifest: Manifest) -> None:
    for f in manifest.files:
        path = folder / f.file
        if not path.is_file():
            raise InputError(f"{path}: missing (listed in the manifest)")
        if sha256_file(path) != f.sha256:
            raise InputError(f"{path}: its sha256 differs from the manifest's (changed file?)")


def _time_file(
    path: Path, entry: ExportFile, *, runs: int, warmup: int, threads: int
) -> dict[str, Any]:
    inner = 1
    for _ in range(3):  # short passes of the tool until a timed run lasts about SAMPLE_MS
        probe = benchmark(path, runs=3, warmup=1, threads=threads, inner=inner)
        better = iterations_for(float(probe["latency"]["median_ms"]) / inner, 0.005 / inner)
        if better <= inner:
            break
        inner = better
    raw = benchmark(path, runs=runs, warmup=warmup, threads=threads, inner=inner)
    latency = raw["latency"]
    memory = footprint_mb(path, threads)
    measured = {} if memory is None else {"memory_mb": memory, "memory_tool": MEMORY_TOOL}
    return {
        "kind": RESULT_KIND,
        "file": entry.file,
        "sha256": entry.sha256,
        "segment": entry.segment,
        "name": entry.name,
        "keep": entry.keep,
        "tool": TOOL,
        "litert_version": litert_version(),
        "iterations_per_run": inner,
        "resolution_ms": 0.01 / inner,
        "per_invoke_ms": {s: float(latency[f"{s}_ms"]) / inner for s in STATS},
        **measured,
        "benchmark": raw,
    }


def run_device(
    folder: str | Path,
    *,
    runs: int = 50,
    warmup: int = 5,
    threads: int = 1,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Time every file of export `folder`; write ``folder/results/`` (one JSON per file and
    summary.json) at once. Returns the summary."""
    if runs < 1 or warmup < 0 or threads < 1:
        raise InputError("runs and threads must be >= 1, warm-up >= 0")
    root = Path(folder)
    if not root.exists():
        raise InputError(f"{root}: no such folder")
    manifest = read_manifest(root)
    target = root / RESULTS
    if target.exists() or target.is_symlink():
        raise InputError(f"{target} already exists; move it away to measure again")
    _check_files(root, manifest)
    results: dict[str, dict[str, Any]] = {}
    for entry in manifest.files:
        result = _time_file(root / entry.file, entry, runs=runs, warmup=warmup, threads=threads)
        results[entry.file] = result
        if progress is not None:
            ms = result["per_invoke_ms"]["median"]
            progress(f"{entry.file}: {ms:.4f} ms ({result['iterations_per_run']} per run)")
    summary = {
        "kind": "cnnpc device summary",
        "model": manifest.model,
        "image_size": manifest.image_size,
        "tier": manifest.tier,
        "format": manifest.format,
        "tool": TOOL,
        "litert_version": litert_version(),
        "machine": platform.machine(),
        "system": platform.platform(),
        "runs": runs,
        "warmup": warmup,
        "threads": threads,
        "folder": str(root),
        "files": [
            {
                "file": name,
                "segment": r["segment"],
                "name": r["name"],
                "keep": r["keep"],
                "median_ms": r["per_invoke_ms"]["median"],
                "iterations_per_run": r["iterations_per_run"],
            }
            for name, r in results.items()
        ],
    }

    def fill(tmp: Path) -> None:
        for name, result in results.items():
            stem = name.removesuffix(".tflite")
            (tmp / f"{stem}.json").write_text(json.dumps(result, indent=2) + "\n")
        (tmp / SUMMARY).write_text(json.dumps(summary, indent=2) + "\n")

    fill_folder(target, fill)
    return summary
