"""`cnnpc search`: the joint partition + compression search, with a progress bar."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from cnnpc.cli._common import (
    accuracy_floor,
    accuracy_spec,
    add_accuracy_arguments,
    add_link_arguments,
    bounded_float,
    bounded_int,
    budget_ms,
    link_options,
    output,
)
from cnnpc.records import MAX_SEARCH_S, MAX_TRIALS

if TYPE_CHECKING:
    pass

DEFAULT_TRIALS = 12


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "search",
        help="joint search of split points and channel pruning (Optuna, stored in SQL)",
        description="Search keep fractions with Optuna; for each, the exact planner picks the "
        "deployment. Every trial is stored; re-running the same command resumes the search.",
    )
    add_link_arguments(p)
    goal = p.add_mutually_exclusive_group(required=True)
    goal.add_argument(
        "--acc-floor",
        type=accuracy_floor,
        metavar="A0",
        help="minimise latency with val accuracy >= A0",
    )
    goal.add_argument(
        "--latency-budget",
        type=budget_ms,
        metavar="MS",
        help="maximise accuracy with latency <= MS",
    )
    p.add_argument("--strategy", choices=("tpe", "random", "exhaustive", "cnnpc"), default="tpe")
    p.add_argument(
        "--trials",
        type=bounded_int(1, MAX_TRIALS, name="trials"),
        default=DEFAULT_TRIALS,
        help=f"total trials ({DEFAULT_TRIALS}; at most {MAX_TRIALS:,})",
    )
    p.add_argument(
        "--timeout",
        type=bounded_float(0, MAX_SEARCH_S, open_low=True, name="seconds"),
        metavar="S",
        help="stop after S s (at most a year)",
    )
    p.add_argument(
        "--heartbeat",
        type=bounded_int(1, 86_400, name="seconds"),
        metavar="S",
        help="this worker renews its trials' and claims' heartbeat every S s (10)",
    )
    p.add_argument(
        "--grace",
        type=bounded_int(1, 86_400, name="seconds"),
        metavar="S",
        help="a worker silent for S s is taken to be dead and its work is taken over "
        "(60; at least twice --heartbeat)",
    )
    add_accuracy_arguments(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from cnnpc.jobs import SearchJob, progress_bar, search, search_text
    from cnnpc.search import DEFAULT_GRACE_S, DEFAULT_HEARTBEAT_S, Liveness, SearchSettings

    liveness = Liveness(
        heartbeat_s=DEFAULT_HEARTBEAT_S if args.heartbeat is None else args.heartbeat,
        grace_s=DEFAULT_GRACE_S if args.grace is None else args.grace,
    )
    settings = SearchSettings(
        model=args.model,
        device=args.device,
        bandwidth_mbps=args.bandwidth,
        acc_floor=args.acc_floor,
        latency_budget_ms=args.latency_budget,
        strategy=args.strategy,
        trials=args.trials,
        timeout_s=args.timeout,
        seed=args.seed,
        links=link_options(args),
        keep_grid=args.keep_grid,
    )
    job = SearchJob(settings, accuracy_spec(args), liveness, args.storage)
    outcome = search(job, progress_bar(quiet=not sys.stderr.isatty() and args.json))
    return output(args.json, outcome.report, lambda: search_text(outcome))
