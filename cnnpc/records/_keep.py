"""A keep configuration: how much of each split candidate's tensor a plan keeps.

Built once against a search space, from keep fractions, kept channel counts, a stored key or an
accuracy table's ``kept_channels`` cell. The checks (range, prunability, residual ties) happen
here and nowhere else, and the counts follow the one rule (`kept_count`, per part of a
concatenation: `Candidate.kept`), so the planner prices the tensor the surgery will produce.

The key (``'baseline'`` or ``'block3=0.25,block10=0.5'``, sorted) is stored in databases and
caches: its format never changes. A configuration may also carry the bit width of split tensors
sent below 8 bits (the codec, `cnnpc.codec`): as entries ``'NAME@bits': width`` of the same
mapping, so everything that stores, keys or compares a configuration carries them unchanged. 8
bits is the int8 tensor as before codecs, and is dropped: an int8 configuration keys, stores and
prints exactly as it always did; below 8 the key gains ``block1@bits=4``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from cnnpc.codec import MAX_BITS, SplitBits, split_bits
from cnnpc.errors import InputError
from cnnpc.spaces import SearchSpace

BASELINE_KEY = "baseline"
BITS_SUFFIX = "@bits"
"""A configuration's entry ``NAME@bits`` is the bit width of the split tensor at NAME."""


def bits_entry(name: str) -> str:
    """The configuration entry that holds the bit width of `name`'s split tensor."""
    return f"{name}{BITS_SUFFIX}"


def split_config(config: Mapping[str, float]) -> tuple[dict[str, float], dict[str, int]]:
    """(keep fractions, bit widths by split) of a configuration (8-bit entries dropped)."""
    fractions: dict[str, float] = {}
    bits: dict[str, int] = {}
    for key, value in config.items():
        if key.endswith(BITS_SUFFIX):
            width = float(value)
            if width != int(width):
                raise InputError(f"{key} must be a whole number of bits, got {value!r}")
            if int(width) != MAX_BITS:
                bits[key[: -len(BITS_SUFFIX)]] = int(width)
        else:
            fractions[key] = value
    return fractions, bits


def join_config(
    fractions: Mapping[str, float], bits: Mapping[str, int] | SplitBits
) -> dict[str, float]:
    """A configuration from keep fractions and bit widths (the inverse of `split_config`)."""
    items = bits.items() if isinstance(bits, Mapping) else bits
    return dict(fractions) | {bits_entry(n): float(w) for n, w in items if w != MAX_BITS}


def keep_key(fractions: Mapping[str, float]) -> str:
    """Canonical, order-independent key: 'baseline' or 'block3=0.25,block10=0.5' (sorted);
    bit widths below 8 as 'block10@bits=4' (see the module's docstring)."""
    pruned = sorted(
        (k, v)
        for k, v in fractions.items()
        if (v < MAX_BITS if k.endswith(BITS_SUFFIX) else v < 1.0)
    )
    return ",".join(f"{k}={v:.6g}" for k, v in pruned) or BASELINE_KEY


def parse_keep_key(key: str) -> dict[str, float]:
    """The fractions of a key (inverse of `keep_key`, up to its 6 significant digits)."""
    if key == BASELINE_KEY:
        return {}
    return {k: float(v) for k, v in (part.split("=", 1) for part in key.split(","))}


def keep_text(fractions: Mapping[str, float], *, pruned_only: bool = False) -> str:
    """'block1=0.5 block6=0.25' in the given order (pruned_only: leave out whole candidates)."""
    whole = {k: float(MAX_BITS) if k.endswith(BITS_SUFFIX) else 1.0 for k in fractions}
    items = [(k, v) for k, v in fractions.items() if not (pruned_only and v >= whole[k])]
    return " ".join(f"{k}={v:g}" for k, v in items)


