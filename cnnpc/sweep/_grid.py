"""The conditions a sweep visits: a bandwidth grid and one or more end devices."""

from __future__ import annotations

import math

from cnnpc.errors import InputError
from cnnpc.records import check_rate

MAX_POINTS = 10_000


def parse_bandwidths(text: str) -> tuple[float, ...]:
    """`START:STOP:STEP` (STOP included when the steps land on it) or a comma list, in Mbps.

    The result is sorted and free of duplicates, so thresholds read left to right.
    """
    text = text.strip()
    if ":" in text:
        parts = text.split(":")
        if len(parts) != 3:
            raise InputError(f"bandwidth grid must be START:STOP:STEP, got {text!r}")
        start, stop, step = (_number(p, text) for p in parts)
        if stop < start:
            raise InputError(f"bandwidth grid {text!r}: STOP must be >= START")
        count = math.floor((stop - start) / step + 1e-9) + 1
        if count > MAX_POINTS:
            raise InputError(f"bandwidth grid {text!r} has {count} points (at most {MAX_POINTS})")
        values = [round(start + i * step, 9) for i in range(count)]
    else:
        values = [_number(p, text) for p in text.split(",")]
    return tuple(sorted(set(values)))


def _number(part: str, text: str) -> float:
    try:
        value = float(part)
    except ValueError:
        raise InputError(f"bandwidth grid {text!r}: {part.strip()!r} is not a number") from None
    try:
        return check_rate("", value)
    except InputError as exc:
        raise InputError(f"bandwidth grid {text!r}: {part.strip()!r} {exc}") from None


def parse_devices(text: str) -> tuple[str, ...]:
    """`MI8` or `MI8,MI8SE` (order kept, duplicates dropped)."""
    names = [d.strip() for d in text.split(",") if d.strip()]
    if not names:
        raise InputError("--device needs at least one device name")
    return tuple(dict.fromkeys(names))
