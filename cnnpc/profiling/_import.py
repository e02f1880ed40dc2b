"""`cnnpc profile import`: per-segment times measured elsewhere, into a user profile folder.

Two sources: CNNPC's own layout, a numpy array of shape (segments, 3) with end, edge and cloud ms
per row (its repository keeps ``R-C-Time/<model>/TR-<device>/T_R.npy``), or a CSV with columns
``end_ms, edge_ms, cloud_ms`` (and optionally ``segment`` or ``row``, which must count from 0).
Tensors and meta come from the shipped profile of the model (CNNPC's tables are at 224x224).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cnnpc._resources import data_root
from cnnpc.errors import InputError, ProfileError
from cnnpc.profiles import TIERS, list_profiles, load_profile, load_profile_dir
from cnnpc.profiling._run import check_new_device
from cnnpc.profiling._store import (
    check_output_folder,
    check_tensors_compatible,
    meta_bytes,
    output_folder,
    read_meta,
    segments_bytes,
    write_folder,
)
from cnnpc.spaces import load_space

COLUMNS = tuple(f"{t}_ms" for t in TIERS)


def _check_value(label: str, i: int, column: str, value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number) or number <= 0:
        raise ProfileError(
            f"{label}: row {i}, column {column}: must be a finite number > 0, got {value!r}"
        )
    return number


def find_npy(path: Path, model: str, device: str) -> Path:
    """A .npy file, or CNNPC's T_R.npy under `path` (``T_R.npy``, ``TR-<device>/``, ...)."""
    if path.is_file():
        return path
    tried = [
        path / "T_R.npy",
        path / f"TR-{device}" / "T_R.npy",
        path / model / f"TR-{device}" / "T_R.npy",
        path / "R-C-Time" / model / f"TR-{device}" / "T_R.npy",
    ]
    for candidate in tried:
        if candidate.is_file():
            return candidate
    raise InputError(f"{path}: no T_R.npy found (looked for {', '.join(map(str, tried))})")


def read_npy(path: Path, n_segments: int, model: str) -> list[list[float]]:
    """Rows of end/edge/cloud ms from a (segments, 3) numpy array."""
    import numpy as np

    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise ProfileError(f"{path}: not a numpy .npy array: {exc}") from None
    if array.ndim != 2 or array.shape != (n_segments, len(TIERS)):
        raise ProfileError(
            f"{path}: shape {tuple(array.shape)}, expected ({n_segments}, {len(TIERS)}): one row "
            f"per segment of {model}'s search space, columns end, edge, cloud ms"
        )
    return [
        [_check_value(str(path), i, c, array[i, j]) for j, c in enumerate(COLUMNS)]
        for i in range(n_segments)
    ]


def read_times_csv(path: Path, n_segments: int, model: str) -> list[list[float]]:
    """Rows of end/edge/cloud ms from a CSV (ours, or the reference tables' ``row,...``)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read: {exc}") from None
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise ProfileError(f"{path}: header: missing column(s) {', '.join(missing)}")
    index = next((c for c in ("segment", "row") if c in header), None)
    rows = [{(k or "").strip(): v for k, v in raw.items()} for raw in reader]
    if len(rows) != n_segments:
        raise ProfileError(
            f"{path}: {len(rows)} data rows, expected {n_segments} (the segments of {model}'s "
            "search space)"
        )
    out = []
    for i, row in enumerate(rows):
        if None in row or any(row.get(c) is None for c in header):
            raise ProfileError(f"{path}: row {i}: wrong number of fields")
        if index is not None and (row[index] or "").strip() != str(i):
            raise ProfileError(f"{path}: row {i}, column {index}: expected {i}, got {row[index]!r}")
        out.append([_check_value(str(path), i, c, (row[c] or "").strip()) for c in COLUMNS])
    return out


def import_profile(
    model: str,
    device: str,
    *,
    cnnpc_npy: str | Path | None = None,
    csv_path: str | Path | None = None,
    out: str | Path | None = None,
) -> dict[str, Any]:
    """Validate times measured elsewhere; write ``<out>/<model>/<device>.csv``, tensors, meta."""
    if (cnnpc_npy is None) == (csv_path is None):
        raise InputError("give exactly one of --cnnpc-npy DIR and --csv FILE")
    space = load_space(model)
    check_new_device(model, device)
    names = segment_names(model)
    n = len(space.candidates) + 1
    if cnnpc_npy is not None:
        source = find_npy(Path(cnnpc_npy), model, device)
        values = read_npy(source, n, model)
    else:
        source = Path(str(csv_path))
        values = read_times_csv(source, n, model)

    shipped = data_root("model_profiles") / model
    tensors_csv = shipped.joinpath("tensors.csv").read_bytes()
    folder = check_output_folder(output_folder(model, out), device)
    check_tensors_compatible(folder, tensors_csv, device)
    if (folder / "meta.yaml").is_file() and (folder / "tensors.csv").is_file():
        meta = read_meta(folder)
    else:
        import yaml

        meta = yaml.safe_load(shipped.joinpath("meta.yaml").read_text(encoding="utf-8"))
        meta["devices"] = {}
    imported = dict(meta.get("imported") or {})
    imported[device] = {
        "from": str(source.resolve()),
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    meta["imported"] = imported
    devices = dict(meta.get("devices") or {})
    devices[device] = f"imported from {source.name}"
    meta["devices"] = devices
    times = {t: [row[j] for row in values] for j, t in enumerate(TIERS)}
    write_folder(
        folder,
        {f"{device}.csv": segments_bytes(names, times), "tensors.csv": tensors_csv}
        | {"meta.yaml": meta_bytes(meta)},
    )
    profile = load_profile_dir(folder, device, space, label=str(folder))
    return {
        "model": model,
        "device": profile.device,
        "folder": str(folder),
        "source": str(source),
        "segments": [
            {"segment": i, "name": s.name, **{f"{t}_ms": s.on(t) for t in TIERS}}
            for i, s in enumerate(profile.segments)
        ],
        "totals": {f"{t}_ms": profile.tier_total(t) for t in TIERS},
    }


def segment_names(model: str) -> Sequence[str]:
    """Segment names of `model` as the shipped profiles call them."""
    shipped_device = list_profiles()[model][0]
    return [s.name for s in load_profile(model, shipped_device).segments]
