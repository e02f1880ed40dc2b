"""`cnnpc profile`: time every segment of a model on this machine at several widths, write a
profile in the shipped format plus the measurements, and report the regressor's held-out error.
"""

from __future__ import annotations

import datetime as dt
import math
import platform
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cnnpc.errors import InputError
from cnnpc.profiles import TIERS, Tensor, list_profiles, load_profile_dir
from cnnpc.profiling._device import litert_version
from cnnpc.profiling._regressor import FEATURES, evaluate
from cnnpc.profiling._store import (
    MEASUREMENTS_SUFFIX,
    Measurement,
    check_device_name,
    check_output_folder,
    check_tensors_compatible,
    measurements_bytes,
    meta_bytes,
    output_folder,
    segments_bytes,
    tensors_bytes,
    write_folder,
)
from cnnpc.spaces import SearchSpace, load_space

DEFAULT_KEEPS = (1.0, 0.75, 0.5, 0.25, 0.125)
SOURCE = "measured on this host by cnnpc profile"
Progress = Callable[[str], None]


def check_new_device(model: str, device: str) -> str:
    """A user device name must be file-safe and must not shadow a shipped device."""
    check_device_name(device)
    shipped = list_profiles().get(model, [])
    if any(d.lower() == device.lower() for d in shipped):
        raise InputError(
            f"device {device!r} is shipped with cnnpc for {model!r}; choose another name"
        )
    return device


def check_keeps(keeps: Sequence[float]) -> tuple[float, ...]:
    ordered = tuple(sorted({float(k) for k in keeps}, reverse=True))
    for k in ordered:
        if not math.isfinite(k) or not 0.0 < k <= 1.0:
            raise InputError(f"keep fractions must be in (0, 1], got {k!r}")
    if not ordered or ordered[0] != 1.0:
        raise InputError("keep fractions must include 1.0 (the unpruned widths)")
    return ordered


def layers_csv(model: str, space: SearchSpace, size: int) -> bytes:
    """The layer graph at the measured input size (layer-granularity plans on this profile)."""
    from cnnpc.compression import split_layer
    from cnnpc.layergraph.generate import extract_layers, to_csv
    from cnnpc.models import build_model

    keras_model = build_model(model, 1000, input_size=size)
    rows = extract_layers(keras_model, [split_layer(c) for c in space.candidates])
    return to_csv(rows).encode("utf-8")


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _keep_of(elements: int, full: int) -> float:
    """Kept fraction of a tensor's channels, from its elements (a flattened tensor too)."""
    return round(elements / full, 6)


def _elements(shape: Sequence[int]) -> int:
    return math.prod(shape)


