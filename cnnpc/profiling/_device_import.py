"""`cnnpc profile import --end RESULTS ...`: a device profile from timings made on the device.

A tier given as an export's results (LiteRT JSON or the C++ tool's text, see `_results`) gives
that tier's unpruned segment times and one measurement row per timed file; a tier given as a
profile folder (``cnnpc profile --as-tier``) gives its times as before. Segments whose unpruned
file was not timed are priced by the cost regressor fitted on the tier's timed files (said so in
the report and the meta); more than half of an export untimed is refused. The profile is not a
stand-in: its meta says which tool timed which tier on the device.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cnnpc.errors import InputError, ProfileError
from cnnpc.profiles import TIERS, load_profile_dir
from cnnpc.profiling._assemble import TierSource, read_tier
from cnnpc.profiling._manifest import Manifest, read_manifest
from cnnpc.profiling._regressor import FEATURES, evaluate, feature_matrix, fit_regressor
from cnnpc.profiling._results import DeviceResult, is_results_folder, read_results, results_folder
from cnnpc.profiling._run import check_new_device
from cnnpc.profiling._store import (
    MEASUREMENTS_SUFFIX,
    Measurement,
    check_output_folder,
    check_replacing,
    check_tensors_compatible,
    check_times,
    measurements_bytes,
    meta_bytes,
    output_folder,
    read_meta,
    segments_bytes,
    write_folder,
)
from cnnpc.spaces import SearchSpace, load_space

SOURCE = "measured on the device by LiteRT's benchmark (cnnpc profile device / benchmark_model)"


@dataclass(frozen=True)
class DeviceTier:
    """One tier timed on the device: unpruned times per segment (some predicted) and rows."""

    tier: str
    folder: Path
    manifest: Manifest
    times: tuple[float, ...]
    filled: tuple[str, ...]
    regressor: str
    rows: tuple[Measurement, ...]
    tools: tuple[str, ...]
    tensors_csv: bytes
    layers_csv: bytes | None
    memory_mb: tuple[float | None, ...] = ()
    """Per segment: the memory its unpruned file's result measured (None: not measured)."""


def _check_export(manifest: Manifest, folder: Path, tier: str, space: SearchSpace) -> None:
    if manifest.model != space.model:
        raise InputError(f"{folder}: an export of {manifest.model}, not of {space.model}")
    server = ("edge", "cloud")
    if (tier == "end") != (manifest.tier == "end") or (tier in server) != (manifest.tier in server):
        raise InputError(f"{folder}: exported for the {manifest.tier} tier, given as --{tier}")
    names = [c.name for c in space.candidates] + ["head"]
    for f in manifest.files:
        if f.segment >= len(names) or names[f.segment] != f.name:
            raise InputError(
                f"{folder}: {f.file} is segment {f.segment} ({f.name}), not one of "
                f"{space.model}'s segments"
            )
    unpruned = {f.segment for f in manifest.files if f.keep == 1.0}
    if unpruned != set(range(len(names))):
        raise InputError(f"{folder}: the export lacks unpruned files of some segments")


def _row(
    tier: str, manifest: Manifest, file: str, ms: float, low: float, high: float
) -> Measurement:
    f = manifest.by_name()[file]
    return Measurement(
        segment=f.segment,
        name=f.name,
        tier=tier,
        format=manifest.format,
        keep=f.keep,
        keep_in=f.keep_in,
        keep_out=f.keep_out,
        in_channels=f.in_channels,
        out_channels=f.out_channels,
        flops=f.flops,
        params=f.params,
        in_bytes=f.in_bytes,
        out_bytes=f.out_bytes,
        median_ms=ms,
        p10_ms=min(low, ms),
        p90_ms=max(high, ms),
    )


def _fill(
    rows: list[Measurement], tier: str, missing: list[Measurement]
) -> tuple[list[float], str]:
    """Predicted ms of the `missing` rows from the timed `rows` of the tier: the family with
    the lowest held-out error, never ``anchored`` (the missing segments have no anchor)."""
    if len(rows) < 2:
        raise ProfileError(f"{tier} tier: fewer than 2 files timed; cannot price the rest")
    kinds = evaluate(rows)["tiers"][tier]["kinds"]
    usable = {k: v for k, v in kinds.items() if k != "anchored"}
    kind = min(usable, key=lambda k: usable[k]["mean_pct"]) if usable else "loglinear"
    fitted = fit_regressor(rows, kind)
    predicted = fitted.predict(feature_matrix(missing), [m.segment for m in missing])
    return [float(p) for p in predicted.tolist()], kind


def read_device_tier(tier: str, path: str | Path, space: SearchSpace) -> DeviceTier:
    """A tier's times from an export and its results, validated against the manifest."""
    root, results = results_folder(path)
    manifest = read_manifest(root)
    _check_export(manifest, root, tier, space)
    found: dict[str, DeviceResult] = read_results(results, manifest)
    untimed = [f for f in manifest.files if f.file not in found]
    if 2 * len(untimed) > len(manifest.files):
        raise ProfileError(
            f"{results}: only {len(found)} of the {len(manifest.files)} exported files are timed "
            "(more than half missing)"
        )
    rows = [_row(tier, manifest, r.file, r.median_ms, r.p5_ms, r.p95_ms) for r in found.values()]
    rows.sort(key=lambda m: (-m.keep, m.segment))
    n = len(space.candidates) + 1
    times: list[float] = [0.0] * n
    for m in rows:
        if m.keep == 1.0:
            times[m.segment] = m.median_ms
    missing = [_row(tier, manifest, f.file, 1.0, 1.0, 1.0) for f in untimed if f.keep == 1.0]
    kind = ""
    if missing:
        predicted, kind = _fill(rows, tier, missing)
        for m, ms in zip(missing, predicted, strict=True):
            times[m.segment] = ms
    layers = root / "layers.csv"
    memory: list[float | None] = [None] * n
    listed = manifest.by_name()
    for r in found.values():
        if listed[r.file].keep == 1.0:
            memory[listed[r.file].segment] = r.memory_mb
    return DeviceTier(
        tier=tier,
        folder=root,
        manifest=manifest,
        times=tuple(times),
        filled=tuple(m.name for m in missing),
        regressor=kind,
        rows=tuple(rows),
        tools=tuple(sorted({r.tool for r in found.values()})),
        tensors_csv=(root / "tensors.csv").read_bytes(),
        layers_csv=layers.read_bytes() if layers.is_file() else None,
        memory_mb=tuple(memory),
    )


