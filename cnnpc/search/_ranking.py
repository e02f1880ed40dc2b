"""Which of an estimate search's configurations to confirm by fine-tuning next, and when to stop.

Every configuration the estimate search priced and estimated is a candidate, those estimated
below the floor included (the supernet's estimates are pessimistic: fine-tunes gain up to 12
points at the narrowest widths). After each confirmation the correction (cnnpc/search/
_correction.py) is refitted on every confirmed candidate. With a floor, the next candidate is the
fastest one that could still beat the best confirmed plan (corrected estimate + k sd at or above
the floor, faster than that plan); with a latency budget, the one whose corrected upper bound is
highest above the best confirmed accuracy. The walk stops when no candidate could beat the answer
(it is then proven under the corrected estimates) or when its fine-tunes are spent. Pure: the
fine-tune is a callback.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cnnpc.records import keep_key
from cnnpc.search._configs import Config, normalise
from cnnpc.search._correction import Correction, CorrectionPrior, features

if TYPE_CHECKING:
    from cnnpc.planner import Plan, Planner
    from cnnpc.storage import TrialRecord


@dataclass(frozen=True)
class Candidate:
    """One configuration of the estimate search, priced and estimated."""

    key: str
    config: Config
    plan: Plan
    estimate: float
    pruned: int

    @property
    def latency_ms(self) -> float:
        return self.plan.latency_ms


def candidates(
    planner: Planner, trials: Iterable[TrialRecord], by_latency: bool
) -> list[Candidate]:
    """The estimate search's estimated configurations (with a budget: those within it), once
    each, fastest first."""
    found: dict[str, Candidate] = {}
    for t in trials:
        if t.state != "complete" or t.plan is None or t.val_accuracy is None:
            continue
        if not by_latency and not t.feasible:  # over the latency budget: no fine-tune helps
            continue
        config, plan = normalise(planner, t.keep)
        key = keep_key(config)
        pruned = sum(v < 1.0 for v in config.values())
        found.setdefault(key, Candidate(key, config, plan, t.val_accuracy, pruned))
    return sorted(found.values(), key=lambda c: (c.latency_ms, c.pruned))


@dataclass(frozen=True)
class Walk:
    """The correction learned so far and what it says about the unconfirmed candidates."""

    correction: Correction
    answer: Candidate | None
    open: list[tuple[Candidate, float]]
    """Unconfirmed candidates that could beat the answer, with their corrected upper bound."""


def walk_state(
    pool: list[Candidate],
    tuned: dict[str, float],
    floor: float | None,
    prior: CorrectionPrior,
) -> Walk:
    """Fit the correction on the confirmed candidates (`tuned`: key -> fine-tuned accuracy) and
    list the unconfirmed ones that could still beat the best confirmed one."""
    seen = [c for c in pool if c.key in tuned]
    correction = Correction.fit(
        [features(c.config) for c in seen], [tuned[c.key] - c.estimate for c in seen], prior
    )
    rest = [
        (c, correction.predict(c.config, c.estimate).upper(prior.k))
        for c in pool
        if c.key not in tuned
    ]
    if floor is not None:
        feasible = [c for c in seen if tuned[c.key] >= floor]
        answer = min(feasible, key=lambda c: (c.latency_ms, c.pruned), default=None)
        bound = float("inf") if answer is None else answer.latency_ms
        open_ = [(c, u) for c, u in rest if u >= floor and c.latency_ms < bound]
        open_.sort(key=lambda cu: (cu[0].latency_ms, cu[0].pruned, -cu[1]))
    else:
        answer = max(seen, key=lambda c: (tuned[c.key], -c.latency_ms), default=None)
        best = -float("inf") if answer is None else tuned[answer.key]
        open_ = [(c, u) for c, u in rest if u > best]
        open_.sort(key=lambda cu: (-cu[1], cu[0].latency_ms))
    return Walk(correction, answer, open_)


def confirm_walk(
    pool: list[Candidate],
    tuned: dict[str, float],
    fine_tune: Callable[[Candidate], tuple[float, bool]],
    floor: float | None,
    max_finetunes: int,
    prior: CorrectionPrior,
) -> tuple[Walk, int]:
    """Confirm candidates (`fine_tune`: its accuracy and whether that cost a fine-tune) in
    corrected order, `tuned` (key -> fine-tuned accuracy) growing; the last state and the
    fine-tunes spent."""
    spent = 0
    while True:
        state = walk_state(pool, tuned, floor, prior)
        if not state.open or spent >= max_finetunes:
            return state, spent
        pick = state.open[0][0]
        accuracy, fine_tuned = fine_tune(pick)
        spent += int(fine_tuned)
        tuned[pick.key] = accuracy
