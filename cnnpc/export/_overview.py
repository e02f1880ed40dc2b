"""What a person reads first about a search: the best plan in words, its latency breakdown beside
the baselines, the speedups and what it cost to find.

One value object for the workbook's Summary sheet, `cnnpc show` (text and --json) and the PNG, so
they cannot disagree. The baselines are re-priced from the search's stored settings with the
planner (no TensorFlow): end only, edge only, cloud only, best single split, best uncompressed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cnnpc._text import BREAKDOWN_PARTS
from cnnpc.errors import CnnpcError
from cnnpc.export._layout import layout_text
from cnnpc.export._report import SearchReport
from cnnpc.export._rows import objective_text
from cnnpc.planner import Plan, Planner, search_planner
from cnnpc.records import KeepConfig, keep_text
from cnnpc.storage import SearchRecord

PART_LABELS = ("end", "end\u2192edge", "edge", "edge\u2192cloud", "cloud", "overhead")
BASELINES = (
    ("end only", "end_only"),
    ("edge only", "edge_only"),
    ("cloud only", "cloud_only"),
    ("best single split", "best_single_split"),
)
SINGLE_TIERS = ("end only", "edge only", "cloud only")
BEST = "best plan"
UNCOMPRESSED = "best uncompressed"


@dataclass(frozen=True)
class Bar:
    """One plan's latency in parts (BREAKDOWN_PARTS order): a bar of the breakdown chart."""

    label: str
    mode: str | None
    splits: tuple[str, ...]
    parts: tuple[float, ...]
    traffic_bytes: float | None

    @property
    def latency_ms(self) -> float:
        return sum(self.parts)

    @property
    def layout(self) -> str:
        return layout_text(self.mode, self.splits)

    def as_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "layout": self.layout,
            "latency_ms": self.latency_ms,
            "breakdown": dict(zip(BREAKDOWN_PARTS, self.parts, strict=True)),
            "traffic_bytes": self.traffic_bytes,
        }


@dataclass(frozen=True)
class Line:
    """One labelled value of the summary; `fmt` is its Excel number format (None: text)."""

    label: str
    value: str | float | int | None
    fmt: str | None = None


@dataclass(frozen=True)
class Overview:
    search_id: int
    title: str
    lines: tuple[Line, ...]
    bars: tuple[Bar, ...]  # the best plan first (when there is one), then the baselines
    note: str | None  # why the baselines are missing, if they are

    def value(self, label: str) -> str | float | int | None:
        return next(line.value for line in self.lines if line.label == label)

    def as_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "lines": {line.label: line.value for line in self.lines},
            "bars": [b.as_dict() for b in self.bars],
            "note": self.note,
        }


def overview(report: SearchReport) -> Overview:
    """The overview of one search (baselines need the search's profile to load)."""
    s, spend, best = report.summary.search, report.spend, report.best
    baselines: dict[str, Bar] = {}
    kept: str | None = None
    note = None
    try:
        planner = _planner(s)
        baselines = _baselines(planner)
        if best is not None:
            kept = KeepConfig.from_fractions(planner.profile.space, best.keep).channels_text()
    except CnnpcError as exc:
        note = f"baselines unavailable: {exc}"
    bars = list(baselines.values())
    best_bar = None
    if best is not None and best.breakdown:
        parts = tuple(float(best.breakdown.get(p, 0.0)) for p in BREAKDOWN_PARTS)
        best_bar = Bar(BEST, best.mode, best.splits, parts, best.traffic_bytes)
        bars.insert(0, best_bar)
    single = min(
        (baselines[k] for k in SINGLE_TIERS if k in baselines),
        key=lambda b: b.latency_ms,
        default=None,
    )
    unpruned = baselines.get(UNCOMPRESSED)
    latency = None if best is None else best.latency_ms

    def ratio(bar: Bar | None) -> float | None:
        return None if bar is None or not latency else bar.latency_ms / latency

    saved = None
    if best is not None and best.traffic_bytes is not None and unpruned is not None:
        total = unpruned.traffic_bytes or 0.0
        saved = 1.0 - best.traffic_bytes / total if total > 0 else 0.0
    status = s.status + (f" ({s.message})" if s.message else "")
    lines = [
        Line("Model", f"{s.model} on {s.device}, workload {s.workload}"),
        Line(
            "Links",
            f"end\u2192edge {s.links.uplink_mbps:g} Mbps, "
            f"edge\u2192cloud {s.links.bandwidth_mbps:g} Mbps",
        ),
        Line("Objective", objective_text(s)),
        Line("Strategy", f"{s.strategy}, seed {s.seed}, fine-tune budget {s.budget_key}"),
        Line("Status", status),
        Line("Best plan", "none feasible yet" if best is None else f"trial {best.optuna_number}"),
        Line("Layout", None if best is None else layout_text(best.mode, best.splits)),
        Line(
            "Keep",
            None if best is None else keep_text(best.keep, pruned_only=True) or "everything",
        ),
        Line(
            "Kept channels",
            kept,
        ),
        Line("Latency (ms)", latency, "0.00"),
        Line("Validation accuracy", None if best is None else best.val_accuracy, "0.00%"),
        Line("Test accuracy", None if best is None else best.test_accuracy, "0.00%"),
        Line(
            "Best single tier",
            None if single is None else f"{single.label}, {single.latency_ms:.2f} ms",
        ),
        Line("Speedup vs best single tier", ratio(single), '0.00"x"'),
        Line("Speedup vs best uncompressed", ratio(unpruned), '0.00"x"'),
        Line(
            "Traffic (KB per inference)",
            None if best is None or best.traffic_bytes is None else best.traffic_bytes / 1024.0,
            "#,##0.0",
        ),
        Line("Traffic saved vs uncompressed", saved, "0.0%"),
        Line(
            "Trials",
            f"{spend['trials']}: {spend['complete']} complete, {spend['pruned']} skipped, "
            f"{spend['failed']} failed, {spend['running']} running",
        ),
        Line("Fine-tunes", spend["finetunes"], "0"),
        Line("Fine-tuning time (s)", spend["finetune_seconds"], "0.0"),
        Line("Wall time, created to last update (s)", _elapsed(s), "0.0"),
    ]
    title = (
        f"Search {s.id} ({s.study_name}): {s.model} on {s.device}, {s.links.bandwidth_mbps:g} Mbps"
    )
    return Overview(s.id, title, tuple(lines), tuple(bars), note)


def _elapsed(search: SearchRecord) -> float:
    """Seconds from creating the search to its last update (a resumed search counts the pause)."""
    return (search.updated_at - search.created_at).total_seconds()


def _planner(search: SearchRecord) -> Planner:
    """The planner the search priced its plans with (rates, latencies, conventions)."""
    return search_planner(search)[1]


def _baselines(planner: Planner) -> dict[str, Bar]:
    plans = planner.baselines()
    out = {label: _bar(label, plans[key]) for label, key in BASELINES}
    out[UNCOMPRESSED] = _bar(UNCOMPRESSED, planner.best())
    return out


def _bar(label: str, plan: Plan) -> Bar:
    parts = plan.breakdown.as_dict()
    values = tuple(float(parts[p]) for p in BREAKDOWN_PARTS)
    return Bar(label, plan.mode, plan.splits, values, plan.breakdown.traffic_bytes)
