"""`cnnpc searches`, `cnnpc trials SEARCH`, `cnnpc show SEARCH`: the stored history (read-only;
the library's `searches_output`, `trials_output`, `show_output` give what is printed)."""

from __future__ import annotations

import argparse
import sys

from cnnpc.cli._common import command, record_from
from cnnpc.jobs import ShowQuery, StorageChoice, TrialsQuery


def _output_options(p: argparse.ArgumentParser, *, csv_too: bool = True) -> None:
    group = p.add_mutually_exclusive_group()
    group.add_argument("--json", action="store_true", help="print JSON")
    if csv_too:
        group.add_argument("--csv", action="store_true", help="print CSV (one header row)")


def _form(args: argparse.Namespace) -> str:
    return "json" if args.json else "csv" if args.csv else "text"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    help_searches = "list stored searches, one line each"
    p = command(sub, "searches", StorageChoice, run_searches, json_help=None, help=help_searches)
    _output_options(p)
    help_trials = "list the trials of one search"
    t = command(sub, "trials", TrialsQuery, run_trials, json_help=None, help=help_trials)
    _output_options(t)
    help_show = "best plan, Pareto front and spend of one search"
    s = command(sub, "show", ShowQuery, run_show, json_help=None, help=help_show)
    _output_options(s, csv_too=False)


def run_searches(args: argparse.Namespace) -> int:
    from cnnpc.jobs import searches_output

    sys.stdout.write(searches_output(record_from(StorageChoice, args).storage, _form(args)))
    return 0


def run_trials(args: argparse.Namespace) -> int:
    from cnnpc.jobs import trials_output

    sys.stdout.write(trials_output(record_from(TrialsQuery, args), _form(args)))
    return 0


def run_show(args: argparse.Namespace) -> int:
    from cnnpc.jobs import show_output

    sys.stdout.write(show_output(record_from(ShowQuery, args), args.json))
    return 0
