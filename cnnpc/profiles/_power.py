"""The end device's power figures (W), opt-in per profile, and their file.

What the phone draws computing its part, idle while it waits for the servers, and its radio
transmitting and receiving, per link technology (wifi, lte, 5g). `cnnpc profile import --power
--radio` writes them to ``<device>.power.yaml`` in a user profile folder; a profile without that
file has no figures, so every output that predates them stays as it was. A figures file in a
user profile root applies to a shipped profile of the same model and device too, so a shipped
profile gets figures without writing into the installed package.

The shipped radio defaults (`DEFAULT_RADIOS`) are approximate: Huang et al.'s LTE/WiFi power
model (MobiSys 2012) at the median LTE rates it reports (README, "Energy and throughput"). No
compute or idle default is shipped: no published figure describes the profiled phones.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import yaml

from cnnpc.errors import InputError, ProfileError

RADIOS = ("wifi", "lte", "5g")
POWER_SUFFIX = ".power.yaml"
MAX_POWER_W = 1000.0
"""A phone drawing more than a kilowatt is a typo (mW given as W)."""


def check_watts(name: str, value: object) -> float:
    """A power figure: finite, > 0 and at most `MAX_POWER_W`, else a one-line error."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"{name} power must be a number of watts, got {value!r}")
    number = float(value)
    if not (math.isfinite(number) and 0.0 < number <= MAX_POWER_W):
        raise InputError(f"{name} power must be in (0, {MAX_POWER_W:g}] W, got {value!r}")
    return number


@dataclass(frozen=True)
class RadioPower:
    """What the radio draws (W) transmitting and receiving."""

    tx_w: float
    rx_w: float

    def __post_init__(self) -> None:
        check_watts("tx", self.tx_w)
        check_watts("rx", self.rx_w)


DEFAULT_RADIOS: Mapping[str, RadioPower] = {
    # Huang et al., MobiSys 2012, P = alpha_u * up_Mbps + alpha_d * down_Mbps + beta, at the
    # median LTE rates they report (6 Mbps up, 13 down), rounded to 2 significant figures:
    # wifi 132.86 + 283.17 * 6 mW, 132.86 + 137.01 * 13 mW; lte 1288.04 + 438.39 * 6 mW,
    # 1288.04 + 51.97 * 13 mW.
    "wifi": RadioPower(tx_w=1.8, rx_w=1.9),
    "lte": RadioPower(tx_w=3.9, rx_w=2.0),
}
"""Radio figures used when `--radio TECH` gives none (5g has none: give tx:W,rx:W)."""


@dataclass(frozen=True)
class PowerFigures:
    """A profile's power figures; any may be missing (`missing` names them)."""

    compute_w: float | None = None
    idle_w: float | None = None
    radios: tuple[tuple[str, RadioPower], ...] = ()
    """(technology, figures), the default radio of a plan first."""

    def __post_init__(self) -> None:
        if self.compute_w is not None:
            check_watts("compute", self.compute_w)
        if self.idle_w is not None:
            check_watts("idle", self.idle_w)
        for name, _ in self.radios:
            check_radio_name(name)

    @property
    def default_radio(self) -> str | None:
        return self.radios[0][0] if self.radios else None

    def radio(self, name: str | None) -> RadioPower | None:
        """The figures of radio `name` (None: the default radio); None when not given."""
        wanted = name or self.default_radio
        return next((r for n, r in self.radios if n == wanted), None)

    def missing(self, radio: str | None = None) -> list[str]:
        """The figures an energy price needs and these lack ("compute W", "lte tx/rx W"...)."""
        given = (("compute", self.compute_w), ("idle", self.idle_w))
        out = [f"{k} W" for k, v in given if v is None]
        if self.radio(radio) is None:
            out.append(f"{radio or 'a radio'}'s tx/rx W")
        return out

    def merged(self, newer: PowerFigures) -> PowerFigures:
        """These figures with `newer`'s given ones replacing them (radios: newer first)."""
        kept = tuple((n, r) for n, r in self.radios if n not in dict(newer.radios))
        return PowerFigures(
            compute_w=self.compute_w if newer.compute_w is None else newer.compute_w,
            idle_w=self.idle_w if newer.idle_w is None else newer.idle_w,
            radios=newer.radios + kept,
        )

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.compute_w is not None:
            out["compute_w"] = self.compute_w
        if self.idle_w is not None:
            out["idle_w"] = self.idle_w
        out["radios"] = [{"radio": n, "tx_w": r.tx_w, "rx_w": r.rx_w} for n, r in self.radios]
        return out

    @staticmethod
    def from_dict(raw: object, label: str) -> PowerFigures:
        """The figures of a power file's mapping (`as_dict`'s form), or a one-line error."""
        try:
            if not isinstance(raw, Mapping):
                raise InputError("must be a mapping")
            unknown = set(raw) - {"compute_w", "idle_w", "radios"}
            if unknown:
                raise InputError(f"unknown key(s) {', '.join(sorted(map(str, unknown)))}")
            radios = raw.get("radios") or []
            if not isinstance(radios, list) or not all(isinstance(r, Mapping) for r in radios):
                raise InputError("radios must be a list of {radio, tx_w, rx_w}")
            pairs = tuple(
                (check_radio_name(r.get("radio")), RadioPower(r.get("tx_w"), r.get("rx_w")))
                for r in radios
            )
            if len({n for n, _ in pairs}) != len(pairs):
                raise InputError("a radio is given twice")
            return PowerFigures(raw.get("compute_w"), raw.get("idle_w"), pairs)
        except InputError as exc:
            raise ProfileError(f"{label}: {exc}") from None


