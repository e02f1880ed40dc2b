"""Confirming estimates that are biased (pessimistic, as the supernet's are): the correction
learned from the fine-tunes finds the true optimum in a few fine-tunes where the old ranking
(fastest plan estimated feasible, then runners-up) stops at a slower plan; it stops once the
answer is proven, and at the cap."""

from __future__ import annotations

import itertools
import random
from collections.abc import Mapping
from dataclasses import replace

import numpy as np
import pytest
from synthetic_source import SyntheticSource

from cnnpc.records import Origin, keep_key
from cnnpc.search import (
    Candidate,
    Correction,
    CorrectionPrior,
    Measurement,
    SearchSettings,
    candidates,
    confirm,
    confirm_walk,
    normalise,
    run_search,
    walk_state,
)
from cnnpc.search._correction import features

FLOOR = 0.93
BIAS = 0.1
"""The estimates lose BIAS per unit of pruned fraction that a fine-tune wins back."""
SETTINGS = SearchSettings(
    model="mobilenet", device="MI8SE", bandwidth_mbps=10.0, acc_floor=FLOOR, trials=1
)
TRUTH = SyntheticSource()


def estimate(config: Mapping[str, float], noise: float) -> float:
    return TRUTH.accuracy(config) - BIAS * sum(1 - v for v in config.values()) + noise


@pytest.fixture(scope="module")
def pool() -> list[Candidate]:
    """A small configuration space (four candidates, four widths), priced by the exact planner,
    estimated with a known bias plus a little noise."""
    planner = SETTINGS.planner()
    rng = random.Random(0)
    found: dict[str, Candidate] = {}
    names = ("block1", "block10", "block13", "block16")
    for widths in itertools.product((0.125, 0.25, 0.5, 1.0), repeat=len(names)):
        asked = {n: w for n, w in zip(names, widths, strict=True) if w < 1.0}
        config, plan = normalise(planner, asked)
        key = keep_key(config)
        if key not in found:
            est = estimate(config, rng.gauss(0, 0.003))
            pruned = sum(v < 1.0 for v in config.values())
            found[key] = Candidate(key, config, plan, est, pruned)
    return sorted(found.values(), key=lambda c: (c.latency_ms, c.pruned))