def _tensor(name: str, shape: Sequence[int], channels: int) -> Tensor:
    """A boundary tensor as height x width x channels; a flattened one keeps its channel count
    (the candidate's) and folds its positions into the width, so elements are exact."""
    if len(shape) == 3:
        return Tensor(name, int(shape[0]), int(shape[1]), int(shape[2]))
    return Tensor(name, 1, _elements(shape) // channels, channels)


@dataclass(frozen=True)
class Cut:
    """One segment of the model at one keep fraction, as it is timed here and exported for a
    device: the Keras segment and the kept fraction of its input and output tensors."""

    keep: float
    index: int
    name: str
    segment: Any
    keep_in: float
    keep_out: float


def cut_segments(
    model: str,
    space: SearchSpace,
    *,
    image_size: int,
    keeps: Sequence[float],
    tensors: list[Tensor],
) -> Iterator[Cut]:
    """Every segment at every keep fraction (1.0 first), the one cut that `cnnpc profile` times
    and `cnnpc profile export` writes. Appends the unpruned tensors (input + one per candidate)
    to `tensors` while keep 1.0 goes by: every keep's fractions are measured from them."""
    from cnnpc.profiling._measure import pruned_segments

    cands = space.candidates
    for keep in keeps:
        fractions = {c.name: keep for c in cands if c.prunable}
        segments = pruned_segments(model, space, image_size, fractions)
        last = len(segments) - 1
        for k, segment in enumerate(segments):
            name = cands[k].name if k < last else "head"
            in_shape = tuple(int(d) for d in segment.input_shape[1:])
            out_shape = tuple(int(d) for d in segment.output_shape[1:])
            if keep == 1.0:  # 1.0 comes first: the unpruned tensors every keep is measured from
                if k == 0:
                    tensors.append(_tensor("input", in_shape, in_shape[-1]))
                if k < last:
                    tensors.append(_tensor(cands[k].name, out_shape, cands[k].channels))
            keep_in = 1.0 if k == 0 else _keep_of(_elements(in_shape), tensors[k].elements)
            keep_out = 1.0 if k == last else _keep_of(_elements(out_shape), tensors[k + 1].elements)
            yield Cut(keep, k, name, segment, keep_in, keep_out)


def measure_segments(
    model: str,
    space: SearchSpace,
    *,
    image_size: int,
    keeps: Sequence[float],
    repeats: int,
    warmup: int,
    threads: int,
    formats: dict[str, str],
    progress: Progress | None = None,
) -> tuple[list[Measurement], list[Tensor]]:
    """Time every segment at every keep fraction on each tier's format.

    Returns the measurements and the unpruned tensors (input + one per candidate). Tiers that
    share a format share one timing: on this host they are the same run.
    """
    from cnnpc.profiling._measure import segment_shape, time_tflite, to_tflite

    rows: list[Measurement] = []
    tensors: list[Tensor] = []
    for cut in cut_segments(model, space, image_size=image_size, keeps=keeps, tensors=tensors):
        timings = {}
        shapes = {}
        for fmt in dict.fromkeys(formats.values()):
            shapes[fmt] = segment_shape(cut.segment, fmt)
            timings[fmt] = time_tflite(to_tflite(cut.segment, fmt), repeats, warmup, threads)
        for tier in TIERS:
            fmt = formats[tier]
            s, t = shapes[fmt], timings[fmt]
            rows.append(
                Measurement(
                    segment=cut.index,
                    name=cut.name,
                    tier=tier,
                    format=fmt,
                    keep=cut.keep,
                    keep_in=cut.keep_in,
                    keep_out=cut.keep_out,
                    in_channels=s.in_channels,
                    out_channels=s.out_channels,
                    flops=s.flops,
                    params=s.params,
                    in_bytes=s.in_bytes,
                    out_bytes=s.out_bytes,
                    median_ms=t.median_ms,
                    p10_ms=t.p10_ms,
                    p90_ms=t.p90_ms,
                )
            )
        if progress is not None:
            times = ", ".join(f"{f} {timings[f].median_ms:.4f} ms" for f in timings)
            progress(f"keep {cut.keep:g}: segment {cut.index} ({cut.name}): {times}")
    return rows, tensors


def check_size(model: str, image_size: int | None) -> int:
    """The input size to profile at: the model's training size by default, at least 8 px."""
    from cnnpc.models import model_spec

    size = model_spec(model).train_size if image_size is None else image_size
    if size < 8:
        raise InputError(f"image size must be at least 8 pixels, got {size}")
    return size


def check_server_format(server_format: str) -> str:
    from cnnpc.profiling._measure import FORMATS

    if server_format not in FORMATS:
        raise InputError(f"unknown format {server_format!r} (valid: {', '.join(FORMATS)})")
    return server_format


def profile_host(
    model: str,
    *,
    device: str = "host",
    image_size: int | None = None,
    repeats: int = 50,
    warmup: int = 5,
    threads: int = 1,
    keeps: Sequence[float] = DEFAULT_KEEPS,
    server_format: str = "int8",
    out: str | Path | None = None,
    progress: Progress | None = None,
    as_tier: str | None = None,
) -> dict[str, Any]:
    """Measure `model` on this machine and write ``<out>/<model>/`` (see the package docs).

    Returns the report also stored in meta.yaml: where it was written, per-segment unpruned
    times, and the held-out error of the regressors.
    """
    from cnnpc.models import model_spec

    space = load_space(model)
    spec = model_spec(model)
    check_new_device(model, device)
    check_server_format(server_format)
    size = check_size(model, image_size)
    if as_tier is not None and as_tier not in TIERS:
        raise InputError(f"--as-tier must be one of {', '.join(TIERS)}, got {as_tier!r}")
    if repeats < 1 or warmup < 0 or threads < 1:
        raise InputError("repeats and threads must be >= 1, warm-up >= 0")
    ordered = check_keeps(keeps)
    folder = check_output_folder(output_folder(model, out), device)
    formats = {"end": "int8", "edge": server_format, "cloud": server_format}

    rows, tensors = measure_segments(
        model,
        space,
        image_size=size,
        keeps=ordered,
        repeats=repeats,
        warmup=warmup,
        threads=threads,
        formats=formats,
        progress=progress,
    )
    report = evaluate(rows)
    unpruned = [r for r in rows if r.keep == 1.0]
    names = [r.name for r in unpruned if r.tier == "end"]
    times = {t: [r.median_ms for r in unpruned if r.tier == t] for t in TIERS}
    tensors_csv = tensors_bytes(tensors)
    check_tensors_compatible(folder, tensors_csv, device)

    from cnnpc._keras import tf

    meta: dict[str, Any] = {
        "model": model,
        "description": f"{spec.description}, timed on this machine",
        "source": SOURCE,
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "image_size": size,
        "input_shape": [size, size, 3],
        "bytes_per_element": 1,
        "source_mbit_bits": 1_000_000,
        "units": {"time": "ms", "tensor": "elements"},
        "devices": {
            device: "this machine plays every tier (LiteRT interpreter)"
            if as_tier is None
            else f"this machine measured as the {as_tier} tier (cnnpc profile import --{as_tier})"
        },
        "as_tier": {} if as_tier is None else {device: as_tier},
        "runtime": "ai_edge_litert.interpreter.Interpreter",
        "litert_version": litert_version(),
        "formats": formats,
        "repeats": repeats,
        "warmup": warmup,
        "threads": threads,
        "keep_fractions": list(ordered),
        "tf_version": str(tf.__version__),
        "cpu": _cpu_name(),
        "regressor": {
            "features": list(FEATURES),
            "chosen": {t: v["chosen"] for t, v in report["tiers"].items()},
            "heldout": report,
        },
    }
    write_folder(
        folder,
        {
            f"{device}{MEASUREMENTS_SUFFIX}.csv": measurements_bytes(rows),
            f"{device}.csv": segments_bytes(names, times),
            "tensors.csv": tensors_csv,
            "meta.yaml": meta_bytes(meta),
            "layers.csv": layers_csv(model, space, size),
        },
    )
    load_profile_dir(folder, device, space, label=str(folder))  # what we wrote must load
    return {
        "model": model,
        "device": device,
        "folder": str(folder),
        "image_size": size,
        "repeats": repeats,
        "threads": threads,
        "formats": formats,
        "keep_fractions": list(ordered),
        "segments": [
            {"segment": i, "name": n, **{f"{t}_ms": times[t][i] for t in TIERS}}
            for i, n in enumerate(names)
        ],
        "regressor": meta["regressor"],
    }
