"""`cnnpc sweep`: the best plan over a bandwidth grid — when should a deployment re-partition?"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cnnpc._text import format_table
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

if TYPE_CHECKING:
    from cnnpc.accuracy import AccuracySpec

MAX_FINETUNES = 1_000_000
"""Each fine-tune takes seconds to minutes: a larger budget is a typo."""
SUPERNET_ESTIMATES = 1_000_000
"""No cap on supernet estimates (seconds each): every point's walk gets the ones it needs."""


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
    p.add_argument("--png", type=Path, default=None, metavar="FILE", help="write a plot")
    p.add_argument("--xlsx", type=Path, default=None, metavar="FILE", help="write a workbook")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from cnnpc._files import check_file_targets
    from cnnpc.storage import display_url, open_around, resolve_url
    from cnnpc.sweep import SweepSettings, parse_devices, run_sweep

    spec = accuracy_spec(args)
    settings = SweepSettings(
        model=args.model,
        devices=parse_devices(args.device),
        bandwidths=args.bandwidth,
        acc_floor=args.acc_floor,
        links=link_options(args),
        max_finetunes=_max_measurements(args, spec),
        surrogate=not args.no_surrogate,
        keep_grid=args.keep_grid,
    )
    for device in settings.devices:  # validate names before anything heavy starts
        settings.planner(device, settings.bandwidths[0])
    check_file_targets(p for p in (args.png, args.xlsx) if p is not None)
    checked = spec.check(whole_table=True)
    url = resolve_url(args.storage)
    # loading --weights and training may refuse: no new database is left behind then
    storage, source = open_around(url, lambda: spec.open(checked))
    if checked is not None:  # a table: its rows are the measurements, nothing is tuned
        from cnnpc.accuracy import preload

        preload(storage, checked)
    result = run_sweep(settings, source, storage)
    report = result.as_dict() | {"storage": display_url(storage.url)}
    if checked is not None:
        report["accuracy_table"] = {"file": checked.table.path, "rows": len(checked.table.rows)}
    if spec.kind == "supernet":
        from cnnpc.accuracy import supernet_use

        report["supernet"] = supernet_use(source)
    if args.png is not None:
        from cnnpc.sweep import plot_sweep

        report["png"] = str(plot_sweep(result, args.png))
    if args.xlsx is not None:
        from cnnpc.sweep import write_sweep_xlsx

        report["xlsx"] = str(write_sweep_xlsx(result, args.xlsx))
    if args.json:
        print_json(report)
    else:
        _print_report(report)
    return 0


def _max_measurements(args: argparse.Namespace, spec: AccuracySpec) -> int:
    """A table is never tuned; supernet estimates take seconds, so every bandwidth gets them."""
    kind = spec.kind
    if kind == "table":
        return 0
    return SUPERNET_ESTIMATES if kind == "supernet" else int(args.max_finetunes)


def _keep(config_key: str) -> str:
    return "no pruning" if config_key == "baseline" else config_key


def _print_report(report: dict[str, Any]) -> None:
    plans = report["plans"]
    labels = {plan_id: label for label, plan_id in plans.items()}
    print(
        f"sweep of {report['model']} on {', '.join(report['devices'])}: "
        f"{len(report['bandwidths_mbps'])} edge->cloud bandwidths "
        f"{report['bandwidths_mbps'][0]:g}..{report['bandwidths_mbps'][-1]:g} Mbps, "
        f"end->edge {report['uplink_mbps']:g} Mbps, accuracy floor {report['acc_floor']:g}"
    )
    rows = []
    for p in report["points"]:
        b = p["best"]
        rows.append(
            [
                p["device"],
                p["bandwidth_mbps"],
                None if b is None else labels[b["plan_id"]],
                None if b is None else b["latency_ms"],
                p["uncompressed_ms"],
                None if b is None else b["mode"],
                None if b is None else ("+".join(b["splits"]) or "-"),
                None if b is None else _keep(b["config_key"]),
                None if b is None else b["val_accuracy"],
                p["unverified"] or None,
            ]
        )
    print(
        format_table(
            [
                "device",
                "Mbps",
                "plan",
                "best ms",
                "unpruned ms",
                "mode",
                "splits",
                "keep",
                "val acc",
                "unverified",
            ],
            rows,
        )
    )
    print()
    if report["thresholds"]:
        print("thresholds (the best plan changes):")
        for t in report["thresholds"]:
            if t["crossover_inside"]:
                where = f"; the two plans cross at {t['crossover_mbps']:.3f} Mbps"
            elif t["from_plan"] == "none" or t["to_plan"] == "none":
                where = ""
            else:  # the lines meet outside the interval, or never
                where = "; their latencies do not cross in between (a third plan may win there)"
            print(
                f"  {t['device']}: {t['from_plan']} -> {t['to_plan']} between "
                f"{t['low_mbps']:g} and {t['high_mbps']:g} Mbps{where}"
            )
    else:
        print("no threshold: one plan is best across the whole grid")
    print()
    print("plans, and the regret of keeping each fixed across the grid:")
    by_id = {p["best"]["plan_id"]: p["best"] for p in report["points"] if p["best"]}
    print(
        format_table(
            [
                "device",
                "plan",
                "mode",
                "splits",
                "keep",
                "best at (Mbps)",
                "max regret ms",
                "max %",
                "at Mbps",
                "mean ms",
                "mean %",
            ],
            [
                [
                    r["device"],
                    r["plan"],
                    by_id[r["plan_id"]]["mode"],
                    "+".join(by_id[r["plan_id"]]["splits"]) or "-",
                    _keep(by_id[r["plan_id"]]["config_key"]),
                    _span(r["best_at_mbps"]),
                    r["max_ms"],
                    r["max_pct"],
                    r["max_at_mbps"],
                    r["mean_ms"],
                    r["mean_pct"],
                ]
                for r in report["regret"]
            ],
        )
    )
    unverified = report["unverified_points"]
    note = (
        f"; at {unverified} condition(s) a never-measured configuration would be faster: the "
        "best plan there is best among measured (raise --max-finetunes to check them)"
        if unverified
        else ""
    )
    print(
        f"\nfine-tunes spent: {report['finetunes']} (budget {report['max_finetunes']}){note}; "
        f"accuracy cache in {report['storage']}"
    )
    estimated = report.get("supernet")
    if estimated is not None:
        print(
            f"accuracies are supernet estimates ({estimated['estimates']} made now; the count "
            "above counts them): confirm a plan with 'cnnpc search --accuracy supernet' or by "
            "fine-tuning"
        )
    for key in ("png", "xlsx"):
        if key in report:
            print(f"wrote {report[key]}", file=sys.stderr)


def _span(values: list[float]) -> str:
    if len(values) <= 3:
        return ", ".join(f"{v:g}" for v in values)
    return f"{values[0]:g}..{values[-1]:g} ({len(values)} pts)"
