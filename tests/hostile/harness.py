"""Run one hostile case through the real CLI in-process and check what a user would see.

A case passes when the command exits 2 with exactly one line on stderr (no traceback, no raw
control character), creates or changes no file in the working folder, and ends within its time
bound (a SIGALRM watchdog: a read that blocks on a FIFO fails the case instead of the suite).
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cnnpc.cli._main import main

TIME_BOUND_S = 20


class Hung(Exception):
    """The watchdog fired: the command did not end within its bound."""


@dataclass(frozen=True)
class Outcome:
    code: int
    stderr: str
    seconds: float
    changed: tuple[str, ...]


def snapshot(root: Path) -> dict[str, tuple[int, int, int]]:
    """Every path under `root` (not following links) with its kind, size and mtime."""
    found: dict[str, tuple[int, int, int]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            st = path.lstat()
            found[str(path.relative_to(root))] = (st.st_mode, st.st_size, st.st_mtime_ns)
    return found


@contextlib.contextmanager
def watchdog(seconds: int) -> Iterator[None]:
    def fire(signum: int, frame: object) -> None:
        raise Hung(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, fire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def run_case(argv: list[str], cwd: Path, bound: int = TIME_BOUND_S) -> Outcome:
    """Run `cnnpc argv` in `cwd`; the stderr it wrote, its exit code and the paths it touched."""
    before = snapshot(cwd)
    err = io.StringIO()
    start = time.monotonic()
    with (
        contextlib.redirect_stderr(err),
        contextlib.redirect_stdout(io.StringIO()),
        watchdog(bound),
    ):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse's refusals
            code = exc.code if isinstance(exc.code, int) else 1
        except Hung:
            code = -1
    seconds = time.monotonic() - start
    after = snapshot(cwd)
    changed = tuple(
        sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    )
    return Outcome(code, err.getvalue(), seconds, changed)


def check_refused(outcome: Outcome, argv: list[str]) -> None:
    """The assertions every hostile case shares (see the module docstring)."""
    text = outcome.stderr
    lines = [line for line in text.splitlines() if line.strip()]
    where = f"cnnpc {' '.join(a[:60] for a in argv)}"
    assert outcome.code != -1, f"{where}: hung (no answer within the bound)"
    assert "Traceback" not in text, f"{where}: traceback:\n{text}"
    assert outcome.code == 2, f"{where}: exit {outcome.code}, stderr: {text[-500:]!r}"
    notes = [line for line in lines if line.startswith("note:")]
    assert len(lines) - len(notes) == 1, f"{where}: {len(lines)} lines on stderr: {text[-800:]!r}"
    assert not any(ord(c) < 32 and c != "\n" for c in text), f"{where}: raw control in {text!r}"
    assert len(text) < 2000, f"{where}: {len(text)} characters of error"
    assert not outcome.changed, f"{where}: created or changed {list(outcome.changed)}"
