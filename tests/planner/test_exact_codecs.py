"""The exact planner with a bit width per split against brute force over layouts and codecs."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from planner.reference import compute_ms
from test_exact import problems

from cnnpc.codec import Codec, CodecChoice, CodecMeasure
from cnnpc.errors import InputError
from cnnpc.latency import breakdown
from cnnpc.planner import Planner, latency_matrix
from cnnpc.profiles import make_profile
from cnnpc.records import KeepConfig, LinkSetting


@st.composite
def choices(draw, names):
    bits = draw(st.lists(st.integers(1, 8), min_size=1, max_size=4, unique=True))
    entropy = draw(st.sampled_from(["none", "zstd"]))
    measures = [
        CodecMeasure(
            name,
            b,
            ratio=draw(st.floats(0.8, 4.0)),
            encode_ms=draw(st.sampled_from([0.0, 0.3, 2.5])),
            decode_ms=draw(st.sampled_from([0.0, 0.7, 4.0])),
        )
        for name, b in itertools.product(names, bits)
        if draw(st.booleans())
    ]
    return CodecChoice(tuple(bits), entropy, tuple(measures))


@st.composite
def coded_problems(draw):
    profile, comp, links, conv = draw(problems())
    choice = draw(choices([t.name for t in profile.candidates]))
    return profile, comp, links, conv, choice


def _reference(profile, comp, links, conv, choice, a, b, up, down):
    """(latency, traffic) of layout (a, b) with codec `up` on the end->edge tensor and `down` on
    the edge->cloud one, from the profile alone; None when it is no plan (a relayed split tensor
    under two codecs)."""
    n = profile.n_segments
    if 0 < a == b < n and up != down:
        return None
    total, keep = compute_ms(profile, comp, conv, a, b)
    measured = {(m.candidate, m.bits): m for m in choice.measures}

    def sent(k, codec, mbps, latency, message, coded_here):
        n_bytes = profile.boundaries[k].elements * keep[k] * profile.bytes_per_element
        ms = 2 * latency + message
        if 0 < k < n:  # a split tensor: coded
            m = measured.get((profile.candidates[k - 1].name, codec.bits))
            ratio = m.ratio if m is not None and codec.entropy == "zstd" else 1.0
            n_bytes = n_bytes * codec.bits / 8 / ratio
            if m is not None and coded_here:
                ms += m.encode_ms + m.decode_ms
        return n_bytes, ms + n_bytes * 8 / (mbps * links.mbit_bits) * 1000

    traffic = 0.0
    if a < n:
        size, ms = sent(a, up, links.uplink_mbps, links.uplink_latency_ms,
                        links.uplink_message_ms, True)  # fmt: skip
        total, traffic = total + ms, traffic + size
    if b < n:
        size, ms = sent(b, down, links.bandwidth_mbps, links.latency_ms, links.message_ms,
                        not 0 < a == b)  # fmt: skip
        total, traffic = total + ms, traffic + size
    return total + conv.overhead_ms, traffic


def _every(profile, comp, links, conv, choice):
    n = profile.n_segments
    out = {}
    for a, b in itertools.product(range(n + 1), repeat=2):
        for up, down in itertools.product(choice.codecs, repeat=2):
            if a <= b:
                priced = _reference(profile, comp, links, conv, choice, a, b, up, down)
                if priced is not None:
                    out[a, b, up, down] = priced
    return out


def _codecs_of(plan):
    """The (end->edge, edge->cloud) codecs a plan reports (None where a link is unused)."""
    by_link = {c.link: c.codec for c in plan.codecs}
    return by_link.get("end->edge"), by_link.get("edge->cloud")


def _check_reported(plan, profile, comp, links, conv, choice):
    """The plan's reported codecs price to its latency and traffic by the reference."""
    up, down = _codecs_of(plan)
    n = profile.n_segments
    widest = choice.codecs[0]
    up = up if up is not None and 0 < plan.a < n else widest
    down = down if down is not None and 0 < plan.b < n else (up if plan.a == plan.b else widest)
    lat, traffic = _reference(profile, comp, links, conv, choice, plan.a, plan.b, up, down)
    assert plan.latency_ms == pytest.approx(lat, rel=1e-9, abs=1e-9)
    assert plan.breakdown.traffic_bytes == pytest.approx(traffic, rel=1e-9, abs=1e-9)
    for c in plan.codecs:
        if c.tensor == "input":
            assert c.codec == Codec()
        else:
            assert c.codec in choice.codecs


