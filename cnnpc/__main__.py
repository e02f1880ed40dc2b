"""`python -m cnnpc` runs the CLI."""

from __future__ import annotations

from cnnpc.cli import run

run()
