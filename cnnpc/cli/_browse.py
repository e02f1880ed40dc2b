"""`cnnpc searches`, `cnnpc trials SEARCH`, `cnnpc show SEARCH`: the stored history.

Read-only: a missing SQLite file is an error rather than a new empty database (`searches`
lists none). The text, CSV and JSON forms are the library's (`cnnpc.export`).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from cnnpc.cli._common import add_storage_argument, positive_int, print_json, search_id

if TYPE_CHECKING:
    from cnnpc.storage import Storage


def _output_options(p: argparse.ArgumentParser, *, csv_too: bool = True) -> None:
    group = p.add_mutually_exclusive_group()
    group.add_argument("--json", action="store_true", help="print JSON")
    if csv_too:
        group.add_argument("--csv", action="store_true", help="print CSV (one header row)")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("searches", help="list stored searches, one line each")
    add_storage_argument(p)
    _output_options(p)
    p.set_defaults(func=run_searches)

    t = sub.add_parser("trials", help="list the trials of one search")
    t.add_argument("search", type=search_id, metavar="SEARCH", help="search id (see 'searches')")
    t.add_argument("--feasible", action="store_true", help="only trials that meet the target")
    t.add_argument(
        "--sort",
        choices=("number", "latency", "accuracy"),
        default="number",
        help="trial number (default), latency ascending or validation accuracy descending",
    )
    t.add_argument("--limit", type=positive_int, metavar="N", help="first N only")
    add_storage_argument(t)
    _output_options(t)
    t.set_defaults(func=run_trials)

    s = sub.add_parser("show", help="best plan, Pareto front and spend of one search")
    s.add_argument("search", type=search_id, metavar="SEARCH", help="search id (see 'searches')")
    s.add_argument(
        "--png",
        type=Path,
        metavar="FILE",
        help="also draw the Pareto front, the breakdown vs the baselines and the best so far",
    )
    add_storage_argument(s)
    _output_options(s, csv_too=False)
    s.set_defaults(func=run_show)


def _open(args: argparse.Namespace) -> Storage:
    from cnnpc.storage import Storage, resolve_url

    return Storage(resolve_url(args.storage), create=False)


def run_searches(args: argparse.Namespace) -> int:
    from cnnpc.export import summaries_csv, summaries_text
    from cnnpc.storage import NoDatabaseError, display_url, resolve_url

    try:
        with _open(args) as storage:
            summaries = storage.summaries()
    except NoDatabaseError:
        summaries = []  # nothing searched there yet: an empty list, not an error
    if args.json:
        print_json([s.as_dict() for s in summaries])
    else:
        where = display_url(resolve_url(args.storage))
        text = summaries_csv(summaries) if args.csv else summaries_text(summaries, where) + "\n"
        print(text, end="")
    return 0


def run_trials(args: argparse.Namespace) -> int:
    from cnnpc.export import trials_csv, trials_text

    with _open(args) as storage:
        trials = storage.list_trials(
            args.search, feasible_only=args.feasible, sort=args.sort, limit=args.limit
        )
    if args.json:
        print_json([t.as_dict() for t in trials])
    elif args.csv:
        print(trials_csv(trials), end="")
    elif not trials:
        print(f"search {args.search} has no {'feasible ' if args.feasible else ''}trials yet")
    else:
        print(trials_text(trials))
    return 0


def run_show(args: argparse.Namespace) -> int:
    from cnnpc.export import collect, overview, show_json, show_lines, write_search_png

    with _open(args) as storage:
        report = collect(storage, args.search, with_trials=args.png is not None)
    view = overview(report)
    if args.png is not None:
        write_search_png(report, args.png)
    if args.json:
        print_json(show_json(report, view))
        return 0
    print("\n".join(show_lines(report, view)))
    if args.png is not None:
        print(f"\nwrote {args.png}")
    return 0
