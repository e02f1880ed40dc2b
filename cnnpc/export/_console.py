"""The console forms of the stored history: `searches`, `trials` and `show` as text, CSV and JSON.

In the library, not the CLI, so a notebook prints what the command prints. Tables show
accuracies in percent; JSON and CSV carry the stored values unchanged (fractions).
"""

from __future__ import annotations

from collections.abc import Sequence

from cnnpc._text import BREAKDOWN_PARTS, csv_text, format_table
from cnnpc.export._layout import layout_text
from cnnpc.export._overview import PART_LABELS, Overview
from cnnpc.export._report import SearchReport
from cnnpc.export._rows import objective_text, plain, summary_row, trial_row
from cnnpc.planner import MODE_LABELS
from cnnpc.records import keep_text
from cnnpc.storage import SearchRecord, SearchSummary, TrialRecord

_SHOWN = {"latency_ms", "mode", "splits", "keep", "val_accuracy", "test_accuracy", "accuracy"}


def _pct(value: float | None) -> float | None:
    return None if value is None else 100.0 * value


def _target(search: SearchRecord) -> str:
    if search.mode == "acc_floor":
        return f"acc >= {search.target:g}"
    return f"lat <= {search.target:g} ms"


def summaries_csv(summaries: Sequence[SearchSummary]) -> str:
    """`cnnpc searches --csv`."""
    return csv_text([{k: plain(v) for k, v in summary_row(s).items()} for s in summaries])


def trials_csv(trials: Sequence[TrialRecord]) -> str:
    """`cnnpc trials --csv`."""
    return csv_text([{k: plain(v) for k, v in trial_row(t).items()} for t in trials])


def summaries_text(summaries: Sequence[SearchSummary], where: str) -> str:
    """`cnnpc searches`: one line per stored search."""
    if not summaries:
        return f"no searches in {where}"
    rows = []
    for s in summaries:
        r, best = s.search, s.best
        rows.append(
            [
                *(
                    r.id,
                    r.model,
                    r.device,
                    f"{r.links.uplink_mbps:g}/{r.links.bandwidth_mbps:g}",
                    _target(r),
                ),
                *(r.strategy, r.status, s.n_trials, s.finetunes),
                None if best is None else best.latency_ms,
                None if best is None else _pct(best.val_accuracy),
                r.created_at.strftime("%Y-%m-%d %H:%M"),
            ]
        )
    headers = ["id", "model", "device", "Mbps up/bw", "target", "strategy", "status"]
    headers += ["trials", "finetunes", "best ms", "best acc %", "created (UTC)"]
    return format_table(headers, rows)


def trials_text(trials: Sequence[TrialRecord]) -> str:
    """`cnnpc trials`: one line per trial."""
    rows = [
        [
            *(t.optuna_number, t.state),
            "-" if t.feasible is None else ("yes" if t.feasible else "no"),
            *(t.latency_ms, _pct(t.val_accuracy), _pct(t.test_accuracy)),
            *(_pct(t.predicted_accuracy), t.mode, " ".join(t.splits) or None),
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


def show_json(report: SearchReport, view: Overview) -> dict[str, object]:
    """`cnnpc show --json`."""
    best_plan = report.best_plan
    return {
        "overview": view.as_dict(),
        "search": report.summary.search.as_dict(),
        "spend": report.spend,
        "best": None if report.best is None else report.best.as_dict(),
        "best_plan": None
        if best_plan is None
        else {
            "trial_number": best_plan.plan.trial,
            "payload": best_plan.plan.as_dict(),
            "updated_at": best_plan.updated_at.isoformat(),
        },
        "pareto": [t.as_dict() for t in report.pareto],
    } | ({"front": [t.as_dict() for t in report.front]} if report.multi_objective else {})


def front_text(trials: Sequence[TrialRecord]) -> str:
    """A pareto search's front: latency, the phone's energy and accuracy of each trial on it."""
    rows = [
        [
            *(t.optuna_number, t.latency_ms),
            None if t.plan is None else t.plan.get("energy_mj"),
            *(_pct(t.val_accuracy), _pct(t.test_accuracy), t.mode, " ".join(t.splits) or None),
            keep_text(t.keep, pruned_only=True) or None,
        ]
        for t in trials
    ]
    headers = ["trial", "latency ms", "phone mJ", "val %", "test %", "mode", "splits", "keep"]
    return format_table(headers, rows)


def show_lines(report: SearchReport, view: Overview | None = None) -> list[str]:
    """The text of `cnnpc show` (with the overview: the best plan's layout and the baselines)."""
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
            parts = ", ".join(f"{p[:-3]} {best.breakdown.get(p, 0.0):.2f}" for p in BREAKDOWN_PARTS)
            lines.append(f"  breakdown: {parts} ms")
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
        lines.append(trials_text(report.pareto))
    if report.multi_objective:
        lines += [
            "",
            f"Optuna's front ({len(report.front)} trials, latency, phone energy and validation "
            "accuracy: none of them beaten on all three):",
        ]
        if report.front:
            lines.append(front_text(report.front))
    return lines


def _comparison_lines(view: Overview) -> list[str]:
    """The best plan's breakdown beside the baselines, re-priced from the search's settings."""
    if not view.bars:
        return [] if view.note is None else ["", view.note]
    best = view.bars[0].latency_ms if view.bars[0].label == "best plan" else None
    rows = [
        [
            *(b.label, *b.parts, b.latency_ms),
            None if best is None else f"{b.latency_ms / best:.2f}x",
            b.layout,
        ]
        for b in view.bars
    ]
    headers = ["plan", *PART_LABELS, "total ms", "vs best", "layout"]
    return ["", "latency breakdown (ms), best plan vs baselines:", format_table(headers, rows)]
