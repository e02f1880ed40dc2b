"""What the Pareto plots show (workbook chart and PNG alike): measured trials split into feasible
and infeasible, the front, the best plan, the floor or budget line, and axes fitted to the data.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from cnnpc.export._report import SearchReport
from cnnpc.storage import TrialRecord

Point = tuple[float, float]  # (latency ms, validation accuracy)


@dataclass(frozen=True)
class Axis:
    low: float
    high: float
    step: float


@dataclass(frozen=True)
class ParetoData:
    feasible: tuple[Point, ...]
    infeasible: tuple[Point, ...]
    front: tuple[Point, ...]  # a staircase through the front's points, by latency
    best: Point | None
    best_label: str
    target: tuple[Point, Point]  # the floor (horizontal) or the budget (vertical), axis to axis
    target_label: str
    x: Axis
    y: Axis


def nice_axis(
    values: Iterable[float],
    *,
    pad: float = 0.06,
    lower: float | None = None,
    upper: float | None = None,
) -> Axis:
    """Round bounds (steps of 1, 2, 2.5 or 5 x 10^k, about five of them) around the values,
    with a small margin; `lower`/`upper` clip the margin (accuracy stays within 0..1)."""
    data = [v for v in values if math.isfinite(v)]
    if not data:
        return Axis(0.0, 1.0, 0.2)
    lo, hi = min(data), max(data)
    span = hi - lo if hi > lo else (abs(hi) * 0.1 or 1.0)
    raw = span * (1 + 2 * pad) / 5
    magnitude = 10.0 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw * (1 - 1e-9))
    low = math.floor(round((lo - pad * span) / step, 9)) * step
    high = math.ceil(round((hi + pad * span) / step, 9)) * step
    if lower is not None:
        low = max(low, lower)
    if upper is not None:
        high = min(high, upper)
    return Axis(round(low, 10), round(high, 10), step)


def staircase(points: list[Point]) -> tuple[Point, ...]:
    """The front as steps: between two of its plans, the accuracy reachable is the slower
    one's (a straight line would promise plans that do not exist)."""
    ordered = sorted(points)
    out: list[Point] = []
    for i, (x, y) in enumerate(ordered):
        if i:
            out.append((x, ordered[i - 1][1]))
        out.append((x, y))
    return tuple(out)


def _point(t: TrialRecord) -> Point | None:
    if t.state != "complete" or t.latency_ms is None or t.val_accuracy is None:
        return None
    return (t.latency_ms, t.val_accuracy)


def pareto_data(report: SearchReport) -> ParetoData:
    """Every measured trial of the report (its Pareto front when it was read without trials)."""
    search = report.summary.search
    trials = report.trials or report.pareto
    measured = [(t, p) for t in trials if (p := _point(t)) is not None]
    feasible = tuple(p for t, p in measured if t.feasible)
    infeasible = tuple(p for t, p in measured if not t.feasible)
    front = staircase([p for t in report.pareto if (p := _point(t)) is not None])
    best = None if report.best is None else _point(report.best)
    xs = [p[0] for _, p in measured]
    ys = [p[1] for _, p in measured]
    if search.mode == "acc_floor":
        ys.append(search.target)
    else:
        xs.append(search.target)
    x = nice_axis(xs, lower=0.0)
    y = nice_axis(ys, lower=0.0, upper=1.0 if max(ys, default=0.0) <= 1.0 else None)
    if search.mode == "acc_floor":
        target = ((x.low, search.target), (x.high, search.target))
        target_label = f"accuracy floor {search.target:g}"
    else:
        target = ((search.target, y.low), (search.target, y.high))
        target_label = f"latency budget {search.target:g} ms"
    best_label = (
        "best plan" if report.best is None else f"best plan (trial {report.best.optuna_number})"
    )
    return ParetoData(feasible, infeasible, front, best, best_label, target, target_label, x, y)
