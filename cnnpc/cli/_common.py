"""Argument types and output helpers shared by the CLI commands (validation lives here, once)."""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from cnnpc.errors import InputError
from cnnpc.planner import LinkOptions
from cnnpc.records import MAX_MS, MBIT_SI, check_ms, check_number, check_rate, parse_keep_values

if TYPE_CHECKING:
    from cnnpc.accuracy import AccuracySpec

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


keep_spec = library_type(parse_keep_values)
"""argparse type: ``name=fraction[,name=fraction...]`` (fractions in (0, 1])."""


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


# Option groups several commands share (one definition each).


def add_storage_argument(p: argparse.ArgumentParser) -> None:
    """`--storage URL` (any command that reads or writes the results database)."""
    p.add_argument(
        "--storage",
        metavar="URL",
        default=None,
        help="SQLAlchemy database URL (default: $CNNPC_STORAGE, else "
        "sqlite:///results/cnnpc.db under the working directory)",
    )


def search_id(text: str) -> int:
    """argparse type: a search id, as `3` or as its study name `cnnpc-3`."""
    return positive_int(text.strip().removeprefix("cnnpc-"))


def add_link_arguments(
    p: argparse.ArgumentParser,
    bandwidth_type: Callable[[str], Any] = rate_mbps,
    bandwidth_help: str = "edge->cloud Mbps",
    bandwidth_default: float | None = None,
) -> None:
    """Options every command that prices plans shares (plan, search, sweep...)."""
    p.add_argument("--model", required=True, help="model name (see 'cnnpc profiles')")
    p.add_argument("--device", required=True, help="end device profile, e.g. MI8 or MI8SE")
    p.add_argument(
        "--bandwidth",
        required=bandwidth_default is None,
        default=bandwidth_default,
        type=bandwidth_type,
        metavar="MBPS",
        help=bandwidth_help,
    )
    p.add_argument(
        "--uplink", type=rate_mbps, default=20.0, metavar="MBPS", help="end->edge Mbps (20)"
    )
    p.add_argument(
        "--uplink-latency",
        type=time_ms,
        default=0.0,
        metavar="MS",
        help="end->edge one-way latency; a plan using the link pays it there and back (0)",
    )
    p.add_argument(
        "--latency",
        type=time_ms,
        default=0.0,
        metavar="MS",
        help="edge->cloud one-way latency; a plan using the link pays it there and back (0)",
    )
    p.add_argument(
        "--conventions",
        choices=("si", "cnnpc"),
        default="si",
        help="si: 1 Mbps = 10^6 bit/s (default); cnnpc: the unit CNNPC's published tables use "
        "(2^20 bit/s for mobilenet), to reproduce its numbers",
    )
    p.add_argument(
        "--overhead-ms",
        type=time_ms,
        default=None,
        metavar="MS",
        help="fixed per-inference overhead (default 1.66 = CNNPC's 0.53 + 1.13)",
    )
    p.add_argument(
        "--prune-compute",
        choices=("none", "linear"),
        default="none",
        help="none: pruning shrinks transfers only (CNNPC); linear: a segment's time also "
        "scales by the mean kept fraction of its input and output tensors",
    )


def link_options(args: argparse.Namespace) -> LinkOptions:
    """The options of add_link_arguments (all but --bandwidth) as the one object commands pass."""
    return LinkOptions(
        uplink_mbps=args.uplink,
        uplink_latency_ms=args.uplink_latency,
        latency_ms=args.latency,
        conventions=args.conventions,
        overhead_ms=args.overhead_ms,
        prune_compute=args.prune_compute,
    )


def describe_links(links: dict[str, float]) -> str:
    """One line naming both links (rates, and latencies where not 0)."""
    unit = "10^6" if links["mbit_bits"] == MBIT_SI else f"{links['mbit_bits']:,.0f}"

    def one(rate: float, latency: float) -> str:
        return f"{rate:g} Mbps" + (f" + {latency:g} ms one-way" if latency else "")

    return (
        f"end->edge {one(links['uplink_mbps'], links['uplink_latency_ms'])}, "
        f"edge->cloud {one(links['bandwidth_mbps'], links['latency_ms'])} (1 Mbps = {unit} bit/s)"
    )


def parse_accuracy(text: str) -> str:
    """argparse check of --accuracy (the library's, imported when a command parses it)."""
    from cnnpc.accuracy import parse_accuracy as check

    return check(text)


def add_accuracy_arguments(p: argparse.ArgumentParser) -> None:
    """Where accuracies come from and are cached (search, sweep): one definition."""
    p.add_argument("--seed", type=seed_int, default=0)
    add_storage_argument(p)
    p.add_argument(
        "--epochs",
        type=epochs_int,
        default=None,
        help=f"fine-tune epochs per candidate (at most {MAX_EPOCHS:,})",
    )
    p.add_argument("--data", default=None, metavar="DIR", help="your data: one folder per class")
    p.add_argument("--weights", default=None, metavar="FILE", help="your trained Keras model")
    p.add_argument("--trust-code", action="store_true", help=TRUST_CODE_HELP)
    p.add_argument(
        "--accuracy",
        type=library_type(parse_accuracy),
        default="finetune",
        metavar="finetune|supernet|table:FILE",
        help="where accuracies come from: fine-tuning (default), estimates of a supernet "
        "trained once (a search confirms its answer by fine-tuning) or only an accuracy table "
        "(see 'cnnpc accuracy export'; configurations it lacks are recorded as unmeasured)",
    )
    add_keep_grid_argument(p)


def add_keep_grid_argument(p: argparse.ArgumentParser) -> None:
    """--keep-grid (search, sweep, compress): one definition."""
    from cnnpc.spaces import parse_keep_grid

    p.add_argument(
        "--keep-grid",
        type=library_type(parse_keep_grid),
        default=None,
        metavar="channels|F,F,...",
        help="keep grid instead of the search space's: 'channels' (every channel count, "
        "CNNPC's grid) or fractions in (0, 1]",
    )


def accuracy_spec(args: argparse.Namespace) -> AccuracySpec:
    """The options of add_accuracy_arguments as the library's one accuracy-source spec."""
    from cnnpc.accuracy import AccuracySpec

    return AccuracySpec(
        model=args.model,
        accuracy=args.accuracy,
        epochs=args.epochs,
        seed=args.seed,
        data=args.data,
        weights=args.weights,
    )
