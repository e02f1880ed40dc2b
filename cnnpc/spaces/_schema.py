"""Search-space schema: the split candidates of a model, what may be pruned, and how far.

The keep grid is either a list of fractions shared by every candidate, or ``channels``: every
channel count 1..C of each candidate (CNNPC's own grid, 1/C steps), kept as the fraction c/C so
that `kept_count(c / C, C) == c` and one configuration type serves both grids.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from cnnpc.errors import InputError, SearchSpaceError
from cnnpc.spaces._keep import kept_count

CHANNELS: Literal["channels"] = "channels"
KeepGrid = tuple[float, ...] | Literal["channels"]


@dataclass(frozen=True)
class Candidate:
    """A split point: the tensor that crosses the network if the model is cut here."""

    name: str
    channels: int
    prunable: bool = True
    layers: tuple[str, ...] = ()
    parts: tuple[int, ...] = ()
    """A concatenation's tensor: the widths of the parts it is pruned through (sum = channels)."""
    reason: str = ""
    """Why a candidate that is not prunable cannot be (from the model's graph)."""

    def kept(self, fraction: float) -> int:
        """Channels the tensor keeps at `fraction`: `kept_count` per part, as the surgery does."""
        return sum(kept_count(fraction, width) for width in self.parts or (self.channels,))


@dataclass(frozen=True)
class SearchSpace:
    """Candidates in network order, the keep grid (fractions or "channels"), tied groups."""

    model: str
    candidates: tuple[Candidate, ...]
    keep_grid: KeepGrid
    groups: tuple[tuple[str, ...], ...] = ()
    source: str = field(default="<memory>", compare=False)

    @functools.cached_property
    def names(self) -> tuple[str, ...]:
        """Candidate names in network order (read per priced configuration: computed once)."""
        return tuple(c.name for c in self.candidates)

    def index(self, name: str) -> int:
        """Position of candidate `name`; a one-line error lists the valid names."""
        try:
            return self.names.index(name)
        except ValueError:
            valid = ", ".join(self.names)
            raise SearchSpaceError(
                f"unknown candidate {name!r} for model {self.model!r} (valid: {valid})"
            ) from None

    def group_of(self, name: str) -> tuple[str, ...]:
        """The candidates that must keep the same fraction as `name` (itself included)."""
        for group in self.groups:
            if name in group:
                return group
        return (name,)

    def prunable(self) -> tuple[Candidate, ...]:
        return tuple(c for c in self.candidates if c.prunable)

    @property
    def per_channel(self) -> bool:
        """Whether every channel count is a grid point (CNNPC's grid)."""
        return self.keep_grid == CHANNELS

    def fractions(self, name: str) -> tuple[float, ...]:
        """The keep fractions `name` may take, increasing, ending with 1.0 (unpruned)."""
        if isinstance(self.keep_grid, str):
            channels = self.candidates[self.index(name)].channels
            return tuple(c / channels for c in range(1, channels + 1))
        return self.keep_grid

    def with_keep_grid(self, grid: KeepGrid | None) -> SearchSpace:
        """The same space on another grid (None: unchanged)."""
        return self if grid is None or grid == self.keep_grid else replace(self, keep_grid=grid)


def _fail(source: str, where: str, problem: str) -> SearchSpaceError:
    return SearchSpaceError(f"{source}: {where}: {problem}")


def _parse_candidate(source: str, i: int, raw: Any) -> Candidate:
    where = f"candidates[{i}]"
    if not isinstance(raw, Mapping):
        raise _fail(source, where, "must be a mapping with name and channels")
    unknown = set(raw) - {"name", "channels", "prunable", "layers", "parts", "reason"}
    if unknown:
        raise _fail(source, where, f"unknown key(s) {', '.join(sorted(map(str, unknown)))}")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise _fail(source, f"{where}.name", "must be a non-empty string")
    channels = raw.get("channels")
    if isinstance(channels, bool) or not isinstance(channels, int) or channels < 1:
        raise _fail(source, f"{where}.channels", f"must be a positive integer, got {channels!r}")
    prunable = raw.get("prunable", True)
    if not isinstance(prunable, bool):
        raise _fail(source, f"{where}.prunable", f"must be true or false, got {prunable!r}")
    layers = raw.get("layers", [])
    if not isinstance(layers, list) or not all(isinstance(x, str) and x for x in layers):
        raise _fail(source, f"{where}.layers", "must be a list of layer names")
    parts = raw.get("parts", [])
    if not isinstance(parts, list) or not all(
        isinstance(p, int) and not isinstance(p, bool) and p >= 1 for p in parts
    ):
        raise _fail(source, f"{where}.parts", "must be a list of positive channel counts")
    if parts and sum(parts) != channels:
        raise _fail(source, f"{where}.parts", f"must add up to channels ({channels})")
    reason = raw.get("reason", "")
    if not isinstance(reason, str):
        raise _fail(source, f"{where}.reason", "must be a string")
    return Candidate(
        name=name,
        channels=channels,
        prunable=prunable,
        layers=tuple(layers),
        parts=tuple(parts),
        reason=reason,
    )


