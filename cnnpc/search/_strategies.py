"""Search strategies: which configuration to try next.

tpe / random: Optuna's samplers choose the keep fraction of every search parameter.
exhaustive:   every split-aware configuration (see `split_aware_grid`), or on an accuracy table
              every row of the table (see cnnpc/search/_rows.py). With an accuracy floor, in
              order of increasing latency, stopping at the first that cannot beat the best feasible
              latency: every configuration after it is slower, so the answer is the exact optimum
              over the grid and the only fine-tunes are of configurations faster than it. With a
              latency budget, every configuration within the budget in grid order.
cnnpc:        a re-implementation of CNNPC's own search (Yang et al., TPDS 2022): nested loops over
              split points and split pairs; for each, the most aggressive keep fraction that still
              meets the floor is found by linear interpolation between the accuracies bracketing the
              floor, falling back to bisection; before any fine-tune, a candidate is skipped when it
              cannot beat the best latency so far or when an accuracy estimate interpolated from
              what is already known falls below the floor. On a table, only its rows. With
              --bits, the compression-rate search runs once per width of the split tensors
              (int8 first), each width's candidates priced at that width.
All of them walk each candidate's own grid (`SearchSpace.fractions`): eight fractions, or every
channel count 1..C on CNNPC's per-channel grid.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field

from cnnpc.codec import MAX_BITS
from cnnpc.planner import Planner
from cnnpc.records import KeepConfig
from cnnpc.search._configs import Config, expand, parameters, split_aware_grid, with_bits
from cnnpc.search._objective import SearchObjective
from cnnpc.search._rows import TableRows, priced_rows
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
    rows: TableRows | None = None
    """On an accuracy table: its rows, the only configurations a strategy proposes."""
    latency_limit: float | None = None
    """The latency budget (None: an accuracy floor)."""
    below_floor: Callable[[Config], bool] | None = None
    """On a table under a floor: whether a row's accuracy, read from it, is below the floor."""
    objective: SearchObjective = field(default_factory=SearchObjective)
    """What a configuration's layout minimises: exhaustive walks in the order of its value."""
    bits: tuple[int, ...] = (MAX_BITS,)
    """The split tensors' bit widths a configuration chooses among (8 alone: int8)."""


class LatencyOrder:
    """Exhaustive's walk: configurations in a fixed order; by latency, it stops at the first that
    cannot beat the best feasible latency (everything after it is slower). `pending` says what it
    has not yet proposed that could still change the answer, so a walk cut short says so.
    `below_floor`: on an accuracy table, whether a row's accuracy (read from the table, which
    costs nothing) is below the floor; such a row is passed over and counted, not proposed."""

    def __init__(
        self,
        priced: list[tuple[float, Config]],
        best_latency: Callable[[], float | None],
        *,
        by_latency: bool,
        below_floor: Callable[[Config], bool] | None = None,
    ) -> None:
        self._priced = priced
        self._best_latency = best_latency
        self._by_latency = by_latency
        self._below_floor = below_floor
        self._at = 0
        self.passed_over = 0
        """Rows read below the floor and never proposed."""

    def __iter__(self) -> LatencyOrder:
        return self

    def __next__(self) -> Config:
        while self._at < len(self._priced):
            latency, config = self._priced[self._at]
            best = self._best_latency() if self._by_latency else None
            if best is not None and latency >= best:
                break  # everything left is at least as slow
            self._at += 1
            if self._below_floor is not None and config and self._below_floor(config):
                self.passed_over += 1
                continue
            return config
        self._at = len(self._priced)
        raise StopIteration

    def __len__(self) -> int:
        return len(self._priced)

    def pending(self) -> list[Config]:
        """Configurations not yet proposed that could still beat the best feasible plan."""
        best = self._best_latency() if self._by_latency else None
        rest = [c for latency, c in self._priced[self._at :] if best is None or latency < best]
        below = self._below_floor
        return rest if below is None else [c for c in rest if not c or not below(c)]


def exhaustive(ctx: StrategyContext) -> LatencyOrder:
    """Every configuration of the grid, or every row of the table (`ctx.rows`), priced."""
    if ctx.rows is not None:
        priced = priced_rows(ctx.planner, ctx.rows, ctx.objective)
        if ctx.latency_limit is not None:  # a row over the budget cannot be the answer
            priced = [(t, c) for t, c in priced if t <= ctx.latency_limit]
        return LatencyOrder(
            priced, ctx.best_latency, by_latency=ctx.by_latency, below_floor=ctx.below_floor
        )
    grid = list(split_aware_grid(ctx.space, ctx.bits))
    if not ctx.by_latency:
        return LatencyOrder([(0.0, c) for c in grid], ctx.best_latency, by_latency=False)
    ranked = sorted(
        ((ctx.objective.price(ctx.planner, c), i, c) for i, c in enumerate(grid)),
        key=lambda item: item[:2],
    )
    return LatencyOrder([(t, c) for t, _, c in ranked], ctx.best_latency, by_latency=True)


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
        if ctx.rows is not None and config not in ctx.rows:
            return False  # not in the accuracy table: it could only be recorded unmeasured
        est = ctx.estimate(config)
        return est is None or est >= ctx.floor

    widths = sorted(ctx.bits, reverse=True)  # int8 first, as CNNPC searched

    def at(values: Mapping[str, float], splits: tuple[str, ...], width: int) -> Config:
        """The configuration with the split tensors at `width` bits (8: as it is)."""
        return with_bits(space, expand(space, values), {s: width for s in splits})

    for i, first in enumerate(params):
        for width in widths:  # one compression-rate search per width of the split tensor
            single = [at({first: f}, (first,), width) for f in grids[first]]
            found = yield from _crs(ctx, [c for c in single if usable(c, (first,))])
            if found is not None:
                best_t = min(best_t, _layout_latency(planner, found, (first,)))
        for second in params[i + 1 :]:
            for f1 in [1.0, *reversed(grids[first])]:  # least pruned first, as CNNPC walks R
                for width in widths:
                    splits = (first, second)
                    pair = [at({first: f1, second: f2}, splits, width) for f2 in grids[second]]
                    pair = [c for c in pair if usable(c, splits)]
                    found = yield from _crs(ctx, pair)
                    if found is not None:
                        best_t = min(best_t, _layout_latency(planner, found, splits))
