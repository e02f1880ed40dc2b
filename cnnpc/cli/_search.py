"""`cnnpc search`: the joint partition + compression search, with a progress bar."""

from __future__ import annotations

import argparse
import sys

from cnnpc.cli._common import command, output, record_from
from cnnpc.jobs import SearchRequest


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    command(
        sub,
        "search",
        SearchRequest,
        run,
        help="joint search of split points and channel pruning (Optuna, stored in SQL)",
        description="Search keep fractions with Optuna; for each, the exact planner picks the "
        "deployment. Every trial is stored; re-running the same command resumes the search.",
    )


def run(args: argparse.Namespace) -> int:
    from cnnpc.jobs import progress_bar, search, search_text

    job = record_from(SearchRequest, args).job()
    outcome = search(job, progress_bar(quiet=not sys.stderr.isatty() and args.json))
    return output(args.json, outcome.report, lambda: search_text(outcome))
