"""Device profiles assembled from pieces: one measurement per tier, or a scaled stand-in.

A user rarely owns the phone, the edge server and the cloud server at once. Each tier can be
measured on its own machine (``cnnpc profile --as-tier edge --out DIR`` there) and the three
folders assembled into one device (``cnnpc profile import --end A --edge B --cloud C``). Without
the phone, a host profile scaled per tier (``--from DIR --tier-scale end=8,edge=1,cloud=0.5``)
stands in; its meta says so and every plan made from it prints the note.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cnnpc.errors import InputError, ProfileError
from cnnpc.profiles import TIERS, device_names, load_profile_dir
from cnnpc.spaces import SearchSpace


@dataclass(frozen=True)
class TierSource:
    """Per-segment times of one tier, read from a profile folder, and its tensors file."""

    tier: str
    folder: Path
    device: str
    times: tuple[float, ...]
    tensors_csv: bytes
    as_tier: str


def _profile_folder(path: Path, model: str) -> Path:
    """`path` itself or `path/<model>`: the folder `cnnpc profile --out` wrote."""
    for folder in (path / model, path):
        if (
            folder.is_dir()
            and (folder / "tensors.csv").is_file()
            and (folder / "meta.yaml").is_file()
        ):
            return folder
    raise InputError(
        f"{path}: not a profile folder of {model} (expected tensors.csv and meta.yaml, as "
        f"'cnnpc profile --model {model} --out {path}' writes)"
    )


def read_tier(tier: str, path: str | Path, space: SearchSpace) -> TierSource:
    """The `tier` column of the one device profiled in folder `path` (validated)."""
    from cnnpc.profiling._store import MEASUREMENTS_SUFFIX, read_meta

    folder = _profile_folder(Path(path), space.model)
    devices = device_names(folder)
    measured = [d for d in devices if (folder / f"{d}{MEASUREMENTS_SUFFIX}.csv").is_file()]
    if len(devices) != 1 and len(measured) == 1:
        devices = measured  # the one this machine timed, beside devices imported from it
    if len(devices) != 1:
        raise InputError(
            f"{folder}: holds {len(devices)} device profiles ({', '.join(devices) or 'none'}); "
            "give a folder with exactly one measured by 'cnnpc profile'"
        )
    profile = load_profile_dir(folder, devices[0], space, label=str(folder))
    meta = read_meta(folder)
    measured_as = meta.get("as_tier") or {}
    as_tier = str(measured_as.get(devices[0], "")) if isinstance(measured_as, dict) else ""
    if as_tier and as_tier != tier:
        raise InputError(f"{folder}: measured as the {as_tier} tier, given as --{tier}")
    return TierSource(
        tier=tier,
        folder=folder,
        device=devices[0],
        times=tuple(s.on(tier) for s in profile.segments),
        tensors_csv=(folder / "tensors.csv").read_bytes(),
        as_tier=as_tier or tier,
    )


def assemble(sources: Mapping[str, TierSource]) -> tuple[dict[str, list[float]], bytes]:
    """Times per tier and the shared tensors of three tier measurements."""
    missing = [t for t in TIERS if t not in sources]
    if missing:
        raise InputError(f"give all three of --end, --edge and --cloud (missing --{missing[0]})")
    tensors = {s.tensors_csv for s in sources.values()}
    if len(tensors) != 1:
        raise ProfileError(
            "the three measurements were made at different input sizes (their tensors.csv "
            "differ): measure every tier with the same --image-size"
        )
    return {t: list(sources[t].times) for t in TIERS}, tensors.pop()


def parse_tier_scale(text: str) -> dict[str, float]:
    """`end=8,edge=1,cloud=0.5`: a factor > 0 per tier (every tier named once)."""
    scale: dict[str, float] = {}
    for item in text.split(","):
        tier, sep, value = item.partition("=")
        tier = tier.strip()
        if not sep or tier not in TIERS:
            raise InputError(f"--tier-scale {text!r}: use end=F,edge=F,cloud=F")
        if tier in scale:
            raise InputError(f"--tier-scale: {tier} is given twice")
        try:
            factor = float(value)
        except ValueError:
            factor = math.nan
        if not math.isfinite(factor) or factor <= 0:
            raise InputError(f"--tier-scale: {tier} factor must be a number > 0, got {value!r}")
        scale[tier] = factor
    missing = [t for t in TIERS if t not in scale]
    if missing:
        raise InputError(f"--tier-scale: give a factor for every tier (missing {missing[0]})")
    return scale


def scaled(source: TierSource, scale: Mapping[str, float]) -> dict[str, list[float]]:
    """One measurement's times scaled per tier (the stand-in profile)."""
    return {t: [ms * scale[t] for ms in source.times] for t in TIERS}


def stand_in_note(source: TierSource, scale: Mapping[str, float]) -> str:
    factors = ", ".join(f"{t} x{scale[t]:g}" for t in TIERS)
    return (
        f"stand-in, not measured: {source.device} profile of {source.folder} scaled per tier "
        f"({factors})"
    )
