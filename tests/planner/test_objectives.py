"""The exact planner's energy and throughput objectives (and their constraints) against brute
force over every layout and codec pair, priced one by one."""

from __future__ import annotations

import dataclasses
import itertools
import re

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from test_exact import problems
from test_exact_codecs import coded_problems

from cnnpc.codec import CodecChoice
from cnnpc.errors import InfeasibleError, InputError
from cnnpc.latency import breakdown
from cnnpc.planner import Planner
from cnnpc.profiles import PowerFigures, RadioPower, make_profile
from cnnpc.records import LinkSetting

watts = st.floats(min_value=0.05, max_value=5.0)


@st.composite
def powered(draw, source):
    profile, comp, links, conv, choice = draw(source)
    radio = draw(st.sampled_from(["wifi", "lte", "5g"]))
    figures = PowerFigures(
        draw(watts), draw(watts), ((radio, RadioPower(draw(watts), draw(watts))),)
    )
    return dataclasses.replace(profile, power=figures), comp, links, conv, choice


def _uncoded(draw_problem):
    return draw_problem.map(lambda p: (*p, None))


def _energy(priced, figures, radio, offloaded):
    """The phone's energy written from the definition: every ms of the latency in one state."""
    r = dict(figures.radios)[radio]
    back = priced.overhead_ms if offloaded else 0.0
    wait = priced.edge_ms + priced.downlink_ms + priced.cloud_ms + priced.overhead_ms - back
    return (
        figures.compute_w * priced.end_ms
        + r.tx_w * priced.uplink_ms
        + r.rx_w * back
        + figures.idle_w * wait
    )


def _slowest(priced, links, a, b, n):
    up = priced.uplink_ms - 2 * links.uplink_latency_ms if a < n else 0.0
    down = priced.downlink_ms - 2 * links.latency_ms if b < n else 0.0
    return max(priced.end_ms, up, priced.edge_ms, down, priced.cloud_ms)


def _every(planner, comp):
    """(latency, energy, slowest stage, traffic) of every layout and codec pair."""
    profile = planner.profile
    n = profile.n_segments
    codecs = planner.codecs.codecs if planner.codecs is not None else [None]
    tables = {c: planner.tables(comp) if c is None else planner.tables(comp, c) for c in codecs}
    radio = profile.power.default_radio
    out = []
    for a, b in itertools.product(range(n + 1), repeat=2):
        for up, down in itertools.product(codecs, repeat=2):
            if a > b or (0 < a == b < n and up != down):
                continue
            second = None if down == up else tables[down]
            priced = breakdown(tables[up], a, b, second)
            out.append(
                (
                    priced.total_ms,
                    _energy(priced, profile.power, radio, a < n),
                    _slowest(priced, planner.links, a, b, n),
                    priced.traffic_bytes,
                )
            )
    return out


def _check_plan(plan, planner):
    """What the plan reports is what the definitions give its breakdown."""
    profile, n = planner.profile, planner.profile.n_segments
    radio = profile.power.default_radio
    assert plan.energy_mj == pytest.approx(
        _energy(plan.breakdown, profile.power, radio, plan.a < n), rel=1e-9, abs=1e-9
    )
    slowest = _slowest(plan.breakdown, planner.links, plan.a, plan.b, n)
    assert max(plan.stages) == pytest.approx(slowest, rel=1e-9, abs=1e-9)


def _close(x, y):
    return x == pytest.approx(y, rel=1e-9, abs=1e-9)


PROBLEMS = st.one_of(_uncoded(problems()), coded_problems())


@settings(max_examples=300, deadline=None)
@given(powered(PROBLEMS), st.floats(0.0, 2.0), st.floats(0.0, 0.9), st.booleans(), st.booleans())
def test_objectives_equal_brute_force(problem, slack, fps_slack, with_budget, with_fps):
    profile, comp, links, conv, choice = problem
    planner = Planner(profile, links, conv, codecs=choice, throughput=True)
    every = _every(planner, comp)
    budget = min(v[0] for v in every) * (1 + slack) + 1e-6 if with_budget else None
    within = [v for v in every if budget is None or v[0] <= budget]
    quickest = min(v[2] for v in within)
    min_fps = None
    if with_fps and quickest > 1e-6:  # a stage of (nearly) 0 ms: any rate
        min_fps = 1000.0 / quickest * (1 - fps_slack) * (1 - 1e-9)
    feasible = [v for v in within if min_fps is None or v[2] <= 1000.0 / min_fps * (1 + 1e-12)]
    for objective, col in (("latency", 0), ("energy", 1), ("throughput", 2)):
        got = planner.choose(comp, objective, budget_ms=budget, min_fps=min_fps)
        _check_plan(got, planner)
        value = (got.latency_ms, got.energy_mj, max(got.stages))[col]
        assert _close(value, min(v[col] for v in feasible)), objective
        if budget is not None:
            assert got.latency_ms <= budget * (1 + 1e-9)
        if min_fps is not None:
            assert got.fps >= min_fps * (1 - 1e-9)


