"""Entry point: builds the parser from the command modules and maps our errors to exit codes.

Command modules import nothing heavy at import time, so `cnnpc --help` and `cnnpc plan` never
load TensorFlow.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from cnnpc import __version__
from cnnpc.errors import (
    FULL_INSTALL,
    CnnpcError,
    InfeasibleError,
    needs_full_install,
    printable,
    show_notes,
)


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one line on stderr and exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{printable(f'{self.prog}: error: {message}')} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    from cnnpc.cli import (
        _accuracy,
        _browse,
        _certs,
        _compress,
        _db,
        _deploy,
        _export,
        _models,
        _plan,
        _profile,
        _runtime,
        _search,
        _sweep,
        _upload,
        _validate,
    )

    parser = _Parser(
        prog="cnnpc",
        description="Joint partition and channel pruning of CNNs across end device, edge "
        "and cloud.",
    )
    parser.add_argument("--version", action="version", version=f"cnnpc {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in (
        *(_plan, _search, _compress, _browse, _export, _db, _sweep, _profile, _upload),
        *(_deploy, _runtime, _validate, _models, _accuracy, _certs),
    ):
        module.register(sub)
    return parser


def _trust(args: argparse.Namespace) -> None:
    """`--trust-code` beside `--weights FILE`: that file may run its own code (and says so)."""
    if getattr(args, "trust_code", False) and getattr(args, "weights", None) is not None:
        from cnnpc.modelfile import trust_model_file

        trust_model_file(args.weights)


def _full_install(exc: ModuleNotFoundError, command: str) -> int:
    """A workstation command on the runtime-only install (no TensorFlow, SQLAlchemy, ...): one
    line and exit 2, for whichever import (an option's parser or the command) found it missing."""
    missing = needs_full_install(exc)
    if missing is None:  # not a module of the `full` extra: a broken install, shown in full
        raise exc
    print(f"cnnpc {command} needs the full install ({missing}): {FULL_INSTALL}", file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    show_notes()
    parser = build_parser()
    words = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parser.parse_args(words)
    except ModuleNotFoundError as exc:
        return _full_install(exc, next((w for w in words if not w.startswith("-")), ""))
    try:
        _trust(args)
        code: int = args.func(args)
    except InfeasibleError as exc:
        print(printable(f"cnnpc {args.command}: {exc}"), file=sys.stderr)
        return 1
    except CnnpcError as exc:
        print(printable(f"cnnpc {args.command}: error: {exc}"), file=sys.stderr)
        return 2
    except ModuleNotFoundError as exc:
        return _full_install(exc, args.command)
    except KeyboardInterrupt:
        print(f"cnnpc {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `cnnpc ... | head`: the reader left; not an error of ours
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    return code


def run() -> NoReturn:
    sys.exit(main())
