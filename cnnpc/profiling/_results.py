"""Timings of an export, read back from the device: LiteRT JSON or the C++ tool's text output.

A results folder is ``<export>/results/`` (or given as the export folder itself). It holds one
result per timed file, in either form:

- ``<file>.json`` from `cnnpc profile device`: the LiteRT benchmark's JSON plus the file's name,
  sha256 and the per-invoke statistics (see `_device`);
- ``<file>.txt``: the output of TensorFlow Lite's C++ ``benchmark_model`` (the commands of the
  export's README.txt), which starts with the ``sha256sum`` line of the file and holds the
  tool's timing line, printed by ``BenchmarkLoggingListener::OnBenchmarkEnd`` in
  tensorflow/lite/tools/benchmark/benchmark_model.cc::

      Inference timings in us: Init: 119515, First inference: 87112, Warmup (avg): 58147.4,
      Inference (avg): 63743.2

  (one line, possibly behind a log prefix such as ``INFO: ``). Its average, in microseconds with
  six significant digits, is the segment's time; the tool gives no median. Where the platform
  lets it measure memory, the same listener prints next::

      Memory footprint delta from the start of the tool (MB): init=6.14844 overall=109.848

  the growth of the process's footprint (MB = 2^20 bytes) over loading the model (init) and
  over the whole run (overall): the larger is the file's memory (`memory_mb`), the model's
  weights included. (The "Overall peak memory footprint (MB) via periodic monitoring" line of
  --report_peak_memory_footprint counts the tool itself too, so it is not used.)

Every result must name an exported file and carry that file's sha256 (a result of another
export is refused, named); a time must be a finite number > 0.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

from cnnpc._files import MiB, read_input_text
from cnnpc.errors import InputError, ProfileError
from cnnpc.profiling._device import RESULT_KIND, TOOL
from cnnpc.profiling._manifest import MANIFEST, RESULTS, SUMMARY, Manifest

CPP_TOOL = "TensorFlow Lite C++ benchmark_model"
MAX_RESULT_BYTES = 4 * MiB
_TIMINGS = re.compile(
    r"Inference timings in us: Init: (?P<init>[^,\s]+), First inference: (?P<first>[^,\s]+), "
    r"Warmup \(avg\): (?P<warmup>[^,\s]+), Inference \(avg\): (?P<avg>\S+)"
)
_MEMORY = re.compile(
    r"Memory footprint delta from the start of the tool \(MB\): init=(?P<init>\S+) "
    r"overall=(?P<overall>\S+)"
)
_SHA_LINE = re.compile(r"^\s*(?P<sha>[0-9a-fA-F]{64})\s+\*?(?P<file>\S+)\s*$", re.MULTILINE)
_GRAPH = re.compile(r"Graph: \[(?P<file>[^\]]*)\]")


@dataclass(frozen=True)
class DeviceResult:
    """The time of one exported file per invoke, from one result file."""

    source: Path
    file: str
    sha256: str
    median_ms: float
    p5_ms: float
    p95_ms: float
    tool: str
    memory_mb: float | None = None
    """What running the file adds to the process's memory (MB = 2^20 bytes), when measured."""


def results_folder(path: str | Path) -> tuple[Path, Path]:
    """(export folder, results folder) of `path`, which names either."""
    given = Path(path)
    if given.exists() and not given.is_dir():
        raise InputError(f"{given}: is a file, not a results folder")
    if (given / MANIFEST).is_file():
        return given, given / RESULTS
    if (given.parent / MANIFEST).is_file():
        return given.parent, given
    raise InputError(
        f"{given}: not an export folder or its {RESULTS}/ ('cnnpc profile export' writes "
        f"{MANIFEST} there)"
    )


def is_results_folder(path: str | Path) -> bool:
    """Whether `path` is an export (or its results folder) rather than a profile folder."""
    given = Path(path)
    return given.is_dir() and ((given / MANIFEST).is_file() or (given.parent / MANIFEST).is_file())


def _positive(source: Path, what: str, value: object) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        number = math.nan
    if isinstance(value, bool) or not math.isfinite(number) or number <= 0:
        raise ProfileError(f"{source}: {what} must be a finite number > 0, got {value!r}")
    return number