def parse_keep_values(text: str, *, counts: bool = False) -> dict[str, float]:
    """``NAME=VALUE[,NAME=VALUE...]`` as typed on a command line (not yet checked against a
    space): fractions in (0, 1], or with `counts` any number > 0 (a channel count on the
    per-channel grid, judged by `KeepConfig.on_grid`; a name given twice: the last one)."""
    keep: dict[str, float] = {}
    for part in text.split(","):
        name, sep, value = part.partition("=")
        name = name.strip()
        if not sep or not name:
            wanted = "NAME=FRACTION or NAME=COUNT" if counts else "NAME=FRACTION"
            raise InputError(f"expected {wanted}, got {part!r}")
        try:
            number = float(value)
        except ValueError:
            if not counts:
                raise InputError(f"{value!r} is not a number (in {part!r})") from None
            number = math.nan
        if not math.isfinite(number) or not 0 < number <= (math.inf if counts else 1.0):
            raise InputError(f"keep fraction must be in (0, 1], got {part!r}")
        if name in keep and not counts:
            raise InputError(f"{name} is given twice (in {text!r})")
        keep[name] = number
    return keep


@dataclass(frozen=True)
class KeptBlock:
    """One candidate: its keep fraction, the channels it keeps and the channels it has."""

    name: str
    fraction: float
    kept: int
    channels: int


