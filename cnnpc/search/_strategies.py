"""Search strategies: which configuration to try next.

tpe / random: Optuna's samplers choose the keep fraction of every search parameter.
exhaustive:   every split-aware configuration (see `split_aware_grid`). With an accuracy floor, in
              order of increasing latency, stopping at the first that cannot beat the best feasible
              latency: every configuration after it is slower, so the answer is the exact optimum
              over the grid and the only fine-tunes are of configurations faster than it. With a
              latency budget, every configuration within the budget in grid order.
cnnpc:        a re-implementation of CNNPC's own search (Yang et al., TPDS 2022): nested loops over
              split points and split pairs; for each, the most aggressive keep fraction that still
              meets the floor is found by linear interpolation between the accuracies bracketing the
              floor, falling back to bisection; before any fine-tune, a candidate is skipped when it
              cannot beat the best latency so far or when an accuracy estimate interpolated from
              what is already known falls below the floor.
All of them walk each candidate's own grid (`SearchSpace.fractions`): eight fractions, or every
channel count 1..C on CNNPC's per-channel grid.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass

from cnnpc.planner import Planner
from cnnpc.records import KeepConfig
from cnnpc.search._configs import Config, expand, parameters, split_aware_grid
from cnnpc.spaces import SearchSpace

STRATEGIES = ("tpe", "random", "exhaustive", "cnnpc")

# A proposer yields configurations; after each yield the runner has evaluated it, and
# `accuracy(config)` returns its validation accuracy (None when it was skipped unmeasured).
Proposals = Generator[Config, None, None]


@dataclass
class StrategyContext:
    planner: Planner
    space: SearchSpace
    floor: float
    accuracy: Callable[[Mapping[str, float]], float | None]
    estimate: Callable[[Mapping[str, float]], float | None]
    best_latency: Callable[[], float | None] = lambda: None
    """The best feasible latency found so far (None: none yet)."""
    by_latency: bool = True
    """Whether latency is what is minimised (an accuracy floor), so ordering by it pays."""


def exhaustive(ctx: StrategyContext) -> Proposals:
    grid = list(split_aware_grid(ctx.space))
    if not ctx.by_latency:
        yield from grid
        return
    space = ctx.planner.profile.space
    priced = sorted(
        (
            (ctx.planner.best(KeepConfig.from_fractions(space, c)).latency_ms, i, c)
            for i, c in enumerate(grid)
        ),
        key=lambda item: item[:2],
    )
    for latency, _, config in priced:
        best = ctx.best_latency()
        if best is not None and latency >= best:
            return  # everything left is at least as slow as a feasible plan already found
        yield config


def _layout_latency(planner: Planner, config: Config, splits: tuple[str, ...]) -> float:
    """Fastest latency among layouts that cut exactly at `splits` (CNNPC's get_T)."""
    profile = planner.profile
    comp = KeepConfig.from_fractions(profile.space, config)
    n = profile.n_segments
    ks = [profile.space.index(s) + 1 for s in splits]
    if len(ks) == 1:
        k = ks[0]
        layouts = [(k, n), (k, k), (0, k)]
    else:
        layouts = [(ks[0], ks[1])]
    return min(planner.plan(a, b, comp).latency_ms for a, b in layouts)


def _crs(ctx: StrategyContext, candidates: list[Config]) -> Generator[Config, None, Config | None]:
    """CNNPC's compression-rate search over `candidates` ordered from most to least pruned.

    Returns the most pruned candidate whose measured accuracy meets the floor (None if none).
    """
    if not candidates:
        return None
    hi = len(candidates) - 1  # least pruned
    yield candidates[hi]
    acc_hi = ctx.accuracy(candidates[hi])
    if acc_hi is None or acc_hi < ctx.floor:
        return None
    yield candidates[0]
    acc_lo = ctx.accuracy(candidates[0])
    if acc_lo is not None and acc_lo >= ctx.floor:
        return candidates[0]
    lo = 0
    acc_lo = acc_lo if acc_lo is not None else 0.0
    while hi - lo > 1:
        # linear interpolation of the index where accuracy crosses the floor, else bisection
        guess = lo + (ctx.floor - acc_lo) * (hi - lo) / max(acc_hi - acc_lo, 1e-12)
        idx = round(guess) if math.isfinite(guess) else (lo + hi) // 2
        if not lo < idx < hi:
            idx = (lo + hi) // 2
        yield candidates[idx]
        acc = ctx.accuracy(candidates[idx])
        if acc is not None and acc >= ctx.floor:
            hi, acc_hi = idx, acc
        else:
            lo, acc_lo = idx, acc if acc is not None else acc_lo
    return candidates[hi]


def cnnpc(ctx: StrategyContext) -> Proposals:
    planner, space = ctx.planner, ctx.space
    params = list(parameters(space))
    grids = {p: [f for f in space.fractions(p) if f < 1.0] for p in params}  # most pruned first
    yield {}
    best_t = planner.best().latency_ms

    def usable(config: Config, splits: tuple[str, ...]) -> bool:
        if _layout_latency(planner, config, splits) >= best_t:
            return False
        est = ctx.estimate(config)
        return est is None or est >= ctx.floor

    for i, first in enumerate(params):
        single = [expand(space, {first: f}) for f in grids[first]]
        found = yield from _crs(ctx, [c for c in single if usable(c, (first,))])
        if found is not None:
            best_t = min(best_t, _layout_latency(planner, found, (first,)))
        for second in params[i + 1 :]:
            for f1 in [1.0, *reversed(grids[first])]:  # least pruned first, as CNNPC walks R
                pair = [expand(space, {first: f1, second: f2}) for f2 in grids[second]]
                pair = [c for c in pair if usable(c, (first, second))]
                found = yield from _crs(ctx, pair)
                if found is not None:
                    best_t = min(best_t, _layout_latency(planner, found, (first, second)))
