"""The sweep as a workbook: sheets Sweep (+ line chart), Thresholds and Regret, cnnpc's style."""

from __future__ import annotations

from pathlib import Path
from typing import Any, BinaryIO

from cnnpc._files import write_atomically
from cnnpc.export import styled_table
from cnnpc.sweep._sweep import SweepResult


def sweep_rows(result: SweepResult) -> list[dict[str, Any]]:
    """One row per condition (the Sweep sheet)."""
    labels = {plan_id: label for label, plan_id in result.plan_labels.items()}
    rows = []
    for p in result.points:
        b = p.best
        rows.append(
            {
                "device": p.device,
                "bandwidth_mbps": p.bandwidth_mbps,
                "best_latency_ms": None if b is None else b.latency_ms,
                "plan": None if b is None else labels[b.plan_id],
                "mode": None if b is None else b.mode,
                "splits": None if b is None else "+".join(b.splits) or "-",
                "keep": None if b is None else b.config_key,
                "val_accuracy": None if b is None else b.val_accuracy,
                "test_accuracy": None if b is None else b.test_accuracy,
                "traffic_kb": None if b is None else b.traffic_bytes / 1024.0,
                "uncompressed_ms": p.uncompressed_ms,
                "unverified_faster": p.unverified,
                "finetuned": len(p.finetuned),
            }
        )
    return rows


def write_sweep_xlsx(result: SweepResult, path: Path) -> Path:
    """Build the workbook in memory, then write it atomically to `path`."""
    from openpyxl import Workbook
    from openpyxl.chart import LineChart, Reference
    from openpyxl.chart.series import SeriesLabel

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Sweep"
    rows = sweep_rows(result)
    styled_table(sheet, rows)
    chart = LineChart()
    chart.title = "Best plan latency against edge->cloud bandwidth"
    chart.x_axis.title = "bandwidth (Mbps)"
    chart.y_axis.title = "latency (ms)"
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    chart.height, chart.width = 10, 18
    first = 2
    for device in dict.fromkeys(r["device"] for r in rows):
        count = sum(1 for r in rows if r["device"] == device)
        last = first + count - 1
        data = Reference(sheet, min_col=3, min_row=first, max_row=last)
        chart.add_data(data, titles_from_data=False)
        chart.series[-1].tx = SeriesLabel(v=f"{device} best")
        if first == 2:
            chart.set_categories(Reference(sheet, min_col=2, min_row=first, max_row=last))
        first = last + 1
    if rows:
        sheet.add_chart(chart, "P2")
    labels = {plan_id: label for label, plan_id in result.plan_labels.items()}
    styled_table(
        workbook.create_sheet("Thresholds"),
        [
            {
                "device": t.device,
                "from_plan": t.from_plan,
                "to_plan": t.to_plan,
                "low_mbps": t.low_mbps,
                "high_mbps": t.high_mbps,
                "crossover_mbps": t.crossover_mbps,
                "crossover_inside": t.crossover_inside,
            }
            for t in result.thresholds
        ],
    )
    styled_table(
        workbook.create_sheet("Regret"),
        [
            {
                "device": r.device,
                "plan": r.plan,
                "keep_and_layout": r.plan_id,
                "best_at_mbps": _ranges(r.best_at_mbps),
                "max_regret_ms": r.max_ms,
                "max_regret_pct": r.max_pct,
                "max_at_mbps": r.max_at_mbps,
                "mean_regret_ms": r.mean_ms,
                "mean_regret_pct": r.mean_pct,
            }
            for r in result.regrets
            if labels.get(r.plan_id)
        ],
    )

    def save(handle: BinaryIO) -> None:
        workbook.save(handle)

    return write_atomically(Path(path), save)


def _ranges(values: tuple[float, ...]) -> str:
    return (
        ", ".join(f"{v:g}" for v in values)
        if len(values) <= 3
        else (f"{values[0]:g}..{values[-1]:g} ({len(values)} points)")
    )
