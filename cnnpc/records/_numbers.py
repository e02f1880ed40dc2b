"""The bounds every number that crosses the pipeline is checked against, in one place: link
rates, times, and the one numeric check behind them (a one-line error, never inf or NaN)."""

from __future__ import annotations

import math

from cnnpc.errors import InputError

MBIT_SI = 1_000_000.0
MBIT_BINARY = float(2**20)
MIN_MBPS = 1e-3
MAX_MBPS = 1e6
"""Link rates cnnpc prices, in Mbps: 1 kbit/s to 1 Tbit/s. Outside that no link exists, and a
rate near 0 (1e-320) overflows the transfer time to inf."""
MAX_MS = 3_600_000.0
"""Longest latency, overhead or budget, in ms (one hour): beyond it no plan is interactive, and
1e308 ms would overflow every sum to inf."""


def check_number(
    name: str,
    value: object,
    *,
    minimum: float = 0.0,
    strict: bool = False,
    maximum: float = math.inf,
) -> float:
    """The one numeric check: finite, >= `minimum` (> with `strict`) and <= `maximum`, else a
    one-line error."""
    bound = ">" if strict else ">="
    what = f"{name} must be" if name else "must be"
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or (value <= minimum if strict else value < minimum)
    ):
        upto = f" and <= {maximum:g}" if math.isfinite(maximum) else ""
        raise InputError(f"{what} a finite number {bound} {minimum:g}{upto}, got {value!r}")
    if value > maximum:
        raise InputError(f"{what} <= {maximum:g}, got {value!r}")
    return float(value)


def check_rate(name: str, value: object) -> float:
    """A link rate in Mbps within [MIN_MBPS, MAX_MBPS]."""
    return check_number(name, value, minimum=MIN_MBPS, maximum=MAX_MBPS)


def check_ms(name: str, value: object) -> float:
    """A latency, overhead or budget in ms within [0, MAX_MS]."""
    return check_number(name, value, maximum=MAX_MS)


def parse_number(text: str) -> float:
    """A number typed by a user (an option, a table cell), or a one-line error."""
    try:
        return float(text)
    except ValueError:
        raise InputError(f"{text!r} is not a number") from None


def parse_float(
    text: str, low: float, high: float, *, open_low: bool = False, open_high: bool = False
) -> float:
    """A finite number typed by a user in [low, high] (an end left out with `open_*`)."""
    value = parse_number(text)
    above = value > low if open_low else value >= low
    below = value < high if open_high else value <= high
    if not (math.isfinite(value) and above and below):
        interval = f"{'(' if open_low else '['}{low:g}, {high:g}{')' if open_high else ']'}"
        raise InputError(f"must be in {interval}, got {text!r}")
    return value


def parse_int(text: str, low: int, high: int) -> int:
    """A whole number typed by a user in [low, high]."""
    try:
        value = int(text)
    except ValueError:
        raise InputError(f"{text!r} is not a whole number") from None
    if value < low:
        raise InputError(f"must be >= {low}, got {text!r}")
    if value > high:
        raise InputError(f"must be <= {high}, got {text!r}")
    return value
