"""Read and validate profile folders: meta.yaml, tensors.csv and one <device>.csv per end device."""

from __future__ import annotations

import csv
import dataclasses
import io
import math
import os
import warnings
from collections.abc import Mapping
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import yaml

from cnnpc._files import MiB, ReadError, read_input_text
from cnnpc._resources import available_models, model_dir, shipped_models
from cnnpc.errors import ProfileError, StandInNote, first_line
from cnnpc.profiles._power import POWER_SUFFIX, PowerFigures, power_file, read_power
from cnnpc.profiles._schema import Profile, Segment, Tensor
from cnnpc.spaces import SearchSpace, load_space

TENSOR_COLUMNS = ("boundary", "name", "height", "width", "channels", "elements")
SEGMENT_COLUMNS = ("segment", "name", "end_ms", "edge_ms", "cloud_ms")
MEMORY_COLUMN = "end_memory_mb"
"""Optional column of <device>.csv: the end device's measured memory per segment (MB, empty
where not measured; `cnnpc profile import` writes it when the results carry it)."""
# params.csv: parameters per segment (upload-plan); layers.csv: the layer graph (_layers)
_NOT_DEVICES = {"tensors", "params", "layers"}
_NOT_DEVICE_SUFFIX = "_measurements"  # raw timings beside a measured profile (cnnpc profile)
MAX_TABLE_BYTES = 64 * MiB
"""The largest CSV table cnnpc reads (100,000 accuracy rows take about 10 MB)."""
PROFILES_ENV = "CNNPC_PROFILES"
"""Environment variable: folder(s) of user profiles (os.pathsep-separated), searched first."""


def read_csv_rows(
    resource: Traversable | Path, label: str, required: tuple[str, ...]
) -> list[dict[str, str]]:
    """The data rows of a CSV with at least the `required` columns; one-line errors name the
    file (`label`) and row (every table cnnpc reads goes through here)."""
    if isinstance(resource, Path):
        try:
            text = read_input_text(resource, label, MAX_TABLE_BYTES)
        except ReadError as exc:
            raise ProfileError(str(exc)) from None
    elif not resource.is_file():
        raise ProfileError(f"{label}: file not found")
    else:
        try:
            text = resource.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ProfileError(f"{label}: cannot read: {exc}") from None
    try:
        return _parse_rows(text, label, required)
    except csv.Error as exc:  # a field over the csv module's limit, a NUL byte, a stray quote
        raise ProfileError(f"{label}: not a CSV table: {first_line(exc)}") from None


def _parse_rows(text: str, label: str, required: tuple[str, ...]) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text))
    header = [c.strip() for c in reader.fieldnames or []]
    repeated = sorted({c for c in header if header.count(c) > 1})
    if repeated:  # a dict row would keep only the last of them, silently
        raise ProfileError(f"{label}: header: column(s) {', '.join(repeated)} given twice")
    reader.fieldnames = header
    missing = [c for c in required if c not in header]
    if missing:
        raise ProfileError(f"{label}: header: missing column(s) {', '.join(missing)}")
    rows = list(reader)
    if not rows:
        raise ProfileError(f"{label}: no data rows")
    for i, row in enumerate(rows):
        if None in row or any(v is None for v in row.values()):  # extra or missing fields
            raise ProfileError(
                f"{label}: row {i}: wrong number of fields (the header has {len(header)})"
            )
    return rows