def end_memory(source: DeviceTier | TierSource) -> tuple[float | None, ...]:
    """The end device's memory per segment from its results (a profile folder has none)."""
    return source.memory_mb if isinstance(source, DeviceTier) else ()


def _base_meta(model: str, size: int) -> dict[str, Any]:
    from cnnpc.models import model_spec

    return {
        "model": model,
        "description": f"{model_spec(model).description}, timed on the device",
        "source": SOURCE,
        "image_size": size,
        "input_shape": [size, size, 3],
        "bytes_per_element": 1,
        "source_mbit_bits": 1_000_000,
        "units": {"time": "ms", "tensor": "elements"},
        "devices": {},
    }


def import_device(
    model: str,
    device: str,
    tiers: Mapping[str, str | Path],
    *,
    out: str | Path | None = None,
    force: bool = False,
) -> dict[str, Any]:
    """Write the profile of `device` from per-tier results or profile folders (see the docs)."""
    space = load_space(model)
    check_new_device(model, device)
    missing = [t for t in TIERS if t not in tiers]
    if missing:
        raise InputError(f"give all three of --end, --edge and --cloud (missing --{missing[0]})")
    folder = check_output_folder(output_folder(model, out), device)
    check_replacing(folder, device, force)
    sources: dict[str, DeviceTier | TierSource] = {
        t: read_device_tier(t, p, space) if is_results_folder(p) else read_tier(t, p, space)
        for t, p in tiers.items()
    }
    if len({s.tensors_csv for s in sources.values()}) != 1:
        raise ProfileError(
            "the tiers were measured at different input sizes (their tensors.csv differ): "
            "export and measure every tier with the same --image-size"
        )
    names = [c.name for c in space.candidates] + ["head"]
    times = {t: list(sources[t].times) for t in TIERS}
    check_times(times, names, ", ".join(str(s.folder) for s in sources.values()))
    device_tiers = {t: s for t, s in sources.items() if isinstance(s, DeviceTier)}
    if not device_tiers:
        raise InputError("no tier is a results folder of 'cnnpc profile export'")
    tensors_csv = next(iter(sources.values())).tensors_csv
    changed = check_tensors_compatible(folder, tensors_csv, device)
    size = next(iter(device_tiers.values())).manifest.image_size
    has_meta = (
        not changed and (folder / "meta.yaml").is_file() and (folder / "tensors.csv").is_file()
    )
    meta = read_meta(folder) if has_meta else _base_meta(model, size)
    measured = {
        t: {
            "from": str(s.folder.resolve()),
            "tools": list(s.tools),
            "format": s.manifest.format,
            "files_timed": len(s.rows),
            "files_exported": len(s.manifest.files),
            "filled_by_regressor": {"segments": list(s.filled), "regressor": s.regressor}
            if s.filled
            else None,
        }
        for t, s in device_tiers.items()
    }
    origin = ", ".join(
        f"{t} measured on the device by {' and '.join(device_tiers[t].tools)}"
        if t in device_tiers
        else f"{t} from {sources[t].folder}"
        for t in TIERS
    )
    meta["devices"] = dict(meta.get("devices") or {}) | {device: origin}
    meta["device_measured"] = dict(meta.get("device_measured") or {}) | {
        device: {"date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), **measured}
    }
    stand_in = {d: n for d, n in dict(meta.get("stand_in") or {}).items() if d != device}
    meta.pop("stand_in", None)
    if stand_in:
        meta["stand_in"] = stand_in
    if not has_meta:
        meta["regressor"] = {
            "features": list(FEATURES),
            "chosen": {t: s.regressor or "anchored" for t, s in device_tiers.items()},
        }
    rows = [m for s in device_tiers.values() for m in s.rows]
    files = {
        f"{device}.csv": segments_bytes(names, times, end_memory(sources["end"])),
        f"{device}{MEASUREMENTS_SUFFIX}.csv": measurements_bytes(rows),
        "tensors.csv": tensors_csv,
        "meta.yaml": meta_bytes(meta),
    }
    layers = next((s.layers_csv for s in device_tiers.values() if s.layers_csv), None)
    if layers is not None:
        files["layers.csv"] = layers
    write_folder(folder, files)
    profile = load_profile_dir(folder, device, space, label=str(folder))
    notes = [
        f"{t} tier: {', '.join(s.filled)} not timed; filled by the {s.regressor} regressor "
        f"fitted on the {len(s.rows)} timed files"
        for t, s in device_tiers.items()
        if s.filled
    ]
    return {
        "model": model,
        "device": profile.device,
        "folder": str(folder),
        "source": origin,
        "stand_in": profile.stand_in,
        "measured": measured,
        "notes": notes,
        "segments": [
            {"segment": i, "name": s.name, **{f"{t}_ms": s.on(t) for t in TIERS}}
            for i, s in enumerate(profile.segments)
        ],
        "totals": {f"{t}_ms": profile.tier_total(t) for t in TIERS},
    }
