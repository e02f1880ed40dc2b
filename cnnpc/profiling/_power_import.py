"""`cnnpc profile import --power --radio`: the end device's power figures, into a user profile
folder beside (or, for a shipped profile, in place of) the device's table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cnnpc.profiles import PowerFigures, load_profile, power_file, read_power, write_power
from cnnpc.profiling._store import output_folder


def import_power(
    model: str, device: str, figures: PowerFigures, *, out: str | Path | None = None
) -> dict[str, Any]:
    """Add `figures` to the power figures of `model` on `device` (given ones replace those
    there; a radio given goes first, so it prices plans) and write them to
    ``<out>/<model>/<device>.power.yaml``. The profile must exist: in that folder, or where
    `cnnpc plan` finds it (shipped or user)."""
    folder = output_folder(model, out)
    local = [p.name[: -len(".csv")] for p in folder.glob("*.csv")] if folder.is_dir() else []
    match = [d for d in local if d.lower() == device.lower()]
    if match:
        name, before = match[0], None
    else:
        profile = load_profile(model, device)  # one line when there is no such profile
        name, before = profile.device, profile.power
    path = Path(str(power_file(folder, name)))
    before = read_power(path, str(path)) or before
    merged = (before or PowerFigures()).merged(figures)
    written = write_power(folder, name, merged)
    return {
        "model": model,
        "device": name,
        "file": str(written),
        "power": merged.as_dict(),
        "missing": merged.missing(),
    }
