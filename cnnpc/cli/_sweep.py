"""`cnnpc sweep`: the best plan over a bandwidth grid — when should a deployment re-partition?"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from cnnpc.cli._common import (
    accuracy_floor,
    accuracy_spec,
    add_accuracy_arguments,
    add_link_arguments,
    bounded_int,
    library_type,
    link_options,
    print_json,
)
from cnnpc.records import MAX_FINETUNES

if TYPE_CHECKING:
    pass


def _grid(text: str) -> tuple[float, ...]:
    from cnnpc.sweep import parse_bandwidths

    return library_type(parse_bandwidths)(text)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from cnnpc.sweep import DEFAULT_MAX_FINETUNES

    p = sub.add_parser(
        "sweep",
        help="best plan over a grid of bandwidths: where to re-partition, and the regret of not",
        description="Find the best plan at every bandwidth (and device) of a grid, re-using the "
        "shared accuracy cache; report where the best split or compression changes and how much "
        "slower each plan is when kept fixed across the grid.",
    )
    add_link_arguments(
        p,
        bandwidth_type=_grid,
        bandwidth_help="edge->cloud grid: START:STOP:STEP (inclusive) or a comma list",
    )
    p.add_argument(
        "--acc-floor", type=accuracy_floor, required=True, metavar="A0", help="val accuracy >= A0"
    )
    p.add_argument(
        "--max-finetunes",
        type=bounded_int(0, MAX_FINETUNES, name="fine-tunes"),
        default=DEFAULT_MAX_FINETUNES,
        metavar="N",
        help=f"fine-tunes the sweep may spend ({DEFAULT_MAX_FINETUNES}; 0: only what is "
        "measured, unmeasured faster candidates are reported as unverified)",
    )
    p.add_argument(
        "--no-surrogate",
        action="store_true",
        help="never rule a candidate out by the accuracy surrogate",
    )
    add_accuracy_arguments(p)
    p.add_argument("--png", type=Path, metavar="FILE", help="write a plot")
    p.add_argument("--xlsx", type=Path, metavar="FILE", help="write a workbook")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from cnnpc.jobs import SweepJob, max_measurements, sweep, sweep_text
    from cnnpc.sweep import SweepSettings, parse_devices

    spec = accuracy_spec(args)
    settings = SweepSettings(
        model=args.model,
        devices=parse_devices(args.device),
        bandwidths=args.bandwidth,
        acc_floor=args.acc_floor,
        links=link_options(args),
        max_finetunes=max_measurements(spec, args.max_finetunes),
        surrogate=not args.no_surrogate,
        keep_grid=args.keep_grid,
    )
    report = sweep(SweepJob(settings, spec, args.storage, args.png, args.xlsx))
    if args.json:
        print_json(report)
        return 0
    print(sweep_text(report))
    for key in ("png", "xlsx"):
        if key in report:
            print(f"wrote {report[key]}", file=sys.stderr)
    return 0
