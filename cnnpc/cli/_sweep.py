"""`cnnpc sweep`: the best plan over a bandwidth grid — when should a deployment re-partition?"""

from __future__ import annotations

import argparse
import sys

from cnnpc.cli._common import command, print_json, record_from
from cnnpc.jobs import SweepRequest


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    command(
        sub,
        "sweep",
        SweepRequest,
        run,
        help="best plan over a grid of bandwidths: where to re-partition, and the regret of not",
        description="Find the best plan at every bandwidth (and device) of a grid, re-using the "
        "shared accuracy cache; report where the best split or compression changes and how much "
        "slower each plan is when kept fixed across the grid.",
    )


def run(args: argparse.Namespace) -> int:
    from cnnpc.jobs import sweep, sweep_text

    report = sweep(record_from(SweepRequest, args).job())
    if args.json:
        print_json(report)
        return 0
    print(sweep_text(report))
    for key in ("png", "xlsx"):
        if key in report:
            print(f"wrote {report[key]}", file=sys.stderr)
    return 0
