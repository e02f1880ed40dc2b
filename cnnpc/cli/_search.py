"""`cnnpc search`: the joint partition + compression search, with a progress bar."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from cnnpc._files import check_input_file
from cnnpc.cli._common import (
    TRUST_CODE_HELP,
    accuracy_floor,
    bounded_float,
    bounded_int,
    budget_ms,
    library_type,
    print_json,
    seed_int,
)
from cnnpc.cli._db import add_storage_argument
from cnnpc.cli._plan import add_link_arguments, link_options
from cnnpc.errors import InputError

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


def add_accuracy_arguments(p: argparse.ArgumentParser) -> None:
    """Where accuracies come from and are cached (search, sweep): one definition."""
    p.add_argument("--seed", type=seed_int, default=0)
    add_storage_argument(p)
    p.add_argument(
        "--epochs",
        type=bounded_int(1, MAX_EPOCHS, name="epochs"),
        default=None,
        help=f"fine-tune epochs per candidate (at most {MAX_EPOCHS:,})",
    )
    p.add_argument("--data", default=None, metavar="DIR", help="your data: one folder per class")
    p.add_argument("--weights", default=None, metavar="FILE", help="your trained Keras model")
    p.add_argument("--trust-code", action="store_true", help=TRUST_CODE_HELP)
    p.add_argument(
        "--accuracy",
        type=library_type(_accuracy_option),
        default="finetune",
        metavar="finetune|supernet|table:FILE",
        help="where accuracies come from: fine-tuning (default), estimates of a supernet "
        "trained once (a search confirms its answer by fine-tuning) or only an accuracy table "
        "(see 'cnnpc accuracy export'; configurations it lacks are recorded as unmeasured)",
    )
    add_keep_grid_argument(p)


def add_keep_grid_argument(p: argparse.ArgumentParser) -> None:
    """--keep-grid (search, sweep, compress): one definition."""
    from cnnpc.spaces import parse_keep_grid

    p.add_argument(
        "--keep-grid",
        type=library_type(parse_keep_grid),
        default=None,
        metavar="channels|F,F,...",
        help="keep grid instead of the search space's: 'channels' (every channel count, "
        "CNNPC's grid) or fractions in (0, 1]",
    )


def _accuracy_option(text: str) -> str:
    if text in ("finetune", "supernet") or (
        text.startswith("table:") and len(text) > len("table:")
    ):
        return text
    raise InputError(f"--accuracy takes 'finetune', 'supernet' or 'table:FILE', got {text!r}")


def table_path(args: argparse.Namespace) -> str | None:
    """The file of --accuracy table:FILE (None: accuracies come from fine-tuning)."""
    text = str(args.accuracy)
    return text[len("table:") :] if text.startswith("table:") else None


def check_accuracy_inputs(args: argparse.Namespace, *, whole_table: bool = False) -> Any:
    """Refuse a bad --data folder, a missing --weights file or a bad accuracy table before a
    database is created; return the table's source (read and checked once, see
    accuracy_source), or None. `whole_table`: the sweep's cache cell, which holds every row."""
    from cnnpc.workloads import check_image_folder

    path = table_path(args)
    if path is not None:
        from cnnpc.accuracy import TableSource, read_table

        options = (("--epochs", args.epochs), ("--data", args.data), ("--weights", args.weights))
        given = [o for o, v in options if v is not None]
        if given:
            raise InputError(
                f"{', '.join(given)} choose how to fine-tune; --accuracy table:FILE never does"
            )
        return TableSource(read_table(path, model=args.model), whole=whole_table)
    if args.data is not None:
        check_image_folder(args.data)
    if args.weights is not None:
        check_input_file(args.weights, f"--weights {args.weights}")
    if args.accuracy == "supernet":
        from cnnpc.supernet import check_supernet

        check_supernet(args.model)
    return None


def accuracy_source(args: argparse.Namespace, checked: Any = None) -> Any:
    """The accuracy source the options of add_accuracy_arguments describe: the table source
    `check_accuracy_inputs` returned (`checked`), or fine-tuning (built here: it may train the
    baseline, so only once the inputs are known good and the database is open)."""
    from cnnpc.search._oracle_source import oracle_source

    if checked is not None:
        return checked
    if args.accuracy == "supernet":
        from cnnpc.supernet import supernet_source

        return supernet_source(
            args.model, epochs=args.epochs, seed=args.seed, data=args.data, weights=args.weights
        )
    return oracle_source(
        args.model, epochs=args.epochs, seed=args.seed, data=args.data, weights=args.weights
    )


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
    checked = check_accuracy_inputs(args)
    url = resolve_url(args.storage)
    # loading --weights and training may refuse: no new database is left behind then
    storage, source = open_around(url, lambda: accuracy_source(args, checked))
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
    if args.accuracy == "supernet":  # rank on estimates, answer with fine-tunes
        from cnnpc.supernet import confirm

        estimated, result = confirm(settings, result, storage, source.finetune, liveness=liveness)
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
    if getattr(source, "table", None) is not None:
        report["accuracy_table"] = {
            "file": source.table.path,
            "asked": source.asked,
            "unmeasured": source.missing,
        }
    if args.json:
        print_json(report)
        return 0
    _print_report(report, result.best)
    return 0


def _print_report(report: dict[str, Any], best: BestPlan | None) -> None:
    from cnnpc.cli._common import BREAKDOWN_HEADERS, breakdown_cells, format_table

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
