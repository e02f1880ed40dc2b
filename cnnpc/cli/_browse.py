"""`cnnpc searches`, `cnnpc trials SEARCH`, `cnnpc show SEARCH`: the stored history.

Read-only: a missing SQLite file is an error rather than a new empty database. Tables show
accuracies in percent; --json and --csv carry the stored values unchanged (fractions).
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cnnpc.cli._common import (
    add_storage_argument,
    format_table,
    positive_int,
    print_json,
    search_id,
)

if TYPE_CHECKING:
    from cnnpc.export import Overview, SearchReport
    from cnnpc.storage import SearchRecord, Storage, TrialRecord


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
    t.add_argument("--limit", type=positive_int, default=None, metavar="N", help="first N only")
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


def _print_csv(rows: Sequence[dict[str, Any]]) -> None:
    from cnnpc.export import plain

    columns: list[str] = []
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([plain(row.get(c)) for c in columns])


def _pct(value: float | None) -> float | None:
    return None if value is None else 100.0 * value


def _target(search: SearchRecord) -> str:
    if search.mode == "acc_floor":
        return f"acc >= {search.target:g}"
    return f"lat <= {search.target:g} ms"


def run_searches(args: argparse.Namespace) -> int:
    from cnnpc.export import summary_row
    from cnnpc.storage import NoDatabaseError, SearchSummary, display_url, resolve_url

    summaries: list[SearchSummary] = []
    where = display_url(resolve_url(args.storage))
    try:
        with _open(args) as storage:
            summaries = storage.summaries()
    except NoDatabaseError:
        pass  # nothing searched there yet: an empty list, not an error
    if args.json:
        print_json([s.as_dict() for s in summaries])
        return 0
    if args.csv:
        _print_csv([summary_row(s) for s in summaries])
        return 0
    if not summaries:
        print(f"no searches in {where}")
        return 0
    rows = []
    for s in summaries:
        r, best = s.search, s.best
        rows.append(
            [
                r.id,
                r.model,
                r.device,
                f"{r.links.uplink_mbps:g}/{r.links.bandwidth_mbps:g}",
                _target(r),
                r.strategy,
                r.status,
                s.n_trials,
                s.finetunes,
                None if best is None else best.latency_ms,
                None if best is None else _pct(best.val_accuracy),
                r.created_at.strftime("%Y-%m-%d %H:%M"),
            ]
        )
    headers = ["id", "model", "device", "Mbps up/bw", "target", "strategy", "status"]
    headers += ["trials", "finetunes", "best ms", "best acc %", "created (UTC)"]
    print(format_table(headers, rows))
    return 0


def _trial_table(trials: Sequence[TrialRecord]) -> str:
    from cnnpc.export import keep_text

    rows = [
        [
            t.optuna_number,
            t.state,
            "-" if t.feasible is None else ("yes" if t.feasible else "no"),
            t.latency_ms,
            _pct(t.val_accuracy),
            _pct(t.test_accuracy),
            _pct(t.predicted_accuracy),
            t.mode,
            " ".join(t.splits) or None,
            keep_text(t.keep, pruned_only=True) or None,
            None if t.traffic_bytes is None else t.traffic_bytes / 1024.0,
            t.finetune_seconds if t.finetuned else None,
            t.reason,
        ]
        for t in trials
    ]
    headers = ["trial", "state", "feasible", "latency ms", "val %", "test %", "pred %", "mode"]
    headers += ["splits", "keep (pruned)", "KB sent", "finetune s", "reason"]
    return format_table(headers, rows)


def run_trials(args: argparse.Namespace) -> int:
    from cnnpc.export import trial_row

    with _open(args) as storage:
        trials = storage.list_trials(
            args.search, feasible_only=args.feasible, sort=args.sort, limit=args.limit
        )
    if args.json:
        print_json([t.as_dict() for t in trials])
    elif args.csv:
        _print_csv([trial_row(t) for t in trials])
    elif not trials:
        print(f"search {args.search} has no {'feasible ' if args.feasible else ''}trials yet")
    else:
        print(_trial_table(trials))
    return 0


def run_show(args: argparse.Namespace) -> int:
    from cnnpc.export import collect, overview, write_search_png

    with _open(args) as storage:
        report = collect(storage, args.search, with_trials=args.png is not None)
    view = overview(report)
    if args.png is not None:
        write_search_png(report, args.png)
    if args.json:
        print_json(
            {
                "overview": view.as_dict(),
                "search": report.summary.search.as_dict(),
                "spend": report.spend,
                "best": None if report.best is None else report.best.as_dict(),
                "best_plan": None
                if report.best_plan is None
                else {
                    "trial_number": report.best_plan.plan.trial,
                    "payload": report.best_plan.plan.as_dict(),
                    "updated_at": report.best_plan.updated_at.isoformat(),
                },
                "pareto": [t.as_dict() for t in report.pareto],
            }
        )
        return 0
    print("\n".join(show_lines(report, view)))
    if args.png is not None:
        print(f"\nwrote {args.png}")
    return 0


_SHOWN = {"latency_ms", "mode", "splits", "keep", "val_accuracy", "test_accuracy", "accuracy"}


def show_lines(report: SearchReport, view: Overview | None = None) -> list[str]:
    """The text of `cnnpc show` (with the overview: the best plan's layout and the baselines)."""
    from cnnpc.export import keep_text, layout_text, objective_text
    from cnnpc.planner import MODE_LABELS

    s, spend = report.summary.search, report.spend
    lines = [
        f"search {s.id} ({s.study_name}): {s.model} on {s.device}, workload {s.workload}, "
        f"end->edge {s.links.uplink_mbps:g} Mbps, edge->cloud {s.links.bandwidth_mbps:g} Mbps",
        f"objective: {objective_text(s)}; strategy {s.strategy}, seed {s.seed}, "
        f"budget {s.budget_key}, cnnpc {s.code_version}",
        f"status: {s.status}"
        + (f" ({s.message})" if s.message else "")
        + f"; created {s.created_at:%Y-%m-%d %H:%M:%S} UTC, "
        f"updated {s.updated_at:%Y-%m-%d %H:%M:%S} UTC",
        f"spend: {spend['trials']} trials ({spend['complete']} complete, {spend['pruned']} "
        f"pruned, {spend['failed']} failed, {spend['running']} running), "
        f"{spend['finetunes']} fine-tunes, {spend['finetune_seconds']:.1f} s fine-tuning",
        "",
    ]
    best = report.best
    if best is None:
        lines.append("best plan: none feasible yet")
    else:
        val = "-" if best.val_accuracy is None else f"{100 * best.val_accuracy:.2f}%"
        test = "-" if best.test_accuracy is None else f"{100 * best.test_accuracy:.2f}%"
        lines += [
            f"best plan (trial {best.optuna_number}): {best.latency_ms or 0.0:.2f} ms, "
            f"{MODE_LABELS.get(best.mode or '', best.mode)}, "
            f"split after: {', '.join(best.splits) or 'none'}",
            f"  keep: {keep_text(best.keep, pruned_only=True) or 'everything (no pruning)'}",
            f"  layout: {layout_text(best.mode, best.splits)}",
            f"  accuracy: validation {val}, test {test}",
        ]
        if best.traffic_bytes is not None:
            lines.append(f"  traffic: {best.traffic_bytes / 1024.0:,.1f} KB per inference")
        if best.breakdown:
            parts = ("end_ms", "uplink_ms", "edge_ms", "downlink_ms", "cloud_ms", "overhead_ms")
            lines.append(
                "  breakdown: "
                + ", ".join(f"{p[:-3]} {best.breakdown.get(p, 0.0):.2f}" for p in parts)
                + " ms"
            )
    if report.best_plan is not None:
        for key, value in report.best_plan.plan.as_dict().items():
            if key not in _SHOWN and isinstance(value, bool | int | float | str):
                lines.append(
                    f"  {key}: {value:.4g}" if isinstance(value, float) else f"  {key}: {value}"
                )
    if view is not None:
        lines += _comparison_lines(view)
    lines += ["", f"Pareto front ({len(report.pareto)} trials, latency vs validation accuracy):"]
    if report.pareto:
        lines.append(_trial_table(report.pareto))
    return lines


def _comparison_lines(view: Overview) -> list[str]:
    """The best plan's breakdown beside the baselines, re-priced from the search's settings."""
    from cnnpc.export import PART_LABELS

    if not view.bars:
        return [] if view.note is None else ["", view.note]
    best = view.bars[0].latency_ms if view.bars[0].label == "best plan" else None
    rows = [
        [
            b.label,
            *b.parts,
            b.latency_ms,
            None if best is None else f"{b.latency_ms / best:.2f}x",
            b.layout,
        ]
        for b in view.bars
    ]
    headers = ["plan", *PART_LABELS, "total ms", "vs best", "layout"]
    return ["", "latency breakdown (ms), best plan vs baselines:", format_table(headers, rows)]
