"""Argument types and output helpers shared by the CLI commands (validation lives here, once)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from cnnpc._text import json_text
from cnnpc.errors import InputError
from cnnpc.planner import LinkOptions
from cnnpc.records import (
    INT64_MAX,
    MAX_EPOCHS,
    MAX_FLOAT,
    MAX_IMAGE_SIZE,
    MAX_MS,
    MAX_STEPS,
    MAX_THREADS,
    MAX_TIMEOUT_S,
    MIN_POSITIVE,
    SEED_MAX,
    check_ms,
    check_number,
    check_rate,
    parse_float,
    parse_int,
    parse_keep_values,
    parse_number,
)

if TYPE_CHECKING:
    from cnnpc.accuracy import AccuracySpec

T = TypeVar("T")


def library_type(parse: Callable[[str], T], name: str | None = None) -> Callable[[str], T]:
    """argparse type from a library parser: its one-line InputError becomes argparse's error."""

    def convert(text: str) -> T:
        try:
            return parse(text)
        except InputError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = name if name is not None else getattr(parse, "__name__", "value")
    return convert


def _number(check: Callable[[float], float], name: str) -> Callable[[str], float]:
    """argparse type: a number checked by the library's one numeric check."""
    return library_type(lambda text: check(parse_number(text)), name)


positive_float = _number(
    lambda v: check_number("", v, minimum=MIN_POSITIVE, maximum=MAX_FLOAT), "positive_float"
)  # a finite number in [1e-9, 1e9] (rejects 0, negatives, nan, inf, 1e308)
nonnegative_float = _number(lambda v: check_number("", v, maximum=MAX_FLOAT), "nonnegative_float")
rate_mbps = _number(lambda v: check_rate("", v), "rate_mbps")  # 1 kbit/s to 1 Tbit/s
budget_ms = _number(lambda v: check_number("", v, minimum=1e-3, maximum=MAX_MS), "budget_ms")
time_ms = _number(lambda v: check_ms("", v), "time_ms")  # a latency or overhead: 0 to one hour


def bounded_float(
    low: float, high: float, *, open_low: bool = False, open_high: bool = False, name: str = "float"
) -> Callable[[str], float]:
    """argparse type: a finite number in [low, high] (an end left out with `open_*`)."""
    return library_type(
        lambda text: parse_float(text, low, high, open_low=open_low, open_high=open_high), name
    )


accuracy_floor = bounded_float(0.0, 1.0, open_low=True, name="accuracy")  # --acc-floor


def bounded_int(low: int, high: int = INT64_MAX, name: str = "int") -> Callable[[str], int]:
    """argparse type: an integer in [low, high]; every integer argument is checked by this."""
    return library_type(lambda text: parse_int(text, low, high), name)


positive_int = bounded_int(1, name="positive_int")  # counts and ids
nonnegative_int = bounded_int(0, name="nonnegative_int")
seed_int = bounded_int(0, SEED_MAX, name="seed")
port_int = bounded_int(0, 65535, name="port")

image_size_int = bounded_int(8, MAX_IMAGE_SIZE, name="image size")
epochs_int = bounded_int(1, MAX_EPOCHS, name="epochs")
steps_int = bounded_int(1, MAX_STEPS, name="steps")


keep_spec = library_type(parse_keep_values, "keep")
"""argparse type: ``name=fraction[,name=fraction...]`` (fractions in (0, 1])."""


def print_json(obj: object) -> None:
    sys.stdout.write(json_text(obj))


def output(as_json: bool, document: object, text: Callable[[], str]) -> int:
    """Print a command's result: its JSON document, or its text; exit code 0."""
    if as_json:
        print_json(document)
    else:
        print(text())
    return 0


TRUST_CODE_HELP = (
    "load the model file although its layers carry code (a Lambda, a custom layer): that code "
    "runs on this machine; only for files you trust"
)


threads_int = bounded_int(1, MAX_THREADS, name="threads")
THREADS_HELP = f"TFLite threads (1; at most {MAX_THREADS}: more cannot run on any one host)"
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


def parse_accuracy(text: str) -> str:
    """argparse check of --accuracy (the library's, imported when a command parses it)."""
    from cnnpc.accuracy import parse_accuracy as check

    return check(text)


def add_accuracy_arguments(p: argparse.ArgumentParser) -> None:
    """Where accuracies come from and are cached (search, sweep): one definition."""
    p.add_argument("--seed", type=seed_int, default=0)
    add_storage_argument(p)
    p.add_argument(
        "--epochs", type=epochs_int, help=f"fine-tune epochs per candidate (at most {MAX_EPOCHS:,})"
    )
    p.add_argument("--data", metavar="DIR", help="your data: one folder per class")
    p.add_argument("--weights", metavar="FILE", help="your trained Keras model")
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