def check_radio_name(name: object) -> str:
    if name not in RADIOS:
        raise InputError(f"unknown radio {name!r} (valid: {', '.join(RADIOS)})")
    return str(name)


def parse_power(text: str) -> PowerFigures:
    """`--power end=compute:W,idle:W` (either figure may be left out)."""
    tier, sep, rest = text.partition("=")
    if tier.strip() != "end" or not sep:
        raise InputError(f"--power takes end=compute:W,idle:W, got {text!r}")
    values = _pairs(rest, ("compute", "idle"), "--power end=")
    return PowerFigures(compute_w=values.get("compute"), idle_w=values.get("idle"))


def parse_radio(text: str) -> tuple[str, RadioPower]:
    """`--radio TECH` (the shipped figures) or `--radio TECH=tx:W,rx:W`."""
    name, sep, rest = text.partition("=")
    name = check_radio_name(name.strip().lower())
    if not sep:
        if name not in DEFAULT_RADIOS:
            raise InputError(f"no shipped figures for {name}: give --radio {name}=tx:W,rx:W")
        return name, DEFAULT_RADIOS[name]
    values = _pairs(rest, ("tx", "rx"), f"--radio {name}=")
    if set(values) != {"tx", "rx"}:
        raise InputError(f"--radio {name}= needs both tx:W and rx:W, got {rest!r}")
    return name, RadioPower(values["tx"], values["rx"])


def _pairs(text: str, keys: tuple[str, ...], where: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for part in text.split(","):
        key, sep, value = part.partition(":")
        key = key.strip()
        if key not in keys or not sep or key in out:
            raise InputError(f"{where}{text}: expected {','.join(k + ':W' for k in keys)}")
        try:
            number = float(value)
        except ValueError:
            raise InputError(f"{where}{text}: {value.strip()!r} is not a number") from None
        out[key] = check_watts(key, number)
    return out


def power_file(folder: Path | Traversable, device: str) -> Path | Traversable:
    return folder / f"{device}{POWER_SUFFIX}"


def read_power(resource: Path | Traversable, label: str) -> PowerFigures | None:
    """The figures in a power file (None: no file)."""
    if not resource.is_file():
        return None
    try:
        raw = yaml.safe_load(resource.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        raise ProfileError(f"{label}: not a readable YAML file") from None
    return PowerFigures.from_dict(raw, label)


def write_power(folder: Path, device: str, figures: PowerFigures) -> Path:
    """Write `figures` as `device`'s power file in `folder` (created); returns its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = Path(str(power_file(folder, device)))
    text = "# power figures of the end device (W), written by cnnpc profile import\n"
    path.write_text(text + yaml.safe_dump(figures.as_dict(), sort_keys=False), encoding="utf-8")
    return path
