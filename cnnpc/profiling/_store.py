"""User profile folders on disk: measured timings, tensors and meta, written atomically.

A measured profile has the shipped layout (meta.yaml, tensors.csv, <device>.csv) so the
profiles loader reads it unchanged, plus ``<device>_measurements.csv``: one row per (segment,
tier, keep fraction) with the features the cost regressor is fitted on. Every file is written to
a temporary file and renamed, so an interrupted run leaves the previous version or nothing.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import yaml

from cnnpc._files import check_files_in, make_folder, read_input, read_input_text, write_files
from cnnpc.errors import InputError, ProfileError
from cnnpc.profiles import (
    MAX_TABLE_BYTES,
    MEMORY_COLUMN,
    SEGMENT_COLUMNS,
    TENSOR_COLUMNS,
    TIERS,
    Tensor,
    default_user_root,
    read_csv_rows,
    user_profile_roots,
)

HOST_DEVICE = "host"
MEASUREMENTS_SUFFIX = "_measurements"
_DEVICE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MIN_SEGMENT_MS = 1e-6
MAX_SEGMENT_MS = 1e7
"""A segment's time on a tier, in ms: from a nanosecond to almost three hours. Outside it a
value is a unit or scaling mistake, and sums of such times overflow the planner's arithmetic."""


@dataclass(frozen=True)
class Measurement:
    """Median run time of one segment on one tier at one keep fraction, with its features."""

    segment: int
    name: str
    tier: str
    format: str
    keep: float
    keep_in: float
    keep_out: float
    in_channels: int
    out_channels: int
    flops: int
    params: int
    in_bytes: int
    out_bytes: int
    median_ms: float
    p10_ms: float
    p90_ms: float


MEASUREMENT_COLUMNS = tuple(f.name for f in fields(Measurement))
_INT_COLUMNS = {
    "segment",
    "in_channels",
    "out_channels",
    "flops",
    "params",
    "in_bytes",
    "out_bytes",
}
_FLOAT_COLUMNS = {"keep", "keep_in", "keep_out", "median_ms", "p10_ms", "p90_ms"}


def check_device_name(device: str) -> str:
    """A device name that is safe as a file name (letters, digits, ``_.-``)."""
    if not _DEVICE_NAME.match(device) or device.endswith(MEASUREMENTS_SUFFIX):
        raise InputError(
            f"device name {device!r} must be 1-64 letters, digits, '_', '.' or '-' "
            f"(not ending in {MEASUREMENTS_SUFFIX!r})"
        )
    if device.lower() in ("tensors", "layers", "params", "meta"):
        raise InputError(f"device name {device!r} is reserved")
    return device


def output_folder(model: str, out: str | Path | None) -> Path:
    """``<out>/<model>`` (default root: $CNNPC_PROFILES, else ./results/profiles)."""
    root = default_user_root() if out is None else Path(out)
    return root / model


def find_user_folder(model: str, device: str, profile_dir: str | Path | None) -> Path | None:
    """The user folder holding `<device>_measurements.csv` for `model` (first root that has it).

    `profile_dir` may name the model folder itself or a root that contains ``<model>/``.
    """
    if profile_dir is not None:
        candidates = [Path(profile_dir), Path(profile_dir) / model]
    else:
        candidates = [root / model for root in user_profile_roots()]
    for folder in candidates:
        if (folder / f"{device}{MEASUREMENTS_SUFFIX}.csv").is_file():
            return folder
    return None