def _number(label: str, i: int, column: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise ProfileError(
            f"{label}: row {i}, column {column}: must be a finite number >= 0, got {text!r}"
        )
    return value


def _count(label: str, i: int, column: str, text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise ProfileError(
            f"{label}: row {i}, column {column}: must be a positive integer, got {text!r}"
        )
    return value


def _read_tensors(folder: Traversable | Path, label: str) -> list[Tensor]:
    where = f"{label}/tensors.csv"
    rows = read_csv_rows(folder / "tensors.csv", where, TENSOR_COLUMNS)
    tensors: list[Tensor] = []
    for i, row in enumerate(rows):
        if row["boundary"].strip() != str(i):
            raise ProfileError(
                f"{where}: row {i}, column boundary: expected {i}, got {row['boundary']!r}"
            )
        t = Tensor(
            name=row["name"].strip(),
            height=_count(where, i, "height", row["height"]),
            width=_count(where, i, "width", row["width"]),
            channels=_count(where, i, "channels", row["channels"]),
        )
        if _count(where, i, "elements", row["elements"]) != t.elements:
            raise ProfileError(
                f"{where}: row {i}, column elements: {row['elements']} != height*width*channels "
                f"= {t.elements}"
            )
        tensors.append(t)
    return tensors


def _read_segments(resource: Traversable | Path, label: str) -> list[Segment]:
    rows = read_csv_rows(resource, label, SEGMENT_COLUMNS)
    segments: list[Segment] = []
    for i, row in enumerate(rows):
        if row["segment"].strip() != str(i):
            raise ProfileError(
                f"{label}: row {i}, column segment: expected {i}, got {row['segment']!r}"
            )
        times = {c: _number(label, i, c, row[c]) for c in ("end_ms", "edge_ms", "cloud_ms")}
        memory = (row.get(MEMORY_COLUMN) or "").strip()
        mb = _number(label, i, MEMORY_COLUMN, memory) if memory else None
        segments.append(Segment(name=row["name"].strip(), **times, end_memory_mb=mb))
    return segments


def _read_meta(folder: Traversable | Path, label: str) -> Mapping[str, Any]:
    resource = folder / "meta.yaml"
    if not resource.is_file():
        raise ProfileError(f"{label}/meta.yaml: file not found")
    try:
        meta = yaml.safe_load(resource.read_text(encoding="utf-8"))
    except yaml.YAMLError:
        raise ProfileError(f"{label}/meta.yaml: not valid YAML") from None
    if not isinstance(meta, Mapping):
        raise ProfileError(f"{label}/meta.yaml: must be a mapping")
    for key in ("bytes_per_element", "source_mbit_bits"):
        value = meta.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            raise ProfileError(
                f"{label}/meta.yaml: {key}: must be a positive number, got {value!r}"
            )
    return meta


def _check_against_space(
    space: SearchSpace, tensors: list[Tensor], segs: list[Segment], label: str
) -> None:
    n_cand = len(space.candidates)
    if len(tensors) != n_cand + 1:
        raise ProfileError(
            f"{label}/tensors.csv: {len(tensors)} rows, but the search space has {n_cand} "
            f"candidates (expected input + {n_cand} = {n_cand + 1} rows)"
        )
    if len(segs) != n_cand + 1:
        raise ProfileError(
            f"{label}: {len(segs)} segments, but the search space has {n_cand} candidates "
            f"(expected {n_cand + 1} segments)"
        )
    for i, (cand, tensor) in enumerate(zip(space.candidates, tensors[1:], strict=True), start=1):
        if cand.name != tensor.name:
            raise ProfileError(
                f"{label}/tensors.csv: row {i}, column name: {tensor.name!r} but the search space "
                f"calls candidate {i - 1} {cand.name!r}"
            )
        if cand.channels != tensor.channels:
            raise ProfileError(
                f"{label}/tensors.csv: row {i}, column channels: {tensor.channels} but the search "
                f"space gives {cand.name} {cand.channels} channels"
            )


def device_names(folder: Traversable | Path) -> list[str]:
    """End devices profiled in a profile folder (one CSV each)."""
    names = (p.name.removesuffix(".csv") for p in folder.iterdir() if p.name.endswith(".csv"))
    return sorted(n for n in names if n not in _NOT_DEVICES and not n.endswith(_NOT_DEVICE_SUFFIX))


def user_profile_roots() -> list[Path]:
    """Folders of user profiles (``<root>/<model>/``): $CNNPC_PROFILES, then ./results/profiles.

    Profiles measured or imported on this machine live outside the package, so an installed
    cnnpc is never written to; the shipped profiles are searched before these.
    """
    env = os.environ.get(PROFILES_ENV, "")
    roots = [Path(p) for p in env.split(os.pathsep) if p.strip()]
    roots.append(Path.cwd() / "results" / "profiles")
    return roots


def default_user_root() -> Path:
    """Where new user profiles go unless told otherwise: the first of `user_profile_roots`."""
    return user_profile_roots()[0]


def user_folders(model: str) -> list[Path]:
    return [root / model for root in user_profile_roots() if (root / model).is_dir()]


def load_profile_dir(
    folder: Traversable | Path, device: str, space: SearchSpace, label: str | None = None
) -> Profile:
    """Load and validate `device` from a profile folder against `space`."""
    label = label or str(folder)
    devices = device_names(folder) if folder.is_dir() else []
    match = [d for d in devices if d.lower() == device.lower()]
    if not match:
        valid = ", ".join(devices) or "none"
        raise ProfileError(f"unknown device {device!r} for model {space.model!r} (valid: {valid})")
    device = match[0]
    meta = _read_meta(folder, label)
    tensors = _read_tensors(folder, label)
    segments = _read_segments(folder / f"{device}.csv", f"{label}/{device}.csv")
    _check_against_space(space, tensors, segments, label)
    profile = Profile(
        model=space.model,
        device=device,
        space=space,
        input=tensors[0],
        candidates=tuple(tensors[1:]),
        segments=tuple(segments),
        bytes_per_element=float(meta["bytes_per_element"]),
        source_mbit_bits=float(meta["source_mbit_bits"]),
        source=str(meta.get("source", "")).strip(),
        stand_in=_stand_in(meta, device),
        power=read_power(power_file(folder, device), f"{label}/{device}{POWER_SUFFIX}"),
    )
    if profile.stand_in:  # every output that uses it says so (the CLI prints it on stderr)
        warnings.warn(f"device {device} is a {profile.stand_in}", StandInNote, stacklevel=2)
    return profile


def _stand_in(meta: Mapping[str, Any], device: str) -> str:
    notes = meta.get("stand_in")
    return str(notes.get(device, "")) if isinstance(notes, Mapping) else ""


def load_profile(model: str, device: str) -> Profile:
    """Load the profile of `model` on end device `device`, with its search space.

    Shipped devices come first; then user profile folders (see `user_profile_roots`), so a
    profile written by ``cnnpc profile`` or ``cnnpc profile import`` is found by name.
    """
    space = load_space(model)
    folder = model_dir(model)
    if folder is None or not folder.is_dir():
        valid = ", ".join(available_models()) or "none"
        raise ProfileError(f"unknown model {model!r} (valid: {valid})")
    label = f"model_profiles/{model}" if model in shipped_models() else str(folder)
    shipped = device_names(folder)
    if any(d.lower() == device.lower() for d in shipped):
        return _with_user_power(load_profile_dir(folder, device, space, label=label))
    known = list(shipped)
    for user in user_folders(model):
        devices = device_names(user)
        if any(d.lower() == device.lower() for d in devices):
            return _with_user_power(load_profile_dir(user, device, space, label=str(user)))
        known.extend(d for d in devices if d not in known)
    raise ProfileError(
        f"unknown device {device!r} for model {model!r} (valid: {', '.join(known) or 'none'})"
    )


def user_power(model: str, device: str) -> tuple[Path, PowerFigures] | None:
    """The first power file of `device` in the user profile roots, with its figures (it
    overrides the figures beside the device's table, so a shipped profile can get some)."""
    for user in user_folders(model):
        path = Path(str(power_file(user, device)))
        figures = read_power(path, str(path))
        if figures is not None:
            return path, figures
    return None


def _with_user_power(profile: Profile) -> Profile:
    found = user_power(profile.model, profile.device)
    return profile if found is None else dataclasses.replace(profile, power=found[1])


def user_profiles() -> dict[str, list[str]]:
    """Devices found in user profile folders, per model (shipped names excluded)."""
    found: dict[str, list[str]] = {}
    for model in available_models():
        folder = model_dir(model)
        shipped = {d.lower() for d in device_names(folder)} if folder is not None else set()
        names: list[str] = []
        for user in user_folders(model):
            names.extend(
                d for d in device_names(user) if d.lower() not in shipped and d not in names
            )
        if names:
            found[model] = names
    return found


def model_tensors(model: str) -> tuple[Tensor, ...]:
    """The input and the candidate tensors of `model` (its tensors.csv), with no device needed."""
    folder = model_dir(model)
    if folder is None or not folder.is_dir():
        valid = ", ".join(available_models()) or "none"
        raise ProfileError(f"unknown model {model!r} (valid: {valid})")
    label = f"model_profiles/{model}" if model in shipped_models() else str(folder)
    return tuple(_read_tensors(folder, label))


def list_profiles() -> dict[str, list[str]]:
    """Every shipped model with its end devices."""
    found: dict[str, list[str]] = {}
    for model in available_models():
        folder = model_dir(model)
        found[model] = device_names(folder) if folder is not None else []
    return found
