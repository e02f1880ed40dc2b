"""What each command does, as one library call: the stages put together with their storage,
accuracy source and files, and the text they print. Just below the CLI (which only parses and
prints) and above every stage, so a notebook runs exactly what `cnnpc COMMAND` runs.
"""

from __future__ import annotations

from cnnpc.jobs._search import SearchJob, SearchOutcome, search, search_text
from cnnpc.jobs._sweep import SweepJob, max_measurements, sweep, sweep_text

__all__ = [
    "SearchJob",
    "SearchOutcome",
    "SweepJob",
    "max_measurements",
    "search",
    "search_text",
    "sweep",
    "sweep_text",
]
