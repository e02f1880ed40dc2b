"""The `cnnpc` command: thin wrappers that parse arguments, call one library function, print."""

from __future__ import annotations

from cnnpc.cli._main import main, run

__all__ = ["main", "run"]
