"""`cnnpc profile import`: per-segment times measured elsewhere, into a user profile folder.

Two sources: CNNPC's own layout, a numpy array of shape (segments, 3) with end, edge and cloud ms
per row (its repository keeps ``R-C-Time/<model>/TR-<device>/T_R.npy``), or a CSV with columns
``end_ms, edge_ms, cloud_ms`` (and optionally ``segment`` or ``row``, which must count from 0).
Tensors and meta come from the shipped profile of the model (CNNPC's tables are at 224x224).
"""

from __future__ import annotations

import datetime as dt
import io
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cnnpc._files import MiB, check_input_file, read_input
from cnnpc._resources import model_file
from cnnpc.errors import InputError, ProfileError, first_line
from cnnpc.profiles import TIERS, load_profile_dir, read_csv_rows
from cnnpc.profiling._assemble import assemble, read_tier, scaled, stand_in_note
from cnnpc.profiling._device_import import import_device
from cnnpc.profiling._results import is_results_folder
from cnnpc.profiling._run import check_new_device
from cnnpc.profiling._store import (
    check_output_folder,
    check_replacing,
    check_tensors_compatible,
    check_times,
    meta_bytes,
    output_folder,
    read_meta,
    remove_stale,
    segments_bytes,
    write_folder,
)
from cnnpc.spaces import load_space

COLUMNS = tuple(f"{t}_ms" for t in TIERS)
MAX_NPY_BYTES = 1 * MiB
"""A (segments, 3) array of float64 is a few KiB."""
_NPY_MAGIC = b"\x93NUMPY"


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
    if path.exists() and not path.is_dir():  # a file: a FIFO or a device is one line
        return check_input_file(path, str(path), MAX_NPY_BYTES)
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

    data = read_input(path, str(path), MAX_NPY_BYTES)
    if not data.startswith(_NPY_MAGIC):  # np.load would also take a zip (.npz) or a pickle
        why = "the file is empty" if not data else "no .npy header"
        raise ProfileError(f"{path}: not a numpy .npy array: {why}")
    try:
        array = np.load(io.BytesIO(data), allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise ProfileError(f"{path}: not a numpy .npy array: {first_line(exc)}") from None
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
    rows = read_csv_rows(path, str(path), COLUMNS)
    index = next((c for c in ("segment", "row") if c in rows[0]), None)
    if len(rows) != n_segments:
        raise ProfileError(
            f"{path}: {len(rows)} data rows, expected {n_segments} (the segments of {model}'s "
            "search space)"
        )
    out = []
    for i, row in enumerate(rows):
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
    tiers: Mapping[str, str | Path] | None = None,
    scale_from: str | Path | None = None,
    tier_scale: Mapping[str, float] | None = None,
    out: str | Path | None = None,
    force: bool = False,
) -> dict[str, Any]:
    """Validate times measured elsewhere; write ``<out>/<model>/<device>.csv``, tensors, meta.

    Sources (exactly one): CNNPC's .npy, a CSV, one profile folder per tier (`tiers`), or one
    profile folder scaled per tier (`scale_from` + `tier_scale`: a labelled stand-in).
    An existing profile of `device` in that folder is replaced only with `force` (its
    measurements file goes too: they no longer describe the profile).
    """
    given = [cnnpc_npy is not None, csv_path is not None, bool(tiers), scale_from is not None]
    if sum(given) != 1:
        raise InputError(
            "give exactly one source: --cnnpc-npy DIR, --csv FILE, --end/--edge/--cloud DIRS, "
            "or --from DIR with --tier-scale"
        )
    if (scale_from is None) != (tier_scale is None):
        raise InputError("--from and --tier-scale go together")
    if tiers and any(is_results_folder(p) for p in tiers.values()):
        return import_device(model, device, tiers, out=out, force=force)
    space = load_space(model)
    check_new_device(model, device)
    folder = check_output_folder(output_folder(model, out), device)
    check_replacing(folder, device, force)
    names = [c.name for c in space.candidates] + ["head"]
    n = len(names)
    found = model_file(model, "tensors.csv")
    if found is None:
        raise ProfileError(f"unknown model {model!r}")
    tensors_csv = found[0].read_bytes()
    note = ""
    if tiers:
        sources = {t: read_tier(t, p, space) for t, p in tiers.items()}
        times, tensors_csv = assemble(sources)
        source = Path(str(sources["end"].folder))
        origin = ", ".join(f"{t} from {sources[t].folder}" for t in TIERS)
    elif scale_from is not None and tier_scale is not None:
        measured = read_tier("end", scale_from, space)
        times, tensors_csv = scaled(measured, tier_scale), measured.tensors_csv
        note = stand_in_note(measured, tier_scale)
        source, origin = measured.folder, note
        factors = ",".join(f"{t}={tier_scale[t]:g}" for t in TIERS)
        check_times(times, names, f"--tier-scale {factors} on {measured.folder}")
    else:
        if cnnpc_npy is not None:
            source = find_npy(Path(cnnpc_npy), model, device)
            values = read_npy(source, n, model)
        else:
            source = Path(str(csv_path))
            values = read_times_csv(source, n, model)
        times = {t: [row[j] for row in values] for j, t in enumerate(TIERS)}
        origin = f"imported from {source.name}"
    check_times(times, names, str(source))
    tensors_changed = check_tensors_compatible(folder, tensors_csv, device)
    if (folder / "meta.yaml").is_file() and (folder / "tensors.csv").is_file():
        meta = read_meta(folder)
    else:
        import yaml

        meta_file = model_file(model, "meta.yaml")
        assert meta_file is not None  # the model's tensors.csv was found beside it
        meta = yaml.safe_load(meta_file[0].read_text(encoding="utf-8"))
        meta["devices"] = {}
    imported = dict(meta.get("imported") or {})
    imported[device] = {
        "from": str(source.resolve()),
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    meta["imported"] = imported
    devices = dict(meta.get("devices") or {})
    devices[device] = origin
    meta["devices"] = devices
    stand_in = {d: n for d, n in dict(meta.get("stand_in") or {}).items() if d != device}
    meta["stand_in"] = stand_in | ({device: note} if note else {})
    if not meta["stand_in"]:
        del meta["stand_in"]
    write_folder(
        folder,
        {f"{device}.csv": segments_bytes(names, times), "tensors.csv": tensors_csv}
        | {"meta.yaml": meta_bytes(meta)},
    )
    remove_stale(folder, device, tensors_changed=tensors_changed)
    profile = load_profile_dir(folder, device, space, label=str(folder))
    return {
        "model": model,
        "device": profile.device,
        "folder": str(folder),
        "source": str(source),
        "stand_in": profile.stand_in,
        "segments": [
            {"segment": i, "name": s.name, **{f"{t}_ms": s.on(t) for t in TIERS}}
            for i, s in enumerate(profile.segments)
        ],
        "totals": {f"{t}_ms": profile.tier_total(t) for t in TIERS},
    }
