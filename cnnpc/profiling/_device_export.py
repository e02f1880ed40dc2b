"""`cnnpc profile export`: every segment at every width as a deployed ``.tflite`` file, for a
device that cannot run cnnpc's profiler (a phone, a board without TensorFlow).

The segments are cut by `cut_segments` and converted by `to_tflite`, the code `cnnpc profile`
times on this host: int8 (int8 in and out) for the end tier, the server format for edge and
cloud. The folder holds the files, ``manifest.json`` (per file: segment, keep, channels, shapes,
features, bytes, sha256), ``tensors.csv`` and ``layers.csv`` (what the import writes into the
profile) and ``README.txt`` (how to time the files on the device). It is written to a temporary
folder beside ``--out`` and renamed in, so a folder is complete or absent.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from cnnpc._files import fill_folder
from cnnpc.errors import InputError
from cnnpc.profiles import TIERS, Tensor
from cnnpc.profiling._manifest import RESULTS, ExportFile, Manifest, manifest_bytes
from cnnpc.profiling._run import (
    DEFAULT_KEEPS,
    check_keeps,
    check_server_format,
    check_size,
    cut_segments,
    layers_csv,
)
from cnnpc.profiling._store import tensors_bytes
from cnnpc.spaces import load_space

ANDROID_DIR = "/data/local/tmp"
BENCHMARK_URL = (
    "https://storage.googleapis.com/tensorflow-nightly-public/prod/tensorflow/release/lite/tools/"
    "nightly/latest/android_aarch64_benchmark_model"
)
LINUX_INSTALL = (
    "pip install ai-edge-litert numpy pyyaml sqlalchemy && "
    "pip install --no-deps CNNPC_WHEEL_OR_SOURCE"
)
"""What `cnnpc profile device` imports (no TensorFlow); the runtime-only install of issue 20
part 2 will replace it with one extra."""


def _file_name(index: int, name: str, keep: float) -> str:
    return f"segment{index}_{name}_keep{keep:g}.tflite"


def readme_text(manifest: Manifest, folder_name: str) -> str:
    """README.txt of an export: the commands for a Linux board (pip) and for Android (adb)."""
    remote = f"{ANDROID_DIR}/{folder_name}"
    lines = [
        f"{manifest.model} at {manifest.image_size}x{manifest.image_size}: "
        f"{len(manifest.files)} segment files for the {manifest.tier} tier ({manifest.format} "
        f"TFLite), exported by 'cnnpc profile export' on {manifest.created}.",
        "manifest.json lists every file (segment, keep fraction, channels, shapes, bytes, sha256).",
        "",
        "Linux board with pip (no TensorFlow needed):",
        f"  {LINUX_INSTALL}",
        f"  cnnpc profile device {folder_name}",
        "It runs LiteRT's benchmark (ai_edge_litert.tools.benchmark_litert_model) on every file",
        f"and writes {RESULTS}/ (one JSON per file and summary.json). Copy the whole folder back.",
        "",
        "Android with adb (no Python on the phone): the C++ benchmark_model tool.",
        f"  curl -L -o benchmark_model {BENCHMARK_URL}",
        f"  adb push benchmark_model {ANDROID_DIR}/benchmark_model",
        f"  adb shell chmod +x {ANDROID_DIR}/benchmark_model",
        f"  adb push {folder_name} {ANDROID_DIR}/",
        f"  adb shell mkdir -p {remote}/{RESULTS}",
        "then, for every file (one command each):",
    ]
    for f in manifest.files:
        stem = f.file.removesuffix(".tflite")
        lines.append(
            f'  adb shell "cd {remote} && (sha256sum {f.file} && {ANDROID_DIR}/benchmark_model '
            f"--graph={f.file} --num_threads=1 --warmup_runs=5 --num_runs=50) > "
            f'{RESULTS}/{stem}.txt 2>&1"'
        )
    lines += [
        "and bring the results back into this folder:",
        f"  adb pull {remote}/{RESULTS} {folder_name}/",
        f"Each {RESULTS}/<file>.txt must start with the sha256sum line and hold the tool's",
        "'Inference timings in us: ...' line; keep the file names.",
        "",
        "Back on the workstation:",
        f"  cnnpc profile import --model {manifest.model} --device NAME --{manifest.tier} "
        f"{folder_name} (plus the other tiers' folders)",
        "",
    ]
    return "\n".join(lines)


def export_device(
    model: str,
    out: str | Path,
    *,
    image_size: int | None = None,
    keeps: Sequence[float] = DEFAULT_KEEPS,
    tier: str = "end",
    server_format: str = "int8",
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Write the export folder `out` (see the module docs); return its manifest as a report."""
    from cnnpc.profiling._measure import segment_shape, to_tflite

    space = load_space(model)
    if tier not in TIERS:
        raise InputError(f"--tier must be one of {', '.join(TIERS)}, got {tier!r}")
    fmt = "int8" if tier == "end" else check_server_format(server_format)
    size = check_size(model, image_size)
    ordered = check_keeps(keeps)
    target = Path(out)
    if target.exists() or target.is_symlink():
        raise InputError(f"{target} already exists; give a new folder for the export")

    def fill(tmp: Path) -> None:
        entries: list[ExportFile] = []
        tensors: list[Tensor] = []
        for cut in cut_segments(model, space, image_size=size, keeps=ordered, tensors=tensors):
            data = to_tflite(cut.segment, fmt)
            shape = segment_shape(cut.segment, fmt)
            name = _file_name(cut.index, cut.name, cut.keep)
            (tmp / name).write_bytes(data)
            entries.append(
                ExportFile(
                    file=name,
                    segment=cut.index,
                    name=cut.name,
                    keep=cut.keep,
                    keep_in=cut.keep_in,
                    keep_out=cut.keep_out,
                    in_channels=shape.in_channels,
                    out_channels=shape.out_channels,
                    input_shape=shape.in_shape,
                    output_shape=shape.out_shape,
                    flops=shape.flops,
                    params=shape.params,
                    in_bytes=shape.in_bytes,
                    out_bytes=shape.out_bytes,
                    bytes=len(data),
                    sha256=hashlib.sha256(data).hexdigest(),
                )
            )
            if progress is not None:
                progress(f"keep {cut.keep:g}: segment {cut.index} ({cut.name}): {name}")
        manifest = Manifest(
            model=model,
            image_size=size,
            tier=tier,
            format=fmt,
            keep_fractions=ordered,
            created=dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            files=tuple(entries),
        )
        (tmp / "tensors.csv").write_bytes(tensors_bytes(tensors))
        (tmp / "layers.csv").write_bytes(layers_csv(model, space, size))
        (tmp / "README.txt").write_text(readme_text(manifest, target.name), encoding="utf-8")
        (tmp / "manifest.json").write_bytes(manifest_bytes(manifest))
        written.append(manifest)

    written: list[Manifest] = []
    fill_folder(target, fill)
    manifest = written[0]
    return {
        "model": model,
        "folder": str(target),
        "image_size": size,
        "tier": tier,
        "format": fmt,
        "keep_fractions": list(ordered),
        "files": [
            {"file": f.file, "segment": f.segment, "name": f.name, "keep": f.keep, "bytes": f.bytes}
            for f in manifest.files
        ],
    }