@settings(max_examples=200, deadline=None)
@given(powered(PROBLEMS), st.floats(1.001, 10.0))
def test_an_unreachable_rate_says_the_best_one(problem, beyond):
    profile, comp, links, conv, choice = problem
    planner = Planner(profile, links, conv, codecs=choice)
    quickest = min(v[2] for v in _every(planner, comp))
    assume(quickest > 1e-6)
    best_fps = 1000.0 / quickest
    with pytest.raises(InfeasibleError, match="the best reachable is") as info:
        planner.choose(comp, "energy", min_fps=best_fps * beyond)
    said = float(re.search(r"best reachable is ([0-9.]+)", str(info.value)).group(1))
    assert said == pytest.approx(best_fps, abs=0.006)


@settings(max_examples=100, deadline=None)
@given(problems())
def test_latency_without_constraints_is_best_exactly(problem):
    profile, comp, links, conv = problem
    planner = Planner(profile, links, conv)
    assert planner.choose(comp) == planner.best(comp)
    assert "energy_mj" not in planner.best(comp).as_dict()  # no figures: nothing new
    assert "fps" not in planner.best(comp).as_dict()


def _chain(power=None):
    profile = make_profile([(30.0, 3.0, 1.0), (30.0, 3.0, 1.0)], [(32, 32, 3), (8, 8, 16)])
    return dataclasses.replace(profile, power=power), LinkSetting(uplink_mbps=1.0)


def test_energy_without_figures_names_what_is_missing():
    profile, links = _chain()
    with pytest.raises(InputError, match="lacks compute W, idle W, a radio's tx/rx W"):
        Planner(profile, links).choose(objective="energy")
    half = PowerFigures(compute_w=2.0, radios=(("lte", RadioPower(3.0, 2.0)),))
    profile, links = _chain(half)
    with pytest.raises(InputError, match=r"lacks idle W \(set them"):
        Planner(profile, links).choose(objective="energy")
    with pytest.raises(InputError, match="lacks idle W, wifi's tx/rx W"):
        Planner(profile, links, radio="wifi")


def test_energy_and_latency_optima_differ_by_hand():
    # a slow link makes offloading slow, but a hungry phone makes computing costly
    figures = PowerFigures(5.0, 0.1, (("wifi", RadioPower(0.5, 0.5)),))
    profile, links = _chain(figures)
    planner = Planner(profile, dataclasses.replace(links, uplink_mbps=0.2))
    fast, frugal = planner.choose(), planner.choose(objective="energy")
    assert fast.mode == "end_only"  # 60 ms here; 3072 input bytes take 123 ms to send
    assert frugal.mode != "end_only" and frugal.energy_mj < fast.energy_mj
    assert fast.energy_mj == pytest.approx(5.0 * 60.0 + 0.1 * planner.conventions.overhead_ms)
    bounded = planner.choose(objective="energy", budget_ms=fast.latency_ms)
    assert bounded.mode == "end_only"


def test_unknown_objective_is_one_line():
    profile, links = _chain()
    with pytest.raises(InputError, match="unknown objective 'power'"):
        Planner(profile, links).choose(objective="power")


def test_throughput_counts_stages_not_their_sum():
    profile, links = _chain()
    planner = Planner(profile, links, codecs=CodecChoice(), throughput=True)
    split = planner.plan(1, 2)
    assert split.stages == pytest.approx((30.0, split.breakdown.uplink_ms, 3.0, 0.0, 0.0))
    assert split.fps == pytest.approx(1000.0 / max(30.0, split.breakdown.uplink_ms))


def test_a_rate_of_zero_is_refused():
    profile, links = _chain()
    with pytest.raises(InputError, match="--fps must be a finite number > 0"):
        Planner(profile, links).choose(min_fps=0.0)
