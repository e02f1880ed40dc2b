"""Argument types and output helpers shared by the CLI commands (validation lives here, once)."""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from cnnpc.errors import InputError
from cnnpc.latency import MAX_MS, check_ms, check_number, check_rate

T = TypeVar("T")


def library_type(parse: Callable[[str], T]) -> Callable[[str], T]:
    """argparse type from a library parser: its one-line InputError becomes argparse's error."""

    def convert(text: str) -> T:
        try:
            return parse(text)
        except InputError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = getattr(parse, "__name__", "value")
    return convert


MAX_FLOAT = 1e9
"""Largest value of any other numeric option: far beyond any real count, rate or time, and far
from where sums and products of them overflow."""
MIN_POSITIVE = 1e-9
"""Smallest value of an option that must be > 0: dividing by less (1e-320) overflows to inf."""


def _number(text: str, check: Callable[[float], float]) -> float:
    """`text` as a float checked by the library's one numeric check."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    return library_type(lambda _: check(value))(text)


def positive_float(text: str) -> float:
    """argparse type: a finite number in [1e-9, 1e9] (rejects 0, negatives, nan, inf, 1e308)."""
    return _number(text, lambda v: check_number("", v, minimum=MIN_POSITIVE, maximum=MAX_FLOAT))


def nonnegative_float(text: str) -> float:
    """argparse type: a finite number in [0, 1e9]."""
    return _number(text, lambda v: check_number("", v, maximum=MAX_FLOAT))


def rate_mbps(text: str) -> float:
    """argparse type: a link rate in Mbps, 1 kbit/s to 1 Tbit/s (the library's range)."""
    return _number(text, lambda v: check_rate("", v))


def budget_ms(text: str) -> float:
    """argparse type: a latency budget in ms, 1 us to one hour."""
    return _number(text, lambda v: check_number("", v, minimum=1e-3, maximum=MAX_MS))


def time_ms(text: str) -> float:
    """argparse type: a latency, overhead or budget in ms, 0 to one hour (the library's range)."""
    return _number(text, lambda v: check_ms("", v))


def bounded_float(
    low: float,
    high: float,
    *,
    open_low: bool = False,
    open_high: bool = False,
    name: str = "float",
) -> Callable[[str], float]:
    """argparse type: a finite number in [low, high] (an end left out with `open_*`)."""
    interval = f"{'(' if open_low else '['}{low:g}, {high:g}{')' if open_high else ']'}"

    def convert(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        above = value > low if open_low else value >= low
        below = value < high if open_high else value <= high
        if not (math.isfinite(value) and above and below):
            raise argparse.ArgumentTypeError(f"must be in {interval}, got {text!r}")
        return value

    convert.__name__ = name
    return convert


accuracy_floor = bounded_float(0.0, 1.0, open_low=True, name="accuracy")  # --acc-floor


INT64_MAX = 2**63 - 1  # ids and counts are stored as SQL BIGINT: larger ones overflow
SEED_MAX = 2**32 - 1  # NumPy's legacy seeding (Keras set_random_seed) takes 32 bits


def bounded_int(low: int, high: int = INT64_MAX, name: str = "int") -> Callable[[str], int]:
    """argparse type: an integer in [low, high]; every integer argument is checked by this."""

    def convert(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be >= {low}, got {text!r}")
        if value > high:
            raise argparse.ArgumentTypeError(f"must be <= {high}, got {text!r}")
        return value

    convert.__name__ = name
    return convert


positive_int = bounded_int(1, name="positive_int")  # counts and ids
nonnegative_int = bounded_int(0, name="nonnegative_int")
seed_int = bounded_int(0, SEED_MAX, name="seed")
port_int = bounded_int(0, 65535, name="port")

MAX_IMAGE_SIZE = 1024
"""Largest input size of a command that builds or runs a model at a size of the user's: the
activations grow with its square (as models add --input-size), and 1e12 asked for terabytes."""
image_size_int = bounded_int(8, MAX_IMAGE_SIZE, name="image size")
MAX_EPOCHS = 10_000
"""Most fine-tune epochs: days of training already; 1e12 would run until killed."""
epochs_int = bounded_int(1, MAX_EPOCHS, name="epochs")
MAX_STEPS = 1_000_000
"""Most fine-tune steps per epoch (a cap on the data's own count)."""
steps_int = bounded_int(1, MAX_STEPS, name="steps")


BREAKDOWN_HEADERS = ["end", "uplink", "edge", "downlink", "cloud", "overhead", "total ms"]


def breakdown_cells(bd: Mapping[str, float]) -> list[object]:
    """A latency breakdown dict as table cells, in BREAKDOWN_HEADERS order."""
    keys = ("end_ms", "uplink_ms", "edge_ms", "downlink_ms", "cloud_ms", "overhead_ms", "total_ms")
    return [bd[k] for k in keys]


def keep_spec(text: str) -> dict[str, float]:
    """argparse type: ``name=fraction[,name=fraction...]`` (fractions in (0, 1])."""
    keep: dict[str, float] = {}
    for part in text.split(","):
        name, sep, value = part.partition("=")
        if not sep or not name.strip():
            raise argparse.ArgumentTypeError(f"expected NAME=FRACTION, got {part!r}")
        try:
            fraction = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{value!r} is not a number (in {part!r})") from None
        if not math.isfinite(fraction) or not 0 < fraction <= 1:
            raise argparse.ArgumentTypeError(f"keep fraction must be in (0, 1], got {part!r}")
        if name.strip() in keep:
            raise argparse.ArgumentTypeError(f"{name.strip()} is given twice (in {text!r})")
        keep[name.strip()] = fraction
    return keep


def print_json(obj: Any) -> None:
    json.dump(obj, sys.stdout, indent=2, allow_nan=False)
    sys.stdout.write("\n")


def format_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Plain aligned text table; numbers right-aligned, text left-aligned."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    numeric = [
        all(isinstance(row[i], int | float) for row in rows if row[i] is not None) and bool(rows)
        for i in range(len(headers))
    ]

    def line(values: Sequence[str]) -> str:
        out = [
            v.rjust(w) if num else v.ljust(w)
            for v, w, num in zip(values, widths, numeric, strict=True)
        ]
        return "  ".join(out).rstrip()

    sep = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), sep, *(line(r) for r in cells)])


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)


TRUST_CODE_HELP = (
    "load the model file although its layers carry code (a Lambda, a custom layer): that code "
    "runs on this machine; only for files you trust"
)


MAX_THREADS = 256
threads_int = bounded_int(1, MAX_THREADS, name="threads")
THREADS_HELP = f"TFLite threads (1; at most {MAX_THREADS}: more cannot run on any one host)"
MAX_CONNECTIONS = 10_000
"""A server's most connections at once: one thread each, and a process cannot start a million."""
MAX_TIMEOUT_S = 86_400.0
timeout_s = bounded_float(1e-3, MAX_TIMEOUT_S, name="seconds")
TIMEOUT_HELP = (
    "seconds, 0.001 to 86400 (one day): a socket timeout beyond that overflows the C timeout"
)