class FineTunes:
    """The fake fine-tune source: the truth, counted."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, candidate: Candidate) -> tuple[float, bool]:
        self.calls.append(candidate.key)
        return TRUTH.accuracy(candidate.config), True


def optimum(pool: list[Candidate], floor: float = FLOOR) -> Candidate:
    return next(c for c in pool if TRUTH.accuracy(c.config) >= floor)


def old_ranking(pool: list[Candidate], floor: float = FLOOR) -> Candidate:
    """The confirmation before the correction: plans estimated feasible, fastest first, until
    one meets the floor; its answer."""
    ranked = [c for c in pool if c.estimate >= floor]
    return next(c for c in ranked if TRUTH.accuracy(c.config) >= floor)


def test_the_correction_learns_the_bias_and_narrows_where_it_measured():
    prior = CorrectionPrior()
    x = {"block1": 0.125, "block10": 0.375}
    wide = Correction.fit([], [], prior).predict(x, 0.8)
    assert wide.mean == 0.8  # no confirmation: the estimate as it is, with a wide band
    assert wide.sd >= prior.weight_sd * float(np.linalg.norm(features(x)))
    rng = np.random.default_rng(0)
    configs = [{"block1": a, "block16": b} for a in (0.125, 0.5, 1.0) for b in (0.25, 0.75)]
    gaps = [BIAS * sum(1 - v for v in c.values()) + rng.normal(0, 0.002) for c in configs]
    learned = Correction.fit([features(c) for c in configs], gaps, prior).predict(x, 0.8)
    assert learned.mean == pytest.approx(0.8 + BIAS * 1.5, abs=0.02)
    assert learned.sd < wide.sd / 3
    assert Correction.fit([], [], prior).predict({}, 0.97).mean == 0.97  # unpruned: no gap


def test_the_corrected_walk_reaches_the_true_optimum_where_the_old_ranking_does_not(pool):
    best = optimum(pool)
    old = old_ranking(pool)
    assert old.latency_ms > best.latency_ms  # the optimum is estimated below the floor
    assert best.estimate < FLOOR
    tunes = FineTunes()
    state, spent = confirm_walk(pool, {}, tunes, FLOOR, 5, CorrectionPrior())
    assert state.answer == best
    assert spent == len(tunes.calls) <= 3
    assert not state.open  # proven within the cap


def test_the_walk_stops_once_no_candidate_could_beat_its_answer(pool):
    tunes = FineTunes()
    prior = CorrectionPrior()
    state, spent = confirm_walk(pool, {}, tunes, FLOOR, 50, prior)
    assert state.answer == optimum(pool) and not state.open
    assert spent == len(tunes.calls) < 10 < len(pool)  # proof, not exhaustion
    tuned = {k: TRUTH.accuracy(next(c for c in pool if c.key == k).config) for k in tunes.calls}
    faster = [c for c in pool if c.latency_ms < state.answer.latency_ms and c.key not in tuned]
    assert faster
    for c in faster:  # every faster unconfirmed one is ruled out by its corrected upper bound
        assert state.correction.predict(c.config, c.estimate).upper(prior.k) < FLOOR
    again, spent_again = confirm_walk(pool, tuned, tunes, FLOOR, 50, prior)
    assert spent_again == 0 and again.answer == state.answer  # resumed: nothing left to do


def test_the_cap_stops_the_walk_unproven(pool):
    tunes = FineTunes()
    state, spent = confirm_walk(pool, {}, tunes, FLOOR, 1, CorrectionPrior())
    assert spent == len(tunes.calls) == 1
    assert state.open  # not proven: candidates could still beat what it has
    none, nothing = confirm_walk(pool, {}, FineTunes(), FLOOR, 0, CorrectionPrior())
    assert nothing == 0 and none.answer is None and none.open


def test_with_a_latency_budget_it_confirms_the_most_accurate_plan_within_it(pool):
    budget = pool[len(pool) // 3].latency_ms
    within = [c for c in pool if c.latency_ms <= budget]
    tunes = FineTunes()
    state, spent = confirm_walk(within, {}, tunes, None, 50, CorrectionPrior())
    truth = max(TRUTH.accuracy(c.config) for c in within)
    assert state.answer is not None and TRUTH.accuracy(state.answer.config) == truth
    assert not state.open and spent < len(within)


def test_an_estimate_below_the_floor_is_still_a_candidate(pool):
    state = walk_state(pool, {}, FLOOR, CorrectionPrior())
    open_keys = {c.key for c, _ in state.open}
    assert optimum(pool).key in open_keys
    assert state.open[0][0].latency_ms <= optimum(pool).latency_ms


class Pessimistic(SyntheticSource):
    """Estimates as the supernet gives them: BIAS per unit of pruned fraction too low."""

    trains = False

    def accuracy(self, config: Mapping[str, float]) -> float:
        return estimate(config, 0.0)

    def measure(self, config: Mapping[str, float]) -> Measurement:
        m = super().measure(config)
        origin = Origin.estimate("test-supernet", {})
        return Measurement(m.val_accuracy, m.test_accuracy, 0.0, 0, 0, origin)


def test_confirm_answers_with_a_plan_estimated_below_the_floor(storage):
    floor = 0.9  # random configurations prune hard: one below FLOOR's optimum
    settings = replace(SETTINGS, strategy="random", trials=40, acc_floor=floor)
    estimates = Pessimistic(budget_key="supernet:biased")
    truth = estimates.confirms_with = SyntheticSource(budget_key="finetune:biased")
    estimated = run_search(settings, estimates, storage)
    found, result = confirm(settings, estimated, storage, truth)
    trials = storage.list_trials(estimated.search_id)
    assert not [t for t in trials if "surrogate" in (t.reason or "")]  # every estimate is kept
    pool = candidates(settings.planner(), trials, True)
    assert found.candidates == len(pool) and found.proven and found.remaining == 0
    best, old = optimum(pool, floor), old_ranking(pool, floor)
    assert best.estimate < floor < old.estimate and best.latency_ms < old.latency_ms
    assert result.best is not None and result.best.latency_ms == pytest.approx(best.latency_ms)
    assert found.confirmed and found.finetunes == len(truth.calls) == found.tried <= 3
    assert result.message is None
