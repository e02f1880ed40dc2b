"""The CLI generated from the job records, and the helpers commands share.

A command's options are declared once, on the fields of the record it fills (`cnnpc.jobs`,
`option(...)`; see `cnnpc/jobs/_options.py`). `command(sub, name, Record, run, help=...)` adds
the subcommand with the record's fields as options, in field order (`add_record`: flags, type,
default, metavar, choices, required, nargs, `store_true`, exclusive groups, nested records), then
`--json`; `run` gets the record back with `record_from(Record, args, **extra)`, by field name.
The argparse types below wrap the library's parsers for options not yet declared on a record.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from cnnpc import jobs
from cnnpc._text import json_text
from cnnpc.errors import InputError
from cnnpc.jobs import (
    STORAGE_HELP,
    THREADS_HELP,
    TIMEOUT_HELP,
    TRUST_CODE_HELP,
    Exclusive,
    arguments_of,
    cli_fields,
)
from cnnpc.records import INT64_MAX

T = TypeVar("T")
__all__ = ["THREADS_HELP", "TIMEOUT_HELP", "TRUST_CODE_HELP"]


def library_type(parse: Callable[[str], T], name: str | None = None) -> Callable[[str], T]:
    """argparse type from a library parser: its one-line InputError becomes argparse's error."""

    def convert(text: str) -> T:
        try:
            return parse(text)
        except InputError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = name if name is not None else getattr(parse, "__name__", "value")
    return convert


def bounded_float(
    low: float, high: float, *, open_low: bool = False, open_high: bool = False, name: str = "float"
) -> Callable[[str], float]:
    """argparse type: cnnpc.jobs.bounded_float."""
    return library_type(
        jobs.bounded_float(low, high, open_low=open_low, open_high=open_high, name=name)
    )


def bounded_int(low: int, high: int = INT64_MAX, name: str = "int") -> Callable[[str], int]:
    """argparse type: cnnpc.jobs.bounded_int."""
    return library_type(jobs.bounded_int(low, high, name))


# argparse types of the library's parsers (cnnpc.jobs), for commands not generated from a record
positive_float = library_type(jobs.positive_float)
nonnegative_float = library_type(jobs.nonnegative_float)
rate_mbps = library_type(jobs.rate_mbps)
budget_ms = library_type(jobs.budget_ms)
time_ms = library_type(jobs.time_ms)
accuracy_floor = library_type(jobs.accuracy_floor)
positive_int = library_type(jobs.positive_int)
nonnegative_int = library_type(jobs.nonnegative_int)
seed_int = library_type(jobs.seed_int)
port_int = library_type(jobs.port_int)
image_size_int = library_type(jobs.image_size_int)
epochs_int = library_type(jobs.epochs_int)
steps_int = library_type(jobs.steps_int)
keep_spec = library_type(jobs.keep_spec)
threads_int = library_type(jobs.threads_int)
timeout_s = library_type(jobs.timeout_s)
search_id = library_type(jobs.search_id)


def add_record(
    p: argparse.ArgumentParser,
    record: type,
    groups: dict[str, argparse._MutuallyExclusiveGroup] | None = None,
) -> None:
    """The fields of `record` that carry an option (cnnpc.jobs.option) as `p`'s arguments, in
    field order: a nested record's fields in its place, exclusive groups made on first use."""
    groups = {} if groups is None else groups
    for f, opt in cli_fields(record):
        if opt.nested:
            add_record(p, f.default_factory, groups)  # type: ignore[arg-type]
            continue
        kwargs: dict[str, Any] = {"help": opt.help}
        if opt.action is not None:
            kwargs["action"] = opt.action
        else:
            if opt.type is not None:
                kwargs["type"] = opt.type if isinstance(opt.type, type) else library_type(opt.type)
            kwargs |= {"metavar": opt.metavar, "choices": opt.choices, "nargs": opt.nargs}
            kwargs = {k: v for k, v in kwargs.items() if v is not None or k == "help"}
        if f.default is not dataclasses.MISSING and not opt.negate and opt.action is None:
            kwargs["default"] = f.default
        elif f.default_factory is not dataclasses.MISSING:
            kwargs["default"] = f.default_factory()
        target: Any = p
        if opt.exclusive is not None:
            target = _group(p, groups, opt.exclusive)
        if not opt.flags:
            target.add_argument(opt.key(f.name), **kwargs)
            continue
        if opt.required:
            kwargs["required"] = True
        if opt.dest is not None:
            kwargs["dest"] = opt.dest
        target.add_argument(*opt.flags, **kwargs)


def _group(
    p: argparse.ArgumentParser, groups: dict[str, argparse._MutuallyExclusiveGroup], ex: Exclusive
) -> argparse._MutuallyExclusiveGroup:
    if ex.name not in groups:
        groups[ex.name] = p.add_mutually_exclusive_group(required=ex.required)
    return groups[ex.name]


def record_from(record: type[T], args: argparse.Namespace, **extra: Any) -> T:
    """`record` from the parsed arguments, each field by its name (never by position)."""
    return arguments_of(record, vars(args), **extra)


def command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    record: type,
    func: Callable[[argparse.Namespace], int],
    *,
    json_help: str | None = "print one JSON object",
    **parser: Any,
) -> argparse.ArgumentParser:
    """A subcommand whose options are `record`'s, then `--json` (unless `json_help` is None)."""
    p = sub.add_parser(name, **parser)
    add_record(p, record)
    if json_help is not None:
        p.add_argument("--json", action="store_true", help=json_help)
    p.set_defaults(func=func)
    return p


def print_json(obj: object) -> None:
    sys.stdout.write(json_text(obj))


def output(as_json: bool, document: object, text: Callable[[], str]) -> int:
    """Print a command's result: its JSON document, or its text; exit code 0."""
    if as_json:
        print_json(document)
    else:
        print(text())
    return 0


# Option groups several commands share (one definition each).


def add_storage_argument(p: argparse.ArgumentParser) -> None:
    """`--storage URL` (any command that reads or writes the results database)."""
    p.add_argument("--storage", metavar="URL", help=STORAGE_HELP)