def parse_keep_grid(text: str) -> KeepGrid:
    """`--keep-grid`: ``channels`` or comma-separated fractions in (0, 1] (1.0 is added)."""
    if text.strip() == CHANNELS:
        return CHANNELS
    grid: set[float] = {1.0}
    for part in text.split(","):
        try:
            value = float(part)
        except ValueError:
            raise InputError(
                f"--keep-grid takes 'channels' or fractions like 0.25,0.5,1; {part!r} is neither"
            ) from None
        if not math.isfinite(value) or not 0.0 < value <= 1.0:
            raise InputError(f"--keep-grid fractions must be in (0, 1], got {part.strip()!r}")
        grid.add(value)
    return tuple(sorted(grid))


def _parse_grid(source: str, raw: Any) -> KeepGrid:
    if raw == CHANNELS:
        return CHANNELS
    if not isinstance(raw, list) or not raw:
        raise _fail(
            source, "keep_grid", "must be 'channels' or a non-empty list of fractions in (0, 1]"
        )
    grid: list[float] = []
    for i, value in enumerate(raw):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if not ok or not math.isfinite(value) or not 0.0 < value <= 1.0:
            raise _fail(source, f"keep_grid[{i}]", f"must be a fraction in (0, 1], got {value!r}")
        grid.append(float(value))
    if grid != sorted(set(grid)):
        raise _fail(source, "keep_grid", "must be strictly increasing")
    if grid[-1] != 1.0:
        raise _fail(source, "keep_grid", "must end with 1.0 (the unpruned width)")
    return tuple(grid)


def _parse_groups(
    source: str, raw: Any, by_name: Mapping[str, Candidate]
) -> tuple[tuple[str, ...], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise _fail(source, "groups", "must be a list of lists of candidate names")
    seen: set[str] = set()
    groups: list[tuple[str, ...]] = []
    for i, group in enumerate(raw):
        where = f"groups[{i}]"
        if not isinstance(group, list) or len(group) < 2:
            raise _fail(source, where, "must list at least two candidate names")
        for name in group:
            if name not in by_name:
                raise _fail(source, where, f"unknown candidate {name!r}")
            if name in seen:
                raise _fail(source, where, f"candidate {name!r} is in more than one group")
            if not by_name[name].prunable:
                raise _fail(source, where, f"candidate {name!r} is not prunable")
            seen.add(name)
        widths = {by_name[n].channels for n in group}
        concatenations = any(by_name[n].parts for n in group)  # tied through shared parts
        if len(widths) != 1 and not concatenations:
            raise _fail(source, where, "tied candidates must have the same channel count")
        groups.append(tuple(group))
    return tuple(groups)


def parse_space(raw: Any, source: str, expected_model: str | None = None) -> SearchSpace:
    """Validate a parsed YAML document; errors name the file and the offending key."""
    if not isinstance(raw, Mapping):
        raise _fail(source, "top level", "must be a mapping")
    unknown = set(raw) - {"model", "candidates", "keep_grid", "groups"}
    if unknown:
        raise _fail(source, "top level", f"unknown key(s) {', '.join(sorted(map(str, unknown)))}")
    model = raw.get("model")
    if not isinstance(model, str) or not model:
        raise _fail(source, "model", "must be a non-empty string")
    if expected_model is not None and model != expected_model:
        raise _fail(source, "model", f"says {model!r} but the file is for {expected_model!r}")
    raw_candidates = raw.get("candidates")
    if not isinstance(raw_candidates, list) or not raw_candidates:
        raise _fail(source, "candidates", "must be a non-empty list")
    candidates = tuple(_parse_candidate(source, i, c) for i, c in enumerate(raw_candidates))
    by_name: dict[str, Candidate] = {}
    for i, cand in enumerate(candidates):
        if cand.name in by_name:
            raise _fail(source, f"candidates[{i}].name", f"duplicate name {cand.name!r}")
        by_name[cand.name] = cand
    return SearchSpace(
        model=model,
        candidates=candidates,
        keep_grid=_parse_grid(source, raw.get("keep_grid")),
        groups=_parse_groups(source, raw.get("groups"), by_name),
        source=source,
    )
