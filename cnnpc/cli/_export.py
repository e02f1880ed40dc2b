"""`cnnpc export SEARCH... --xlsx FILE` and `cnnpc export SEARCH --json FILE`.

Both targets are checked first, everything is read and built before anything is written, and
the files land together (cnnpc._files), so an unknown search or a bad path leaves no file behind.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from cnnpc.cli._common import add_storage_argument, search_id


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "export",
        help="write searches to an Excel workbook or a JSON deployment plan",
        description="--xlsx: for one or more searches (e.g. one model at 1, 5 and 10 Mbps) a "
        "Summary sheet to read (per search: the best plan, its latency breakdown beside the "
        "baselines with a chart, speedups, traffic, spend), the tables Searches, Plans, Trials "
        "and Pareto (one latency/accuracy chart per search) and the charts' points. --json: "
        "the best plan of one search as a deployment plan (schema_version 1).",
    )
    p.add_argument("searches", type=search_id, nargs="+", metavar="SEARCH", help="search id(s)")
    p.add_argument("--xlsx", type=Path, metavar="FILE", help="write an Excel workbook")
    p.add_argument("--json", type=Path, metavar="FILE", help="write the deployment plan")
    add_storage_argument(p)
    p.set_defaults(func=run_export)


def run_export(args: argparse.Namespace) -> int:
    from cnnpc.errors import InputError
    from cnnpc.export import export
    from cnnpc.storage import Storage, resolve_url

    if args.xlsx is None and args.json is None:
        raise InputError("nothing to do: give --xlsx FILE and/or --json FILE")
    searches = list(dict.fromkeys(args.searches))
    if args.json is not None and len(searches) != 1:
        raise InputError(f"--json exports one search, got {len(searches)} (use --xlsx for several)")
    with Storage(resolve_url(args.storage), create=False) as storage:
        done = export(storage, searches, xlsx=args.xlsx, json_path=args.json)
    if args.xlsx is not None:
        n_trials = sum(len(r.trials) for r in done.reports)
        plural = "" if len(done.reports) == 1 else "es"
        print(f"wrote {args.xlsx} ({len(done.reports)} search{plural}, {n_trials} trials)")
    if done.plan is not None:
        best = done.plan["plan"]
        latency = "-" if best is None else f"{best['latency_ms']:.2f} ms"
        print(f"wrote {args.json} (search {searches[0]}, best plan {latency})")
    return 0
