"""Where a measured accuracy came from: a fine-tune, a row of an accuracy table, a supernet's
estimate. The search's `Measurement` and the storage's cached row carry the same record; the
database keeps its one JSON form (the `details` column, as earlier releases wrote it).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeGuard


class OriginKind(enum.StrEnum):
    UNSTATED = "unstated"
    """Nothing said (a row stored without provenance, or in a form this release does not read)."""
    FINETUNE = "fine-tune"
    """Fine-tuned by the accuracy oracle."""
    TABLE = "table"
    """Read from a row of an accuracy table."""
    SUPERNET = "supernet"
    """Estimated by slicing a trained supernet (no fine-tune)."""


@dataclass(frozen=True)
class CandidateBytes:
    """The tensor at one split candidate of a fine-tuned model (1 byte per element)."""

    name: str
    channels: int
    bytes: int


@dataclass(frozen=True)
class Origin:
    """The provenance of one accuracy; only the fields of its kind are set."""

    kind: OriginKind = OriginKind.UNSTATED
    table_file: str | None = None
    table_row: int | None = None
    """The table's file and 1-based data row (TABLE)."""
    supernet: str | None = None
    """The key of the supernet's weights (SUPERNET)."""
    kept: tuple[tuple[str, int], ...] = ()
    """Channels kept per candidate by the estimated slice (SUPERNET)."""
    keep: tuple[tuple[str, float], ...] = ()
    """Fraction of channels each candidate really keeps (FINETUNE)."""
    candidates: tuple[CandidateBytes, ...] = ()
    """The tensor at every candidate (FINETUNE)."""

    @classmethod
    def finetuned(cls, keep: Mapping[str, float], candidates: tuple[CandidateBytes, ...]) -> Origin:
        keep_ = tuple((str(n), float(f)) for n, f in keep.items())
        return cls(OriginKind.FINETUNE, keep=keep_, candidates=candidates)

    @classmethod
    def table(cls, file: str, row: int) -> Origin:
        return cls(OriginKind.TABLE, table_file=file, table_row=row)

    @classmethod
    def estimate(cls, supernet: str, kept: Mapping[str, int]) -> Origin:
        kept_ = tuple((str(n), int(c)) for n, c in kept.items())
        return cls(OriginKind.SUPERNET, supernet=supernet, kept=kept_)

    def to_json(self) -> dict[str, object]:
        """The JSON earlier releases stored as `details` (so rows and goldens are unchanged)."""
        if self.kind is OriginKind.TABLE:
            return {"source": "table", "file": self.table_file, "row": self.table_row}
        if self.kind is OriginKind.SUPERNET:
            return {"source": "supernet", "kept": dict(self.kept), "supernet": self.supernet}
        if self.kind is OriginKind.FINETUNE:
            return {
                "keep": dict(self.keep),
                "candidates": [
                    {"name": c.name, "channels": c.channels, "bytes": c.bytes}
                    for c in self.candidates
                ],
            }
        return {}

    @classmethod
    def from_json(cls, value: object) -> Origin:
        """The record of a stored `details` value; a form it cannot read (a row a Python user
        stored with their own details) is UNSTATED rather than an error: old rows still load."""
        if not isinstance(value, Mapping):
            return cls()
        source = value.get("source")
        try:
            if source == "table":
                file, row = value["file"], value["row"]
                if isinstance(file, str) and _is_int(row):
                    return cls.table(file, row)
            elif source == "supernet":
                key, kept = value["supernet"], value["kept"]
                if isinstance(key, str) and _int_map(kept):
                    return cls.estimate(key, kept)
            elif source is None and set(value) == {"keep", "candidates"}:
                keep, candidates = value["keep"], value["candidates"]
                if _float_map(keep) and isinstance(candidates, list):
                    return cls.finetuned(keep, tuple(_candidate(c) for c in candidates))
        except (KeyError, TypeError, ValueError):
            pass
        return cls()


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _int_map(value: object) -> TypeGuard[Mapping[str, int]]:
    return isinstance(value, Mapping) and all(
        isinstance(k, str) and _is_int(v) for k, v in value.items()
    )


def _float_map(value: object) -> TypeGuard[Mapping[str, float]]:
    return isinstance(value, Mapping) and all(
        isinstance(k, str) and isinstance(v, int | float) and not isinstance(v, bool)
        for k, v in value.items()
    )


def _candidate(value: object) -> CandidateBytes:
    if not isinstance(value, Mapping):
        raise TypeError("a candidate is an object")
    name, channels, size = value["name"], value["channels"], value["bytes"]
    if not (isinstance(name, str) and _is_int(channels) and _is_int(size)):
        raise TypeError("a candidate has a name, channels and bytes")
    return CandidateBytes(name, channels, size)
