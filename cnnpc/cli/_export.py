"""`cnnpc export SEARCH... --xlsx FILE` and `cnnpc export SEARCH --json FILE`.

Both targets are checked first, everything is read and built before anything is written, and
the files land together (cnnpc._files), so an unknown search or a bad path leaves no file behind.
"""

from __future__ import annotations

import argparse
import sys

from cnnpc.cli._common import command, record_from
from cnnpc.jobs import ExportJob


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    command(
        sub,
        "export",
        ExportJob,
        run_export,
        json_help=None,
        help="write searches to an Excel workbook or a JSON deployment plan",
        description="--xlsx: for one or more searches (e.g. one model at 1, 5 and 10 Mbps) a "
        "Summary sheet to read (per search: the best plan, its latency breakdown beside the "
        "baselines with a chart, speedups, traffic, spend), the tables Searches, Plans, Trials "
        "and Pareto (one latency/accuracy chart per search) and the charts' points. --json: "
        "the best plan of one search as a deployment plan (schema_version 1).",
    )


def run_export(args: argparse.Namespace) -> int:
    from cnnpc.jobs import export_searches

    sys.stdout.write(export_searches(record_from(ExportJob, args)))
    return 0
