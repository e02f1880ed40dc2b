"""The exact planner against brute-force enumeration of every layout on random profiles."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from planner.reference import compute_ms

from cnnpc.errors import InfeasibleError
from cnnpc.latency import Conventions, breakdown
from cnnpc.planner import MODES, SINGLE_SPLIT_MODES, Planner, latency_matrix, mode_of
from cnnpc.profiles import load_profile, make_profile
from cnnpc.records import KeepConfig, LinkSetting

times = st.floats(min_value=0.0, max_value=100.0, allow_nan=False)
rates = st.floats(min_value=0.1, max_value=1000.0, allow_nan=False)
fixed = st.one_of(st.just(0.0), st.floats(min_value=0.0, max_value=80.0, allow_nan=False))


@st.composite
def problems(draw):
    n = draw(st.integers(min_value=1, max_value=9))
    seg_times = [(draw(times), draw(times), draw(times)) for _ in range(n)]
    tensors = [
        (draw(st.integers(1, 64)), draw(st.integers(1, 64)), draw(st.integers(1, 32)))
        for _ in range(n)
    ]
    profile = make_profile(seg_times, tensors)
    fractions = {
        t.name: draw(st.sampled_from([0.125, 0.25, 0.5, 0.75, 1.0]))
        for t in profile.candidates
        if draw(st.booleans())
    }
    links = LinkSetting(
        uplink_mbps=draw(rates),
        bandwidth_mbps=draw(rates),
        uplink_latency_ms=draw(fixed),
        latency_ms=draw(fixed),
        uplink_message_ms=draw(fixed),
        message_ms=draw(fixed),
    )
    conv = Conventions(
        overhead_ms=draw(st.floats(0, 5)), prune_compute=draw(st.sampled_from(["none", "linear"]))
    )
    return profile, KeepConfig.from_fractions(profile.space, fractions), links, conv


def _brute(planner, compression):
    """Every layout (a, b), priced one by one with the reference breakdown."""
    n = planner.profile.n_segments
    tables = planner.tables(compression)
    return {
        (a, b): breakdown(tables, a, b)
        for a, b in itertools.product(range(n + 1), repeat=2)
        if a <= b
    }


def _reference_ms(profile, comp, links, conv, a, b):
    """Latency of layout (a, b) written from the profile alone, independently of the library:
    compute, then each used link's bytes at its rate plus its latency there and back and its
    per-message cost (the end->cloud relay uses both links; an unused link costs nothing)."""
    n = profile.n_segments
    total, keep = compute_ms(profile, comp, conv, a, b)

    def sent(k, mbps, latency, message):
        n_bytes = profile.boundaries[k].elements * keep[k] * profile.bytes_per_element
        return n_bytes * 8 / (mbps * links.mbit_bits) * 1000 + 2 * latency + message

    if a < n:
        total += sent(a, links.uplink_mbps, links.uplink_latency_ms, links.uplink_message_ms)
    if b < n:
        total += sent(b, links.bandwidth_mbps, links.latency_ms, links.message_ms)
    return total + conv.overhead_ms


@settings(max_examples=300, deadline=None)
@given(problems())
def test_best_equals_brute_force(problem):
    profile, comp, links, conv = problem
    planner = Planner(profile, links, conv)
    every = _brute(planner, comp)
    best = planner.best(comp)
    assert best.latency_ms == pytest.approx(
        min(b.total_ms for b in every.values()), rel=1e-9, abs=1e-9
    )
    for (a, b), bd in every.items():  # the library's breakdown against the reference
        assert bd.total_ms == pytest.approx(
            _reference_ms(profile, comp, links, conv, a, b), rel=1e-9, abs=1e-9
        )
    assert best.breakdown == every[(best.a, best.b)]
    n = profile.n_segments
    for mode in MODES:
        in_mode = [bd.total_ms for (a, b), bd in every.items() if mode_of(a, b, n) == mode]
        if not in_mode:
            with pytest.raises(InfeasibleError):
                planner.best(comp, [mode])
            continue
        got = planner.best(comp, [mode])
        assert got.mode == mode
        assert got.latency_ms == pytest.approx(min(in_mode), rel=1e-9, abs=1e-9)


@settings(max_examples=300, deadline=None)
@given(problems(), st.floats(min_value=0.0, max_value=3.0))
def test_least_traffic_equals_brute_force(problem, slack):
    profile, comp, links, conv = problem
    planner = Planner(profile, links, conv)
    every = _brute(planner, comp)
    fastest = min(b.total_ms for b in every.values())
    budget = fastest * (1 + slack) + 1e-6
    got = planner.least_traffic(budget, comp)
    feasible = [bd for bd in every.values() if bd.total_ms <= budget]
    least = min(bd.traffic_bytes for bd in feasible)
    assert got.latency_ms <= budget
    assert got.breakdown.traffic_bytes == pytest.approx(least)
    fastest_least = min(bd.total_ms for bd in feasible if bd.traffic_bytes <= least * (1 + 1e-12))
    assert got.latency_ms == pytest.approx(fastest_least)


@settings(max_examples=100, deadline=None)
@given(problems())
def test_matrix_equals_breakdowns(problem):
    profile, comp, links, conv = problem
    planner = Planner(profile, links, conv)
    matrix = latency_matrix(planner.tables(comp))
    for (a, b), bd in _brute(planner, comp).items():
        assert matrix[a, b] == pytest.approx(bd.total_ms, rel=1e-9, abs=1e-9)


def test_modes_cover_every_layout_once():
    n = 4
    seen = {m: 0 for m in MODES}
    for a, b in itertools.product(range(n + 1), repeat=2):
        if a <= b:
            seen[mode_of(a, b, n)] += 1
    assert seen == {
        "end_only": 1,
        "edge_only": 1,
        "cloud_only": 1,
        "end_edge": 3,
        "end_cloud": 3,
        "edge_cloud": 3,
        "end_edge_cloud": 3,
    }


def test_mobilenet_mi8_at_10mbps_by_hand():
    """Best plan of the shipped profile, recomputed by hand from its CSV values."""
    profile = load_profile("mobilenet", "MI8")
    planner = Planner(profile, LinkSetting(20, 10))  # SI megabits
    best = planner.best()
    end = 5.6649 + 6.9043 + 13.6558 + 4.7009 + 4.9698  # conv1..block10 on the phone
    edge = 1.853 + 1.4241 + 5.0136  # block13, block16 and the head on the edge
    up = 14 * 14 * 64 * 8 / 20e6 * 1000
    assert best.mode == "end_edge"
    assert best.splits == ("block10",)
    assert best.latency_ms == pytest.approx(end + up + edge + 1.66)
    base = planner.baselines()
    assert set(base) == {
        "end_only",
        "edge_only",
        "cloud_only",
        "best_single_split",
        "best_two_split",
    }
    assert base["best_single_split"].mode in SINGLE_SPLIT_MODES
    assert base["best_two_split"].mode == "end_edge_cloud"
    assert base["end_only"].latency_ms == pytest.approx(78.4286 + 1.66)


def test_pruning_moves_the_split_earlier_on_a_slow_phone():
    profile = load_profile("mobilenet", "MI8SE")
    planner = Planner(profile, LinkSetting(20, 10))
    plain = planner.best()
    pruned = planner.best(KeepConfig.from_fractions(profile.space, {"block3": 0.125}))
    assert pruned.latency_ms < plain.latency_ms
    assert pruned.splits[0] == "block3"
    assert pruned.keep == {"block3": 0.125}


def test_latency_is_paid_only_by_the_links_a_plan_uses():
    """Latencies are one-way: a used link pays them there and back; the relay pays both."""
    profile = load_profile("mobilenet", "MI8")
    base = Planner(profile, LinkSetting(20, 10))
    slow = Planner(
        profile, LinkSetting(20, 10, uplink_latency_ms=1.0, latency_ms=30.0, message_ms=0.5)
    )
    n = profile.n_segments
    layouts = {"end_only": (n, n), "edge_only": (0, n), "end_cloud": (3, 3), "edge_cloud": (0, 5)}
    extra = {"end_only": 0.0, "edge_only": 2.0, "end_cloud": 2.0 + 60.5, "edge_cloud": 2.0 + 60.5}
    for mode, (a, b) in layouts.items():
        got, plain = slow.plan(a, b), base.plan(a, b)
        assert got.mode == mode
        assert got.latency_ms - plain.latency_ms == pytest.approx(extra[mode])
        assert got.breakdown.traffic_bytes == plain.breakdown.traffic_bytes
    # a 30 ms cloud (one way) is not worth using at any edge->cloud rate: the best plan stays off it
    far = Planner(profile, LinkSetting(20, 1000, latency_ms=30.0)).best()
    assert far.mode in ("end_only", "edge_only", "end_edge")
    near = Planner(profile, LinkSetting(20, 1000)).best()
    assert near.mode in ("end_cloud", "edge_cloud", "cloud_only")


def test_infeasible_budget_says_how_fast_it_can_go():
    planner = Planner(load_profile("resnet", "MI8"), LinkSetting(20, 1))
    with pytest.raises(
        InfeasibleError, match=r"no plan meets 1 ms; the fastest takes \d+\.\d\d ms"
    ):
        planner.least_traffic(1.0)