@dataclass(frozen=True, eq=False)
class KeepConfig:
    """Fractions as given (order kept, for the texts) and every pruned candidate after ties.

    Equal configurations have equal keys' content: the pruned fractions, whatever their order.
    """

    given: tuple[tuple[str, float], ...] = ()
    blocks: tuple[KeptBlock, ...] = ()
    """Every candidate of the space in its order (fraction 1.0: kept whole), ties resolved."""
    bits: SplitBits = ()
    """Split tensors sent below 8 bits and their widths (empty: int8 everywhere)."""

    # -- building ------------------------------------------------------------------------------

    @classmethod
    def from_fractions(cls, space: SearchSpace, fractions: Mapping[str, float]) -> KeepConfig:
        """Check fractions against `space` (range, prunability, ties) and count what they keep;
        ``NAME@bits`` entries are the split tensors' bit widths (checked: 1..8, known names)."""
        fractions, widths = split_config(fractions)
        bits = split_bits(widths, space.names)
        resolved: dict[str, tuple[str, float]] = {}
        given: list[tuple[str, float]] = []
        for name, value in fractions.items():
            cand = space.candidates[space.index(name)]
            try:
                fraction = float(value)
            except (TypeError, ValueError):
                fraction = math.nan
            if not math.isfinite(fraction) or not 0.0 < fraction <= 1.0:
                raise InputError(f"keep fraction of {name} must be in (0, 1], got {value!r}")
            if not cand.prunable and fraction != 1.0:
                raise InputError(f"candidate {name!r} of {space.model!r} is not prunable")
            for member in space.group_of(name):
                first, previous = resolved.setdefault(member, (name, fraction))
                if previous != fraction:
                    raise InputError(
                        f"candidates {first!r} and {name!r} share a channel group and must "
                        f"keep the same fraction (got {previous} and {fraction})"
                    )
            given.append((name, fraction))
        blocks = []
        for c in space.candidates:
            fraction = resolved[c.name][1] if c.name in resolved else 1.0
            kept = c.kept(fraction) if fraction < 1.0 else c.channels
            blocks.append(KeptBlock(c.name, fraction, kept, c.channels))
        return cls(given=tuple(given), blocks=tuple(blocks), bits=bits)

    @classmethod
    def from_channels(cls, space: SearchSpace, channels: Mapping[str, int]) -> KeepConfig:
        """Kept channel counts (1..C each) as the fractions c/C, counted again by the rule (a
        concatenation's parts round apart, so its count may differ from c: what is priced)."""
        fractions: dict[str, float] = {}
        for name, count in channels.items():
            cand = space.candidates[space.index(name)]
            if isinstance(count, bool) or not isinstance(count, int):
                raise InputError(f"{name}: channel count must be an integer, got {count!r}")
            if not 1 <= count <= cand.channels:
                raise InputError(
                    f"{name} keeps {count} of {cand.channels} channels (must be 1..{cand.channels})"
                )
            fractions[name] = count / cand.channels
        return cls.from_fractions(space, fractions)

    @classmethod
    def from_key(cls, space: SearchSpace, key: str) -> KeepConfig:
        """A stored key (`keep_key`), checked against `space`."""
        return cls.from_fractions(space, parse_keep_key(key))

    @classmethod
    def from_row(cls, space: SearchSpace, text: str) -> KeepConfig:
        """An accuracy table's ``kept_channels`` cell: ``name=count;...`` (empty: unpruned)."""
        channels: dict[str, int] = {}
        for part in (p.strip() for p in text.split(";")):
            if not part:
                continue
            name, sep, value = part.partition("=")
            name = name.strip()
            if not sep:
                raise InputError(f"expected NAME=COUNT, got {part!r}")
            if name not in space.names:
                valid = ", ".join(space.names)
                raise InputError(f"unknown candidate {name!r} (valid: {valid})")
            try:
                count = int(value)
            except ValueError:
                raise InputError(f"{part!r}: not a whole number") from None
            channels[name] = count
        return cls.from_channels(space, channels)

    @classmethod
    def on_grid(cls, space: SearchSpace, values: Mapping[str, float]) -> KeepConfig:
        """`--keep NAME=VALUE` under `--keep-grid`: a channel count on the per-channel grid,
        else a fraction that must be on the grid."""
        fractions: dict[str, float] = {}
        for name, value in values.items():
            grid = space.fractions(name)
            if space.per_channel:
                channels = space.candidates[space.index(name)].channels
                if value != int(value) or not 1 <= value <= channels:
                    raise InputError(
                        f"--keep {name}={value:g}: on the per-channel grid give a channel count "
                        f"in 1..{channels}"
                    )
                fractions[name] = int(value) / channels
            elif not any(math.isclose(value, f, abs_tol=1e-9) for f in grid):
                listed = ", ".join(f"{f:g}" for f in grid)
                raise InputError(f"--keep {name}={value:g} is not on the keep grid ({listed})")
            else:
                fractions[name] = float(value)
        return cls.from_fractions(space, fractions)

    # -- reading -------------------------------------------------------------------------------

    @property
    def fractions(self) -> dict[str, float]:
        """The fractions as given, in their order (whole candidates included)."""
        return dict(self.given)

    @property
    def config(self) -> dict[str, float]:
        """The fractions as given with the bit widths below 8 (the search's configuration)."""
        return join_config(self.fractions, self.bits)

    @property
    def pruned_blocks(self) -> tuple[KeptBlock, ...]:
        """The candidates kept at a fraction below 1, tied members included."""
        return tuple(b for b in self.blocks if b.fraction < 1.0)

    @property
    def pruned(self) -> dict[str, float]:
        """Every pruned candidate's fraction, tied members included."""
        return {b.name: b.fraction for b in self.pruned_blocks}

    @property
    def channels(self) -> dict[str, int]:
        """Channels every pruned candidate keeps (absent: all), as the latency model prices."""
        return {b.name: b.kept for b in self.pruned_blocks}

    @property
    def all_channels(self) -> dict[str, int]:
        """Channels every candidate of the space keeps (empty for `NO_PRUNING`)."""
        return {b.name: b.kept for b in self.blocks}

    @property
    def key(self) -> str:
        """The stored key of the fractions as given and the bits (`keep_key`)."""
        return keep_key(self.config)

    def kept_fraction(self, name: str) -> float:
        """The fraction of `name`'s channels really kept (kept / channels; 1.0 when unpruned)."""
        for b in self.pruned_blocks:
            if b.name == name:
                return b.kept / b.channels
        return 1.0

    def text(self, *, pruned_only: bool = False) -> str:
        """'block1=0.5 block6=0.25' (pruned_only: leave out candidates kept whole)."""
        return keep_text(self.config, pruned_only=pruned_only)

    def channels_text(self) -> str:
        """'block6 16/32, block10 32/64' for the pruned candidates as given; 'all' when none."""
        by_name = {b.name: b for b in self.pruned_blocks}
        shown = [by_name[n] for n, _ in self.given if n in by_name]
        items = [f"{b.name} {b.kept}/{b.channels}" for b in shown]
        return ", ".join(items) or "all"

    def as_dict(self) -> dict[str, float]:
        """The JSON form: the fractions as given (and the bit widths below 8)."""
        return self.config

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, KeepConfig):
            return NotImplemented
        return sorted(self.pruned.items()) == sorted(other.pruned.items()) and (
            self.bits == other.bits
        )

    def __hash__(self) -> int:
        return hash((tuple(sorted(self.pruned.items())), self.bits))


NO_PRUNING = KeepConfig()
"""Every candidate kept whole."""