def _from_json(source: Path, text: str) -> DeviceResult:
    try:
        data = json.loads(text)
    except ValueError:
        raise ProfileError(f"{source}: not JSON (truncated?)") from None
    if not isinstance(data, dict):
        raise ProfileError(f"{source}: not a result of 'cnnpc profile device'")
    if data.get("kind") != RESULT_KIND:
        if "latency" in data:
            raise ProfileError(
                f"{source}: a LiteRT result without its file's sha256; time the export with "
                "'cnnpc profile device'"
            )
        raise ProfileError(f"{source}: not a result of 'cnnpc profile device'")
    stats = data.get("per_invoke_ms")
    file, sha = data.get("file"), data.get("sha256")
    if not isinstance(stats, dict) or not isinstance(file, str) or not isinstance(sha, str):
        raise ProfileError(f"{source}: no file, sha256 or per_invoke_ms")
    median = _positive(source, "per_invoke_ms.median", stats.get("median"))
    low = _positive(source, "per_invoke_ms.p5", stats.get("p5", median))
    high = _positive(source, "per_invoke_ms.p95", stats.get("p95", median))
    version = data.get("litert_version", "")
    memory = data.get("memory_mb")
    return DeviceResult(
        source,
        file,
        sha.lower(),
        median,
        low,
        high,
        f"{TOOL} {version}".strip(),
        None if memory is None else _positive(source, "memory_mb", memory),
    )


def _footprint(source: Path, text: str) -> float | None:
    """The larger of the tool's two memory deltas (None: no such line, or no growth)."""
    found = _MEMORY.search(text)
    if found is None:
        return None
    values = []
    for key in ("init", "overall"):
        try:
            values.append(float(found[key]))
        except ValueError:
            values.append(math.nan)
    if not all(math.isfinite(v) for v in values):
        raise ProfileError(f"{source}: memory footprint line without numbers: {found[0]!r}")
    return max(values) if max(values) > 0 else None


def _from_text(source: Path, text: str) -> DeviceResult:
    timings = list(_TIMINGS.finditer(text))
    if not timings:
        raise ProfileError(
            f"{source}: no 'Inference timings in us: ...' line (the C++ benchmark_model's output)"
        )
    if len(timings) > 1:
        raise ProfileError(f"{source}: {len(timings)} timing lines; give one run per file")
    sha = _SHA_LINE.search(text)
    if sha is None:
        raise ProfileError(
            f"{source}: no sha256sum line of the timed file (run the README's command)"
        )
    graph = _GRAPH.search(text)
    file = Path(graph["file"] if graph else sha["file"]).name
    if Path(sha["file"]).name != file:
        raise ProfileError(f"{source}: sha256sum of {sha['file']}, but timed {file}")
    ms = _positive(source, "Inference (avg)", timings[0]["avg"]) / 1000.0
    return DeviceResult(
        source, file, sha["sha"].lower(), ms, ms, ms, CPP_TOOL, _footprint(source, text)
    )


def read_result(path: Path) -> DeviceResult:
    """One result file, JSON (`cnnpc profile device`) or text (the C++ tool)."""
    text = read_input_text(path, str(path), MAX_RESULT_BYTES)
    return _from_json(path, text) if path.suffix == ".json" else _from_text(path, text)


def read_results(results: Path, manifest: Manifest) -> dict[str, DeviceResult]:
    """Every result in folder `results`, checked against `manifest`, by exported file name."""
    if not results.is_dir():
        raise InputError(f"{results}: no results folder (run 'cnnpc profile device' first)")
    listed = manifest.by_name()
    found: dict[str, DeviceResult] = {}
    paths = sorted(
        p
        for p in results.iterdir()
        if p.suffix in (".json", ".txt") and p.name != SUMMARY and not p.name.startswith(".")
    )
    for path in paths:
        result = read_result(path)
        entry = listed.get(result.file)
        if entry is None:
            raise ProfileError(
                f"{path}: times {result.file}, which is not in {results.parent / MANIFEST}"
            )
        if result.sha256 != entry.sha256:
            raise ProfileError(
                f"{path}: times another export of {result.file} (its sha256 differs from the "
                "manifest's)"
            )
        if result.file in found:
            other = found[result.file].source
            raise ProfileError(f"{path}: {result.file} is timed twice (also in {other.name})")
        found[result.file] = result
    if not found:
        raise ProfileError(f"{results}: no results (*.json or *.txt)")
    return found
