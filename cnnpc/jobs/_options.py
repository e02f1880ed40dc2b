"""A command's options, declared once on the fields of the record the command fills.

`option(...)` is a `dataclasses.field` whose metadata (`Option`) says how `cnnpc X` asks for the
field: flags, text parser, default, metavar, choices, `store_true`, nargs, an exclusive group
and help. Python users read the same documentation (`help(DeployJob)`,
`dataclasses.fields(DeployJob)[i].metadata["option"]`). The CLI adds a record's fields as its
options in field order (`cnnpc.cli._common.add_record` / `command`) and builds the record back
from the parsed arguments by field name (`record_from`), never by position. A field's argument
is named as argparse names it (`Option.key`: its first long flag), so a field may keep its own
name: `upload_mbps: float | None = option("--upload-rate", default=None, ...)`.

To generate a command from a record: declare its fields with `option` (kw_only dataclass, so
required fields need no ordering; no default = a required option, a positional without flags),
shared groups with a nested record (`options(LinkChoice)`) or a function returning `option`
(`keep_grid_option`); fields without `option` (progress, ...) are passed to `record_from`.
Stage records (SearchSettings, LinkOptions, AccuracySpec) carry no options: the job's flat
record builds them, in one place.

The text parsers here raise `InputError` like every library check (the CLI turns it into
argparse's one-line error); each wraps one `cnnpc.records` check, defined once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from cnnpc.codec import ENTROPY_CODERS, parse_bits
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
    from cnnpc.runtime import TlsFiles, Transport

T = TypeVar("T")
OPTION = "option"
"""The metadata key of a field's `Option`."""
STORAGE_HELP = (
    "SQLAlchemy database URL (default: $CNNPC_STORAGE, else sqlite:///results/cnnpc.db under the "
    "working directory)"
)
TRUST_CODE_HELP = (
    "load the model file although its layers carry code (a Lambda, a custom layer): that code "
    "runs on this machine; only for files you trust"
)
THREADS_HELP = f"TFLite threads (1; at most {MAX_THREADS}: more cannot run on any one host)"
TIMEOUT_HELP = (
    "seconds, 0.001 to 86400 (one day): a socket timeout beyond that overflows the C timeout"
)


@dataclass(frozen=True)
class Exclusive:
    """A mutually exclusive group of options: fields naming the same group share one."""

    name: str
    required: bool = False


@dataclass(frozen=True)
class Option:
    """How the command line asks for one field (argparse's `add_argument` terms).

    `flags` empty: a positional argument named `dest` (else the field's name). `dest`: the name
    in the parsed arguments when it is not argparse's. `negate`: a `store_true` flag whose value
    the field holds negated (`--no-cache` fills `use_cache`). `nested`: the field is a record
    of options itself, added in place (its fields' options, then the record built from them)."""

    flags: tuple[str, ...] = ()
    help: str | None = None
    type: Callable[[str], Any] | None = None
    metavar: str | None = None
    choices: tuple[str, ...] | None = None
    required: bool = False
    action: str | None = None
    nargs: str | None = None
    dest: str | None = None
    exclusive: Exclusive | None = None
    negate: bool = False
    nested: bool = False

    def key(self, field_name: str) -> str:
        """Its name among the parsed arguments: `dest`, else argparse's (the first long flag),
        else (a positional) the field's."""
        if self.dest is not None:
            return self.dest
        long = [f for f in self.flags if f.startswith("--")] or list(self.flags)
        return long[0].lstrip("-").replace("-", "_") if long else field_name


def option(
    *flags: str,
    default: Any = dataclasses.MISSING,
    factory: Callable[[], Any] | None = None,
    help: str | None = None,
    type: Callable[[str], Any] | None = None,
    metavar: str | None = None,
    choices: tuple[str, ...] | None = None,
    action: str | None = None,
    nargs: str | None = None,
    dest: str | None = None,
    exclusive: Exclusive | None = None,
    negate: bool = False,
    required: bool | None = None,
) -> Any:
    """A record field the command line fills. Without a default the option is required (a
    positional argument when no flags are given); `action="store_true"` defaults to False."""
    if action == "store_true" and default is dataclasses.MISSING:
        default = negate
    needed = default is dataclasses.MISSING and factory is None
    meta = Option(
        flags, help, type, metavar, choices, needed if required is None else required,
        action, nargs, dest, exclusive, negate,
    )  # fmt: skip
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata={OPTION: meta})
    return dataclasses.field(default=default, metadata={OPTION: meta})


