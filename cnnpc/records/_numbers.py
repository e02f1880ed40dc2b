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


# The bounds of the numbers a user types: each far beyond any real use, and below where the
# work they ask for (memory, time, a C type) overflows. The commands and the jobs share them.

MAX_FLOAT = 1e9
"""Largest value of any other numeric option: far beyond any real count, rate or time, and far
from where sums and products of them overflow."""
MIN_POSITIVE = 1e-9
"""Smallest value of an option that must be > 0: dividing by less (1e-320) overflows to inf."""
INT64_MAX = 2**63 - 1
"""Ids and counts are stored as SQL BIGINT: larger ones overflow."""
SEED_MAX = 2**32 - 1
"""NumPy's legacy seeding (Keras set_random_seed) takes 32 bits."""
MAX_IMAGE_SIZE = 1024
"""Largest input size of a command that builds or runs a model at a size of the user's: the
activations grow with its square (as models add --input-size), and 1e12 asked for terabytes."""
MAX_CLASSES = 100_000
"""Most classes of an added model: the classifier's weights grow with it (MobileNetV2's at
100,000: 0.5 GB)."""
MAX_EPOCHS = 10_000
"""Most fine-tune epochs: days of training already; 1e12 would run until killed."""
MAX_STEPS = 1_000_000
"""Most fine-tune steps per epoch (a cap on the data's own count)."""
MAX_TRIALS = 1_000_000
"""Optuna's samplers slow with every stored trial: a million is weeks of sampling alone."""
MAX_FINETUNES = 1_000_000
"""Each fine-tune takes seconds to minutes: a larger budget is a typo."""
DEFAULT_MAX_FINETUNES = 5
"""Fine-tunes a sweep spends by default (`cnnpc sweep --max-finetunes`)."""
MAX_REQUESTS = 100_000
"""Requests of one validation: each is a real request through the servers and its result is
kept for the medians."""
MAX_WARMUP = 10_000
MAX_THREADS = 256
"""TFLite threads: more cannot run on any one host."""
MAX_CONNECTIONS = 10_000
"""A server's most connections at once: one thread each, and a process cannot start a million."""
MAX_TIMEOUT_S = 86_400.0
"""A socket timeout beyond one day overflows the C timeout."""
MAX_SEARCH_S = 365 * 86_400.0
"""Longest time limit of a search (a year)."""
CERT_DAYS = 825
"""How long `cnnpc certs` makes certificates valid unless told: a bit over two years."""
MAX_CERT_DAYS = 36_500
"""A certificate valid past a century is a typo (and past 9999 not encodable)."""
