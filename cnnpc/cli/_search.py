"""`cnnpc search`: the joint partition + compression search, with a progress bar."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from cnnpc.cli._common import (
    accuracy_floor,
    accuracy_spec,
    add_accuracy_arguments,
    add_link_arguments,
    bounded_float,
    bounded_int,
    budget_ms,
    link_options,
    print_json,
)

if TYPE_CHECKING:
    from cnnpc.storage import BestPlan

DEFAULT_TRIALS = 12
MAX_TRIALS = 1_000_000
"""Optuna's samplers slow with every stored trial: a million is weeks of sampling alone."""
MAX_TIMEOUT_S = 365 * 86_400.0
MAX_EPOCHS = 10_000
"""Fine-tune epochs per candidate: the default budget is 3."""


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
        type=bounded_float(0, MAX_TIMEOUT_S, open_low=True, name="seconds"),
        default=None,
        metavar="S",
        help="stop after S s (at most a year)",
    )
    p.add_argument(
        "--heartbeat",
        type=bounded_int(1, 86_400, name="seconds"),
        default=None,
        metavar="S",
        help="this worker renews its trials' and claims' heartbeat every S s (10)",
    )
    p.add_argument(
        "--grace",
        type=bounded_int(1, 86_400, name="seconds"),
        default=None,
        metavar="S",
        help="a worker silent for S s is taken to be dead and its work is taken over "
        "(60; at least twice --heartbeat)",
    )
    add_accuracy_arguments(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def _progress(quiet: bool) -> tuple[Any, Any]:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(
        TextColumn("[bold]search"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("fine-tunes {task.fields[finetunes]}"),
        TextColumn("best {task.fields[best]}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        disable=quiet,
    )
    return progress, progress.add_task("search", total=None, finetunes=0, best="-")


def run(args: argparse.Namespace) -> int:
    from cnnpc.search import (
        DEFAULT_GRACE_S,
        DEFAULT_HEARTBEAT_S,
        Liveness,
        SearchSettings,
        TrialEvent,
        run_search,
    )
    from cnnpc.storage import display_url, open_around, resolve_url

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
    stand_in = settings.planner().profile.stand_in  # validates model/device before heavy work
    spec = accuracy_spec(args)
    checked = spec.check()
    url = resolve_url(args.storage)
    # loading --weights and training may refuse: no new database is left behind then
    storage, source = open_around(url, lambda: spec.open(checked))
    progress, task = _progress(quiet=not sys.stderr.isatty() and args.json)

    def on_trial(event: TrialEvent) -> None:
        best = (
            "-"
            if event.best_latency_ms is None
            else (f"{event.best_latency_ms:.2f} ms @ {event.best_accuracy:.4f}")
        )
        progress.update(
            task, total=event.total, completed=event.done, finetunes=event.finetunes, best=best
        )

    with progress:
        result = run_search(settings, source, storage, on_trial, liveness)
    estimated = None
    if spec.confirms:  # rank on estimates, answer with fine-tunes
        from cnnpc.accuracy import confirming_source
        from cnnpc.search import confirm

        finetune = confirming_source(source)
        estimated, result = confirm(settings, result, storage, finetune, liveness=liveness)
    report = {
        "search_id": result.search_id,
        "status": result.status,
        "message": result.message,
        "finetunes": result.finetunes,
        "trials": result.trials,
        "best": None if result.best is None else result.best.as_dict(),
        "pareto": [p.as_dict() for p in result.pareto],
        "storage": display_url(storage.url),
        "stand_in": stand_in,
    }
    if estimated is not None:
        report["supernet"] = estimated.as_dict()
    from cnnpc.accuracy import table_use

    table = table_use(source)
    if table is not None:
        report["accuracy_table"] = table
    if args.json:
        print_json(report)
        return 0
    _print_report(report, result.best)
    return 0


def _print_report(report: dict[str, Any], best: BestPlan | None) -> None:
    from cnnpc._text import BREAKDOWN_HEADERS, breakdown_cells, format_table

    print(
        f"search {report['search_id']}: {report['status']}"
        + (f" ({report['message']})" if report["message"] else "")
    )
    if best is None:
        print("no feasible plan found")
    else:
        keep = ", ".join(f"{k}={v:g}" for k, v in best.keep.items()) or "no pruning"
        splits = ", ".join(best.splits) or "none"
        print(f"best plan: {best.latency_ms:.2f} ms, {best.mode} split after {splits}; keep {keep}")
        print(
            f"  accuracy {best.test_accuracy:.4f} on the test split "
            f"(validation {best.val_accuracy:.4f})"
        )
        print(
            f"  {best.speedup_vs_best_single_tier:.2f}x the best single tier "
            f"({best.baselines.single_tier}), {best.speedup_vs_uncompressed_plan:.2f}x the best "
            "uncompressed plan"
        )
        cut = best.traffic_reduction_vs_uncompressed
        print(
            f"  traffic {best.traffic_bytes / 1024:.1f} KB per inference "
            f"({abs(cut):.0%} {'less' if cut >= 0 else 'more'} than the best uncompressed plan)"
        )
        print(format_table(BREAKDOWN_HEADERS, [breakdown_cells(best.breakdown.as_dict())]))
    estimated = report.get("supernet")
    if estimated is not None:
        print(
            f"supernet: search {estimated['estimate_search_id']} ranked "
            f"{estimated['estimate_trials']} trials on estimates; {estimated['tried']} plans "
            "fine-tuned in that "
            f"order ({'confirmed' if estimated['confirmed'] else 'none confirmed'}); "
            f"the answer is search {report['search_id']}"
        )
    table = report.get("accuracy_table")
    if table is not None:
        print(
            f"accuracy table {table['file']}: the search asked for {table['asked']} "
            f"configurations, {table['unmeasured']} not in the table (recorded as unmeasured)"
        )
    print(
        f"trials {report['trials']}, fine-tunes {report['finetunes']}; "
        f"stored in {report['storage']} (see 'cnnpc show {report['search_id']}')"
    )