def options(record: type[T]) -> T:
    """A field holding a record of options (shared by several commands), added in place."""
    return dataclasses.field(default_factory=record, metadata={OPTION: Option(nested=True)})


def cli_fields(record: type) -> list[tuple[dataclasses.Field[Any], Option]]:
    """The fields of `record` the command line fills, in order, with their options."""
    return [(f, f.metadata[OPTION]) for f in dataclasses.fields(record) if OPTION in f.metadata]


def arguments_of(record: type[T], values: Mapping[str, Any], **extra: Any) -> T:
    """`record` built from parsed `values` (by each field's dest), plus `extra` fields."""
    kwargs: dict[str, Any] = {}
    for f, opt in cli_fields(record):
        if opt.nested:
            kwargs[f.name] = arguments_of(f.default_factory, values)  # type: ignore[arg-type]
            continue
        value = values[opt.key(f.name)]
        kwargs[f.name] = (not value) if opt.negate else value
    return record(**kwargs, **extra)


def named(parse: Callable[[str], T], name: str) -> Callable[[str], T]:
    """`parse` under the name argparse shows (`invalid NAME value`)."""
    parse.__name__ = name
    return parse


def _number(check: Callable[[float], float], name: str) -> Callable[[str], float]:
    return named(lambda text: check(parse_number(text)), name)


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
    """A finite number in [low, high] (an end left out with `open_*`)."""
    return named(
        lambda text: parse_float(text, low, high, open_low=open_low, open_high=open_high), name
    )


accuracy_floor = bounded_float(0.0, 1.0, open_low=True, name="accuracy")  # --acc-floor


def bounded_int(low: int, high: int = INT64_MAX, name: str = "int") -> Callable[[str], int]:
    """An integer in [low, high]; every integer option is checked by this."""
    return named(lambda text: parse_int(text, low, high), name)


positive_int = bounded_int(1, name="positive_int")  # counts and ids
nonnegative_int = bounded_int(0, name="nonnegative_int")
seed_int = bounded_int(0, SEED_MAX, name="seed")
port_int = bounded_int(0, 65535, name="port")
image_size_int = bounded_int(8, MAX_IMAGE_SIZE, name="image size")
epochs_int = bounded_int(1, MAX_EPOCHS, name="epochs")
steps_int = bounded_int(1, MAX_STEPS, name="steps")
threads_int = bounded_int(1, MAX_THREADS, name="threads")
timeout_s = bounded_float(1e-3, MAX_TIMEOUT_S, name="seconds")
keep_spec = named(lambda text: parse_keep_values(text), "keep")
"""``name=fraction[,name=fraction...]`` (fractions in (0, 1])."""


def search_id(text: str) -> int:
    """A search id, as `3` or as its study name `cnnpc-3`."""
    return positive_int(text.strip().removeprefix("cnnpc-"))


def parse_accuracy(text: str) -> str:
    """--accuracy, checked by the accuracy package (imported when an option is parsed)."""
    from cnnpc.accuracy import parse_accuracy as check

    return check(text)


def parse_keep_grid(text: str) -> Any:
    """--keep-grid, checked by the spaces package."""
    from cnnpc.spaces import parse_keep_grid as check

    return check(text)


def keep_grid_option() -> Any:
    """--keep-grid (search, sweep, compress): one definition."""
    return option(
        "--keep-grid",
        default=None,
        type=parse_keep_grid,
        metavar="channels|F,F,...",
        help="keep grid instead of the search space's: 'channels' (every channel count, "
        "CNNPC's grid) or fractions in (0, 1]",
    )


def end_memory_option() -> Any:
    """--end-memory MB (plan, search): one definition."""
    return option(
        "--end-memory",
        default=None,
        type=positive_float,
        metavar="MB",
        help="room on the end device for its part (MB = 2^20 bytes of int8 weights): plans "
        "whose end part holds more are not chosen; adds each tier's part size to --json",
    )


def storage_option() -> Any:
    """--storage URL (any command that reads or writes the results database)."""
    return option("--storage", default=None, metavar="URL", help=STORAGE_HELP)


