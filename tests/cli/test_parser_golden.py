"""The whole `cnnpc` parser, dumped to a canonical text, equals the golden made before the CLI
was generated from the job records: help, errors and defaults of every option stay the same
(`func`, the function a command runs, is left out: it is how the CLI calls, not what it asks).

Regenerate (only when an option is meant to change, and review the diff):
    CNNPC_UPDATE_GOLDEN=1 python -m pytest -q tests/cli/test_parser_golden.py
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from cnnpc.cli._main import build_parser

GOLDEN = Path(__file__).parent / "data" / "parser.txt"


def _name(value: object) -> str:
    if value is None:
        return "None"
    return str(getattr(value, "__name__", repr(value)))


def _action(action: argparse.Action, indent: str) -> list[str]:
    fields = {
        "class": type(action).__name__,
        "option_strings": repr(action.option_strings),
        "dest": repr(action.dest),
        "nargs": repr(action.nargs),
        "const": repr(action.const),
        "default": repr(action.default),
        "type": _name(action.type),
        "choices": repr(None if action.choices is None else list(action.choices)),
        "required": repr(action.required),
        "help": repr(action.help),
        "metavar": repr(action.metavar),
    }
    return [indent + "action " + " ".join(f"{k}={v}" for k, v in fields.items())]


def _dump(parser: argparse.ArgumentParser, indent: str = "") -> list[str]:
    defaults = sorted((k, _name(v)) for k, v in parser._defaults.items() if k != "func")
    lines = [
        f"{indent}parser prog={parser.prog!r}",
        f"{indent}  description={parser.description!r}",
        f"{indent}  defaults={defaults!r}",
    ]
    for action in parser._actions:
        lines += _action(action, indent + "  ")
        if isinstance(action, argparse._SubParsersAction):
            helps = {c.dest: c.help for c in action._choices_actions}
            for name, sub in action.choices.items():
                lines.append(f"{indent}    subcommand {name!r} help={helps.get(name)!r}")
                lines += _dump(sub, indent + "      ")
    for group in parser._mutually_exclusive_groups:
        dests = [a.dest for a in group._group_actions]
        lines.append(f"{indent}  exclusive required={group.required!r} dests={dests!r}")
    return lines


def parser_text() -> str:
    return "\n".join(_dump(build_parser())) + "\n"


def test_parser_equals_golden():
    text = parser_text()
    if os.environ.get("CNNPC_UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(text, encoding="utf-8")
    assert text == GOLDEN.read_text(encoding="utf-8")
