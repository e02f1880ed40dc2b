"""Plan sets: every plan that is best somewhere in a bandwidth range, and when to switch.

(`cnnpc deploy --adaptive` writes them, the runtime runs them; the records and the switching
rule are `cnnpc.records`' PlanSet.)

The plans are what `cnnpc sweep` finds from the same cached accuracies (no fine-tuning): the
best plan at each point of a geometric grid over [low, high] edge->cloud Mbps. Each plan keeps
the parts of its latency that do not depend on the links, so a runtime can predict it under any
link estimates. Nothing here imports TensorFlow.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from cnnpc.errors import InputError
from cnnpc.records import LinkSetting, PlanSet, SetPlan, check_number, check_rate, switches

if TYPE_CHECKING:
    from cnnpc.planner import LinkOptions, Planner
    from cnnpc.search import AccuracySource
    from cnnpc.storage import Storage
    from cnnpc.sweep import SweepPoint

GRID_POINTS = 64
DEFAULT_HYSTERESIS = 0.1


def check_hysteresis(value: float) -> float:
    """A hysteresis fraction in [0, 1)."""
    check_number("--hysteresis", value)
    if value >= 1:
        raise InputError(f"--hysteresis must be in [0, 1), got {value!r}")
    return value


def bandwidth_range(text: str) -> tuple[float, float]:
    """``START:STOP`` Mbps (0 < START < STOP) for `deploy --adaptive --bandwidth`."""
    low, sep, high = text.partition(":")
    if not sep:
        raise InputError(f"expected START:STOP Mbps, got {text!r}")
    try:
        lo, hi = float(low), float(high)
    except ValueError:
        raise InputError(f"expected START:STOP Mbps (numbers), got {text!r}") from None
    check_rate("START", lo)
    check_rate("STOP", hi)
    if not hi > lo:
        raise InputError(f"STOP must be > START, got {text!r}")
    return lo, hi


def grid(low: float, high: float, points: int = GRID_POINTS) -> tuple[float, ...]:
    """Geometric grid over [low, high] (a rate's effect goes as 1 / rate)."""
    return tuple(float(x) for x in np.geomspace(low, high, points))


def plan_set_of(
    points: Sequence[SweepPoint],
    n_segments: int,
    *,
    model: str,
    device: str,
    links: LinkSetting,
    hysteresis: float,
) -> PlanSet:
    """The plan set of a sweep's points (one device, bandwidth order): each distinct best plan
    once, labelled P1, P2... in the order it first wins."""
    found: dict[str, list[SweepPoint]] = {}
    for p in points:
        if p.best is not None:
            found.setdefault(p.best.plan_id, []).append(p)
    if not found:
        raise InputError(
            "no measured configuration meets the floor anywhere in the range "
            "(run 'cnnpc search' or 'cnnpc sweep' first to measure accuracies)"
        )
    plans = []
    for i, (_, wins) in enumerate(found.items(), start=1):
        best = wins[0].best
        assert best is not None  # grouped by it
        bd = best.breakdown
        plans.append(
            SetPlan(
                label=f"P{i}",
                file=f"plan-P{i}.json",
                config_key=best.config_key,
                keep=dict(best.keep),
                a=best.a,
                b=best.b,
                n_segments=n_segments,
                mode=best.mode,
                splits=tuple(best.splits),
                val_accuracy=best.val_accuracy,
                compute_ms=(bd["end_ms"], bd["edge_ms"], bd["cloud_ms"]),
                overhead_ms=bd["overhead_ms"],
                uplink_bytes=bd["uplink_bytes"],
                downlink_bytes=bd["downlink_bytes"],
                best_mbps=tuple(p.bandwidth_mbps for p in wins),
            )
        )
    rates = [p.bandwidth_mbps for p in points]
    return PlanSet(
        model=model,
        device=device,
        low_mbps=min(rates),
        high_mbps=max(rates),
        hysteresis=hysteresis,
        links=links,
        plans=tuple(plans),
        switches=switches(plans, links, hysteresis),
    )


def sweep_plan_set(
    model: str,
    device: str,
    *,
    acc_floor: float,
    options: LinkOptions,
    low_mbps: float,
    high_mbps: float,
    hysteresis: float,
    design_mbps: float,
    source: AccuracySource,
    storage: Storage,
    planner_at: Callable[[str, float], Planner] | None = None,
    points: int = GRID_POINTS,
) -> PlanSet:
    """The plan set `cnnpc sweep` finds over [low, high] from the cached accuracies only (no
    fine-tune); `options` are the search's LinkOptions, `design_mbps` its edge->cloud rate."""
    from cnnpc.sweep import SweepSettings, run_sweep

    check_hysteresis(hysteresis)
    settings = SweepSettings(
        model=model,
        devices=(device,),
        bandwidths=grid(low_mbps, high_mbps, points),
        acc_floor=acc_floor,
        links=options,
        max_finetunes=0,
        surrogate=False,
    )
    result = run_sweep(settings, source, storage, planner_at=planner_at)
    planner = (planner_at or settings.planner)(device, design_mbps)
    return plan_set_of(
        result.points,
        planner.profile.n_segments,
        model=model,
        device=device,
        links=planner.links,
        hysteresis=hysteresis,
    )