@dataclass(frozen=True, kw_only=True)
class StorageChoice:
    """A command asked only which results database (db upgrade|current, searches)."""

    storage: str | None = storage_option()


def trust(trust_code: bool, weights: str | Path | None) -> None:
    """`trust_code` beside a `weights` file: that file may run its own code (the user says so)."""
    if trust_code and weights is not None:
        from cnnpc.modelfile import trust_model_file

        trust_model_file(weights)


def _addresses(text: str) -> tuple[tuple[str, int], ...]:
    from cnnpc.runtime import parse_addresses  # not at import: the runtime loads gRPC

    return parse_addresses(text)


addresses = named(_addresses, "addresses")
"""``HOST:PORT[,HOST:PORT...]``: one server, or several replicas."""


@dataclass(frozen=True, kw_only=True)
class TlsFileChoice:
    """A tier's certificate and key and the CA it trusts (serve, infer, validate)."""

    tls_cert: Path | None = option(
        "--tls-cert",
        default=None,
        type=Path,
        metavar="FILE",
        help="this side's certificate (PEM; 'cnnpc certs' makes them): TLS",
    )
    tls_key: Path | None = option(
        "--tls-key", default=None, type=Path, metavar="FILE", help="its private key (mode 0600)"
    )
    tls_ca: Path | None = option(
        "--tls-ca",
        default=None,
        type=Path,
        metavar="FILE",
        help="the CA to trust; on a server, clients must show a certificate it signed (mTLS)",
    )

    def files(self) -> TlsFiles:
        from cnnpc.runtime import TlsFiles  # not at import: the runtime loads gRPC

        return TlsFiles(self.tls_cert, self.tls_key, self.tls_ca)


@dataclass(frozen=True, kw_only=True)
class TlsChoice(TlsFileChoice):
    """How a tier secures its connections (serve, infer): its certificate and key, the CA it
    trusts (on a server: mutual TLS), or plaintext off loopback (`insecure`)."""

    insecure: bool = option(
        "--insecure",
        action="store_true",
        help="plaintext off loopback (a warning on every start): only on a network you trust",
    )

    def transport(self, host: str) -> Transport:
        """The runtime's `Transport` for a server on, or a client of, `host` (the policy:
        TLS when files are given, plaintext on loopback, else only with --insecure)."""
        from cnnpc.runtime import transport_policy

        return transport_policy(host, self.files(), self.insecure)


bits_list = named(parse_bits, "bits")
"""``8,4,2``: distinct bit widths in 1..8."""


PRICE_ONLY = "each link's is chosen by price alone (its accuracy is not measured here)"
SEARCHED = (
    "searched jointly with the keep fractions: each configuration's split tensors get a width, "
    "fine-tuned through it (include 8)"
)


def bits_option(how: str = PRICE_ONLY) -> Any:
    """--bits (plan, deploy: chosen by price; search: searched, `how`): one definition."""
    return option(
        "--bits",
        default=None,
        type=bits_list,
        metavar="B[,B...]",
        help=f"bit widths a split tensor may travel in, 1..8 (default 8: int8, as deployed); {how}",
    )


def objective_option(choices: tuple[str, ...], help: str) -> Any:
    """--objective (plan, search, sweep): one flag, each command its choices and meaning."""
    return option("--objective", default="latency", choices=choices, help=help)


def fps_option(
    help: str = "only plans whose pipeline (end, links, edge, cloud) reaches F frames per second",
) -> Any:
    """--fps F (plan, search, sweep): the frame rate a plan's pipeline must reach."""
    return option("--fps", default=None, type=positive_float, metavar="F", help=help)


def radio_option() -> Any:
    """--radio (plan, search, sweep): the radio whose power figures price the phone's energy."""
    from cnnpc.profiles import RADIOS

    return option(
        "--radio",
        default=None,
        choices=RADIOS,
        help="the phone's radio whose power figures price energy (default: the profile's first)",
    )


def entropy_option(measured: bool = False) -> Any:
    """--entropy (plan; deploy, where the coder's ratio is `measured`): one definition."""
    ratio = (
        "its ratio is measured on the deployed parts"
        if measured
        else "is priced at ratio 1 until measured"
    )
    return option(
        "--entropy",
        default=None,
        choices=ENTROPY_CODERS,
        help=f"lossless coder over the packed split tensor (default none; zstd needs the "
        f"zstandard package and {ratio})",
    )
