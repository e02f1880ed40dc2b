"""`python -m cnnpc` runs the CLI."""

from __future__ import annotations

from cnnpc.cli._main import run

run()
