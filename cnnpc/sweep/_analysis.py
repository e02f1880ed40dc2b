"""What a sweep means: where the best plan changes, and what keeping one plan fixed costs.

A fixed plan (configuration + layout) costs alpha + beta / bandwidth, so the crossover of two
plans is where their lines meet: bandwidth = (beta1 - beta2) / (alpha2 - alpha1).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from cnnpc.codec import MAX_BITS
from cnnpc.records import parse_keep_key, split_config
from cnnpc.sweep._points import BestAt, SweepPoint
from cnnpc.sweep._pricing import ConfigPricing

NONE = "none"  # no plan meets the floor at that condition


@dataclass(frozen=True)
class Threshold:
    """The best plan changes between two neighbouring grid points."""

    device: str
    from_plan: str
    to_plan: str
    low_mbps: float
    high_mbps: float
    crossover_mbps: float | None  # where the two plans' latencies are equal
    crossover_inside: bool  # False: a third plan wins somewhere between the grid points


@dataclass(frozen=True)
class Regret:
    """Cost of keeping one plan across the whole grid instead of re-planning at each point."""

    device: str
    plan: str
    plan_id: str
    best_at_mbps: tuple[float, ...]
    max_ms: float
    max_pct: float
    max_at_mbps: float
    mean_ms: float
    mean_pct: float
    alpha_ms: float  # the plan's latency is alpha_ms + beta_ms_mbps / bandwidth
    beta_ms_mbps: float


@dataclass(frozen=True)
class BitChange:
    """The split tensors' widths of the best plan change between two neighbouring points."""

    device: str
    low_mbps: float
    high_mbps: float
    from_bits: str
    """'block1=4 block13=8': each split tensor's width at the lower point ('-': no plan)."""
    to_bits: str


def _widths(best: BestAt | None) -> tuple[int, ...] | None:
    """The widths `best`'s split tensors travel in, distinct and sorted (None: no plan): a
    tensor that moves to another split at the same width is a threshold, not a new width."""
    if best is None:
        return None
    widths = split_config(parse_keep_key(best.config_key))[1]
    return tuple(sorted({widths.get(s, MAX_BITS) for s in best.splits}))


def plan_bits(best: BestAt | None) -> str:
    """Each split tensor's width in `best` ('block1=4 block13=8'; '-' for no plan; 'input'
    when nothing is split)."""
    widths = _widths(best)
    if best is None or widths is None:
        return "-"
    return " ".join(f"{s}={w}" for s, w in zip(best.splits, widths, strict=True)) or "input"


def bit_changes(device: str, points: Sequence[SweepPoint]) -> list[BitChange]:
    """Every pair of neighbouring grid points whose best plans send their split tensors in
    other widths (`cnnpc sweep --bits`: where the best bit width changes with bandwidth)."""
    out = []
    for left, right in itertools.pairwise(points):
        if _widths(left.best) != _widths(right.best):
            low, high = plan_bits(left.best), plan_bits(right.best)
            out.append(BitChange(device, left.bandwidth_mbps, right.bandwidth_mbps, low, high))
    return out


def _line(pricing: ConfigPricing, best: BestAt) -> tuple[float, float]:
    return pricing.line(pricing.index[best.config_key], best.a, best.b)


def crossover(first: tuple[float, float], second: tuple[float, float]) -> float | None:
    """Bandwidth where alpha1 + beta1 / x = alpha2 + beta2 / x (None: parallel or not > 0)."""
    (a1, b1), (a2, b2) = first, second
    if a1 == a2:
        return None
    x = (b1 - b2) / (a2 - a1)
    return x if x > 0 else None


def thresholds(
    device: str,
    points: Sequence[SweepPoint],
    pricing: ConfigPricing,
    labels: Mapping[str, str],
    lines: bool = True,
) -> list[Threshold]:
    """Every pair of neighbouring grid points whose best plans differ (`lines`: with where
    their latencies cross; not for an energy or throughput objective, which is no line)."""
    out = []
    for left, right in itertools.pairwise(points):
        lid = NONE if left.best is None else left.best.plan_id
        rid = NONE if right.best is None else right.best.plan_id
        if lid == rid:
            continue
        x = None
        if lines and left.best is not None and right.best is not None:
            x = crossover(_line(pricing, left.best), _line(pricing, right.best))
        lo, hi = left.bandwidth_mbps, right.bandwidth_mbps
        out.append(
            Threshold(
                device=device,
                from_plan=labels.get(lid, NONE),
                to_plan=labels.get(rid, NONE),
                low_mbps=lo,
                high_mbps=hi,
                crossover_mbps=x,
                crossover_inside=x is not None and lo <= x <= hi,
            )
        )
    return out


def regrets(
    device: str,
    points: Sequence[SweepPoint],
    pricing: ConfigPricing,
    labels: Mapping[str, str],
    fixed_value: Callable[[int, int, int, float], float] | None = None,
) -> list[Regret]:
    """For each distinct best plan: its regret over the grid points that have a best plan
    (`fixed_value(c, a, b, bandwidth)`: the objective's value of a fixed plan, its regret in
    the objective's unit; None: latency, from the plan's line)."""
    fixed_of = fixed_value or pricing.latency
    scored = [p for p in points if p.best is not None]
    plans: dict[str, BestAt] = {}
    for p in scored:
        assert p.best is not None
        plans.setdefault(p.best.plan_id, p.best)
    out = []
    for plan_id, plan in plans.items():
        c = pricing.index[plan.config_key]
        gaps = []
        for p in scored:
            assert p.best is not None
            fixed = fixed_of(c, plan.a, plan.b, p.bandwidth_mbps)
            gap = max(0.0, fixed - p.best.score)
            gaps.append((gap, gap / p.best.score, p.bandwidth_mbps))
        worst = max(gaps, key=lambda g: g[0])
        out.append(
            Regret(
                device=device,
                plan=labels[plan_id],
                plan_id=plan_id,
                best_at_mbps=tuple(
                    p.bandwidth_mbps for p in scored if p.best and p.best.plan_id == plan_id
                ),
                max_ms=worst[0],
                max_pct=100.0 * worst[1],
                max_at_mbps=worst[2],
                mean_ms=sum(g[0] for g in gaps) / len(gaps),
                mean_pct=100.0 * sum(g[1] for g in gaps) / len(gaps),
                alpha_ms=pricing.line(c, plan.a, plan.b)[0],
                beta_ms_mbps=pricing.line(c, plan.a, plan.b)[1],
            )
        )
    return out