@settings(max_examples=300, deadline=None)
@given(coded_problems())
def test_best_with_codecs_equals_brute_force(problem):
    profile, comp, links, conv, choice = problem
    planner = Planner(profile, links, conv, codecs=choice)
    every = _every(profile, comp, links, conv, choice)
    best = planner.best(comp)
    assert best.latency_ms == pytest.approx(min(v[0] for v in every.values()), rel=1e-9, abs=1e-9)
    _check_reported(best, profile, comp, links, conv, choice)
    n = profile.n_segments
    for a, b in [(n, n), (0, n), (0, 0), (min(1, n), n), (min(1, n), min(1, n))]:
        fixed = planner.plan(a, b, comp)  # one layout: its fastest codecs
        here = min(v[0] for k, v in every.items() if k[:2] == (a, b))
        assert fixed.latency_ms == pytest.approx(here, rel=1e-9, abs=1e-9)
        _check_reported(fixed, profile, comp, links, conv, choice)


@settings(max_examples=300, deadline=None)
@given(coded_problems(), st.floats(min_value=0.0, max_value=3.0))
def test_least_traffic_with_codecs_equals_brute_force(problem, slack):
    profile, comp, links, conv, choice = problem
    planner = Planner(profile, links, conv, codecs=choice)
    every = _every(profile, comp, links, conv, choice)
    budget = min(v[0] for v in every.values()) * (1 + slack) + 1e-6
    got = planner.least_traffic(budget, comp)
    feasible = [v for v in every.values() if v[0] <= budget]
    least = min(t for _, t in feasible)
    assert got.latency_ms <= budget
    assert got.breakdown.traffic_bytes == pytest.approx(least, rel=1e-9, abs=1e-9)
    fastest_least = min(lat for lat, t in feasible if t <= least * (1 + 1e-12) + 1e-12)
    assert got.latency_ms == pytest.approx(fastest_least, rel=1e-9, abs=1e-9)
    _check_reported(got, profile, comp, links, conv, choice)


@settings(max_examples=100, deadline=None)
@given(problems())
def test_the_default_choice_prices_as_before(problem):
    profile, comp, links, conv = problem
    before = Planner(profile, links, conv)
    chosen = Planner(profile, links, conv, codecs=CodecChoice())
    assert (latency_matrix(before.tables(comp)) == latency_matrix(chosen.tables(comp))).all()
    old, new = before.best(comp), chosen.best(comp)
    assert (old.a, old.b, old.breakdown) == (new.a, new.b, new.breakdown)
    assert old.codecs is None and "codecs" not in old.as_dict()
    assert all(c.codec == Codec() for c in new.codecs) and "codecs" in new.as_dict()


def _chain():
    # 3 segments, the tensor after the first is large: the split is at the end->edge link
    profile = make_profile(
        [(1.0, 0.5, 0.1), (40.0, 2.0, 1.0), (40.0, 2.0, 1.0)], [(8, 8, 64), (4, 4, 64), (1, 1, 10)]
    )
    return profile, LinkSetting(uplink_mbps=1.0, bandwidth_mbps=1.0)


def test_fewer_bits_shrink_the_link_by_hand():
    profile, links = _chain()
    plain = Planner(profile, links).plan(1, 3)
    coded = Planner(profile, links, codecs=CodecChoice((8, 4, 2))).plan(1, 3)
    assert coded.breakdown.uplink_bytes == plain.breakdown.uplink_bytes * 2 / 8
    assert [c.as_dict() for c in coded.codecs] == [
        {"link": "end->edge", "tensor": profile.candidates[0].name, "bits": 2, "entropy": "none"}
    ]


def test_a_slow_coder_is_not_chosen():
    profile, links = _chain()
    name = profile.candidates[0].name
    slow = CodecMeasure(name, 2, encode_ms=1e4)
    plan = Planner(profile, links, codecs=CodecChoice((8, 2), measures=(slow,))).plan(1, 3)
    assert plan.codecs[0].codec == Codec(8)


def test_a_relayed_tensor_pays_its_codec_time_once():
    profile, links = _chain()
    name = profile.candidates[0].name
    timed = CodecChoice((4,), measures=(CodecMeasure(name, 4, encode_ms=3.0, decode_ms=2.0),))
    planner = Planner(profile, links, codecs=timed)
    relay = planner.plan(1, 1)
    plain = Planner(profile, links, codecs=CodecChoice((4,))).plan(1, 1)
    assert relay.latency_ms == pytest.approx(plain.latency_ms + 5.0)
    tables = planner.tables(KeepConfig.from_fractions(profile.space, {}), Codec(4))
    other = Planner(profile, links).tables()
    with pytest.raises(InputError, match="one codec on both links"):
        breakdown(tables, 1, 1, other)