def _csv_bytes(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode()


def _ms(value: float) -> str:
    return f"{value:.6g}"


def tensors_bytes(tensors: Sequence[Tensor]) -> bytes:
    """tensors.csv: boundary 0 is the input, then one row per candidate."""
    rows = [(i, t.name, t.height, t.width, t.channels, t.elements) for i, t in enumerate(tensors)]
    return _csv_bytes(TENSOR_COLUMNS, rows)


def segments_bytes(
    names: Sequence[str],
    times: Mapping[str, Sequence[float]],
    memory: Sequence[float | None] = (),
) -> bytes:
    """<device>.csv: per segment, the time on each tier, and the end device's memory when any
    segment's was measured (an empty cell where not)."""
    rows = [(i, name, *(_ms(times[tier][i]) for tier in TIERS)) for i, name in enumerate(names)]
    if not any(m is not None for m in memory):
        return _csv_bytes(SEGMENT_COLUMNS, rows)
    cells = ["" if m is None else _ms(m) for m in memory]
    return _csv_bytes(
        (*SEGMENT_COLUMNS, MEMORY_COLUMN), [(*r, c) for r, c in zip(rows, cells, strict=True)]
    )


def measurements_bytes(rows: Sequence[Measurement]) -> bytes:
    def cells(m: Measurement) -> list[object]:
        values = asdict(m)
        return [
            _ms(values[c]) if isinstance(values[c], float) else values[c]
            for c in MEASUREMENT_COLUMNS
        ]

    return _csv_bytes(MEASUREMENT_COLUMNS, [cells(m) for m in rows])


def meta_bytes(meta: Mapping[str, Any]) -> bytes:
    return yaml.safe_dump(dict(meta), sort_keys=False, allow_unicode=True).encode()


def check_output_folder(folder: Path, device: str) -> Path:
    """Refuse, before any measuring, a profile folder whose files cannot be written."""
    names = (
        f"{device}{MEASUREMENTS_SUFFIX}.csv",
        f"{device}.csv",
        "tensors.csv",
        "layers.csv",
        "meta.yaml",
    )
    return check_files_in(folder, names)


def write_folder(folder: Path, files: Mapping[str, bytes]) -> list[Path]:
    """Write every file of `files` into `folder`, all or nothing, meta.yaml renamed last.

    The data files go first so that a folder whose meta.yaml is new is complete.
    """
    make_folder(folder)
    order = sorted(files, key=lambda name: name == "meta.yaml")
    return write_files({folder / name: files[name] for name in order})


def remove_stale(folder: Path, device: str, *, tensors_changed: bool) -> None:
    """After an import replaced `device`'s times: drop its measurements (the cost regressor
    would be fitted on another profile's timings) and, when the tensors changed, the layer
    graph measured at the old input size."""
    stale = [folder / f"{device}{MEASUREMENTS_SUFFIX}.csv"]
    if tensors_changed:
        stale.append(folder / "layers.csv")
    for path in stale:
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            raise ProfileError(f"cannot remove the stale {path}: {exc.strerror}") from None


def check_tensors_compatible(folder: Path, new: bytes, what: str) -> bool:
    """Refuse to replace a folder's tensors.csv that other devices' files (not `what`'s) use;
    True when the folder has a tensors.csv that `new` changes."""
    path = folder / "tensors.csv"
    if not path.is_file():
        return False
    old = read_input(path, str(path), MAX_TABLE_BYTES)
    if old.replace(b"\r\n", b"\n").strip() == new.replace(b"\r\n", b"\n").strip():
        return False
    own = {"tensors.csv", "layers.csv", f"{what}.csv", f"{what}{MEASUREMENTS_SUFFIX}.csv"}
    others = [p.name for p in folder.glob("*.csv") if p.name not in own]
    if others:
        raise InputError(
            f"{folder}: holds {', '.join(sorted(others))} measured with other tensor sizes; "
            "write this profile elsewhere with --out DIR"
        )
    return True


def check_times(times: Mapping[str, Sequence[float]], names: Sequence[str], what: str) -> None:
    """Every time finite and within [MIN_SEGMENT_MS, MAX_SEGMENT_MS], before anything is
    written: a profile the loader would refuse must never land (`what` names the source)."""
    for tier in TIERS:
        for name, ms in zip(names, times[tier], strict=True):
            if not (math.isfinite(ms) and MIN_SEGMENT_MS <= ms <= MAX_SEGMENT_MS):
                raise InputError(
                    f"{what}: {name} on the {tier} tier would take {ms:g} ms; a segment's time "
                    f"must be from {MIN_SEGMENT_MS:g} to {MAX_SEGMENT_MS:g} ms"
                )


def check_replacing(folder: Path, device: str, force: bool) -> None:
    """A device profile already in the folder (measured or imported) is replaced only with
    --force: an import must not silently discard a measurement."""
    if force or not (folder / f"{device}.csv").exists():
        return
    raise InputError(
        f"{folder} already has a profile of device {device!r}; give --force to replace it, or "
        "another --device name"
    )


def read_measurements(path: Path) -> list[Measurement]:
    """Parse a measurements CSV; one-line errors name the file, row and column."""
    label = str(path)
    rows: list[Measurement] = []
    for i, raw in enumerate(read_csv_rows(path, label, MEASUREMENT_COLUMNS)):
        values: dict[str, Any] = {}
        for column in MEASUREMENT_COLUMNS:
            text_value = (raw.get(column) or "").strip()
            values[column] = _parse_cell(label, i, column, text_value)
        if values["tier"] not in TIERS:
            raise ProfileError(
                f"{label}: row {i}, column tier: must be one of {', '.join(TIERS)}, "
                f"got {values['tier']!r}"
            )
        rows.append(Measurement(**values))
    if not rows:
        raise ProfileError(f"{label}: no data rows")
    return rows


def _parse_cell(label: str, i: int, column: str, text: str) -> Any:
    if column in _INT_COLUMNS:
        try:
            number = int(text)
        except ValueError:
            number = -1
        if number < 0:
            raise ProfileError(
                f"{label}: row {i}, column {column}: must be an integer >= 0, got {text!r}"
            )
        return number
    if column in _FLOAT_COLUMNS:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value <= 0:
            raise ProfileError(
                f"{label}: row {i}, column {column}: must be a finite number > 0, got {text!r}"
            )
        return value
    return text


def read_meta(folder: Path) -> dict[str, Any]:
    path = folder / "meta.yaml"
    text = read_input_text(path, str(path), MAX_TABLE_BYTES)
    try:
        meta = yaml.safe_load(text)
    except yaml.YAMLError:
        raise ProfileError(f"{path}: not valid YAML") from None
    if not isinstance(meta, dict):
        raise ProfileError(f"{path}: must be a mapping")
    return meta
