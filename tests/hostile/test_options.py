"""Every option of every command that takes a number or a structured value refuses hostile
values in one line (exit 2, nothing written, in bounded time).

The options are read from the real parser, so a new option is covered as soon as it exists; a
new command needs one row in COMMANDS (a test fails until it has one).
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path

import pytest
from hostile.harness import check_refused, run_case

from cnnpc.cli._main import build_parser

# A valid invocation of each command: the hostile option is appended to it.
COMMANDS: dict[str, list[str]] = {
    "plan": ["plan", "--model", "mobilenet", "--device", "MI8", "--bandwidth", "10"],
    "profiles": ["profiles"],
    "search": ["search", "--model", "mobilenet", "--device", "MI8", "--bandwidth", "10"],
    "compress": ["compress", "--model", "mobilenet", "--keep", "block1=1"],
    "searches": ["searches"],
    "trials": ["trials", "1"],
    "show": ["show", "1"],
    "export": ["export", "1", "--json", "p.json"],
    "db upgrade": ["db", "upgrade"],
    "db current": ["db", "current"],
    "sweep": ["sweep", "--model", "mobilenet", "--device", "MI8", "--bandwidth", "1,10"],
    "profile": ["profile", "--model", "mobilenet", "--device", "host"],
    "profile import": ["profile", "import", "--model", "mobilenet", "--device", "x"],
    "profile export": ["profile", "export", "--model", "mobilenet", "--out", "e"],
    "profile device": ["profile", "device", "d"],
    "upload-plan": ["upload-plan", "--model", "mobilenet", "--device", "MI8"],
    "deploy": ["deploy", "1", "--out", "plan"],
    "serve": ["serve", "--role", "edge", "--plan", "plan", "--port", "0"],
    "infer": ["infer", "--plan", "plan"],
    "validate": ["validate", "1"],
    "models add": ["models", "add", "m", "--app", "MobileNetV2"],
    "models list": ["models", "list"],
    "models show": ["models", "show", "mobilenet"],
    "models remove": ["models", "remove", "m"],
    "accuracy export": ["accuracy", "export", "--model", "mobilenet", "t.csv"],
    "accuracy import": ["accuracy", "import", "t.csv"],
    "certs": ["certs", "--out", "certs", "--hosts", "edge=10.0.0.2"],
}

BIG = str(2**63)
# What no number option may accept: every one is finite, bounded and of its kind.
BAD_NUMBERS = ["-1", "nan", "inf", "-inf", "1e308", BIG, "", "9" * 5000, "1\n2", "\x1b[2J", "½"]
# What no structured option (KEY=VALUE lists, grids, addresses, sources) may accept.
BAD_STRUCTURED = ["", "x" * 5000, "\x1b[2J\nforged", "nan", "=,=,:"]
# Positive options also refuse these (0, and a rate that overflows when divided by).
BAD_POSITIVE = ["0", "1e-320"]
ANY_SMALL = {"--acc-floor"}
"""Positive options that rightly take any tiny value: an accuracy floor of 1e-320 is a floor."""


def leaf_parsers() -> Iterator[tuple[str, argparse.ArgumentParser]]:
    def walk(parser: argparse.ArgumentParser, path: list[str]) -> Iterator:
        yield " ".join(path), parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    yield from walk(sub, [*path, name])

    for name, parser in walk(build_parser(), []):
        if name:
            yield name, parser


def _kind(action: argparse.Action) -> str | None:
    """'int', 'float' or 'structured' for an option with a converting type; None otherwise."""
    convert = action.type
    if convert is None or action.choices or convert in (str, Path):
        return None
    for probe in ("1", "8", "64", "0.5"):
        try:
            value = convert(probe)  # type: ignore[operator]
        except (argparse.ArgumentTypeError, ValueError, TypeError):
            continue
        if isinstance(value, bool):
            return None
        return (
            "int"
            if isinstance(value, int)
            else "float"
            if isinstance(value, float)
            else "structured"
        )
    return "structured"


def _positive(action: argparse.Action, kind: str) -> bool:
    convert = action.type
    try:
        convert("0")  # type: ignore[misc, operator]
    except (argparse.ArgumentTypeError, ValueError):
        return kind != "structured"
    return False


def cases() -> Iterator[tuple[str, str, str]]:
    for command, parser in leaf_parsers():
        for action in parser._actions:
            kind = _kind(action)
            if kind is None or not action.option_strings:
                continue
            option = action.option_strings[-1]
            values = BAD_STRUCTURED if kind == "structured" else BAD_NUMBERS
            if _positive(action, kind):
                values = values + BAD_POSITIVE[: 1 if option in ANY_SMALL else None]
            for value in values:
                yield command, option, value


CASES = list(cases())


def test_every_command_has_a_row():
    commands = {name for name, parser in leaf_parsers() if not parser._subparsers}
    assert commands <= COMMANDS.keys(), f"add a COMMANDS row for {commands - COMMANDS.keys()}"


def test_the_suite_covers_every_typed_option():
    covered = {(c, o) for c, o, _ in CASES}
    assert len(covered) >= 60, len(covered)
    assert ("serve", "--idle-timeout") in covered and ("plan", "--bandwidth") in covered


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("hostile")


@pytest.fixture(autouse=True)
def _isolated(workdir, monkeypatch):
    monkeypatch.chdir(workdir)
    for var in ("CNNPC_STORAGE", "CNNPC_PROFILES"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("CNNPC_MODELS", str(workdir / "models"))


@pytest.mark.parametrize(
    ("command", "option", "value"),
    CASES,
    ids=[f"{c}|{o}|{v[:12]!r}" for c, o, v in CASES],
)
def test_a_hostile_value_is_refused_in_one_line(workdir, command, option, value):
    argv = [*COMMANDS[command], f"{option}={value}" if value.startswith("-") else option]
    if not value.startswith("-"):
        argv.append(value)
    check_refused(run_case(argv, workdir), argv)
