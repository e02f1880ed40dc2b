"""`cnnpc export SEARCH... --xlsx FILE` and `cnnpc export SEARCH --json FILE`.

Everything is read before anything is written, and each file is written atomically, so an
unknown search or an unwritable path leaves no partial file behind.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from cnnpc.cli._browse import search_id
from cnnpc.cli._db import add_storage_argument


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "export",
        help="write searches to an Excel workbook or a JSON deployment plan",
        description="--xlsx: sheets Summary, Plans, Trials and Pareto (with a latency/accuracy "
        "chart) for one or more searches, e.g. one model at 1, 5 and 10 Mbps. --json: the "
        "best plan of one search as a deployment plan (schema_version 1).",
    )
    p.add_argument("searches", type=search_id, nargs="+", metavar="SEARCH", help="search id(s)")
    p.add_argument("--xlsx", type=Path, metavar="FILE", help="write an Excel workbook")
    p.add_argument("--json", type=Path, metavar="FILE", help="write the deployment plan")
    add_storage_argument(p)
    p.set_defaults(func=run_export)


def run_export(args: argparse.Namespace) -> int:
    from cnnpc.errors import InputError
    from cnnpc.export import collect, deployment_plan, export_json, export_xlsx
    from cnnpc.storage import Storage, resolve_url

    if args.xlsx is None and args.json is None:
        raise InputError("nothing to do: give --xlsx FILE and/or --json FILE")
    searches = list(dict.fromkeys(args.searches))
    if args.json is not None and len(searches) != 1:
        raise InputError(f"--json exports one search, got {len(searches)} (use --xlsx for several)")
    with Storage(resolve_url(args.storage), create=False) as storage:
        if args.json is not None:
            # Fail on "no feasible plan" before the workbook is written.
            deployment_plan(collect(storage, searches[0]), storage.display_url)
        if args.xlsx is not None:
            reports = export_xlsx(storage, searches, args.xlsx)
            n_trials = sum(len(r.trials) for r in reports)
            plural = "" if len(reports) == 1 else "es"
            print(f"wrote {args.xlsx} ({len(reports)} search{plural}, {n_trials} trials)")
        if args.json is not None:
            plan = export_json(storage, searches[0], args.json)
            best = plan["plan"]
            latency = "-" if best is None else f"{best['latency_ms']:.2f} ms"
            print(f"wrote {args.json} (search {searches[0]}, best plan {latency})")
    return 0
