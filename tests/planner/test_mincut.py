"""The tiered minimum cut against brute-force enumeration of every placement on random DAGs."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnpc.errors import InputError
from cnnpc.planner import price_assignment, solve_tiered_cut


def _cost(inputs, compute, transfer, tiers, fixed=None):
    """Reference cost, written independently of the library: compute, then each tensor's links,
    then the fixed cost of every link some node sits above."""
    total = sum(compute[t][v] for v, t in enumerate(tiers))
    total += sum((fixed or [])[k - 1] for k in range(1, max(tiers) + 1) if fixed)
    for u in range(len(inputs)):
        users = [w for w, src in enumerate(inputs) if u in src]
        top = max((tiers[w] for w in users), default=tiers[u])
        total += sum(transfer[k - 1][u] for k in range(tiers[u] + 1, top + 1))
    return total


def _placements(inputs, n_tiers, pinned):
    """Every placement with tier(u) <= tier(v) on each edge and the pins held (inputs[v] < v)."""

    def extend(prefix):
        v = len(prefix)
        if v == len(inputs):
            yield tuple(prefix)
            return
        low = max((prefix[u] for u in inputs[v]), default=0)
        for t in range(low, n_tiers):
            if pinned.get(v, t) == t:
                yield from extend([*prefix, t])

    yield from extend([])


def _brute(inputs, compute, transfer, pinned, fixed=None):
    return min(
        _cost(inputs, compute, transfer, p, fixed)
        for p in _placements(inputs, len(compute), pinned)
    )


cost = st.one_of(st.just(0.0), st.floats(min_value=0.0, max_value=100.0, allow_nan=False))


@st.composite
def dags(draw):
    n = draw(st.integers(min_value=3, max_value=9))
    n_tiers = draw(st.sampled_from([2, 3]))
    inputs = [()] + [
        tuple(sorted(draw(st.sets(st.integers(0, v - 1), min_size=1, max_size=min(3, v)))))
        for v in range(1, n)
    ]
    compute = [[draw(cost) for _ in range(n)] for _ in range(n_tiers)]
    transfer = [[draw(cost) for _ in range(n)] for _ in range(n_tiers - 1)]
    pinned = {0: 0} if draw(st.booleans()) else {}
    fixed = [draw(cost) for _ in range(n_tiers - 1)] if draw(st.booleans()) else None
    return inputs, compute, transfer, pinned, fixed


@settings(max_examples=250, deadline=None)
@given(dags())
def test_min_cut_equals_brute_force(problem):
    inputs, compute, transfer, pinned, fixed = problem
    cut = solve_tiered_cut(inputs, np.array(compute), np.array(transfer), pinned, fixed)
    best = _brute(inputs, compute, transfer, pinned, fixed)
    assert cut.cost == pytest.approx(best, rel=1e-7, abs=1e-7)
    assert cut.cost == pytest.approx(_cost(inputs, compute, transfer, cut.tiers, fixed), rel=1e-12)
    assert cut.cost == pytest.approx(sum(cut.compute) + sum(cut.transfer), rel=1e-12)
    assert all(cut.tiers[u] <= cut.tiers[v] for v in range(len(inputs)) for u in inputs[v])
    assert all(cut.tiers[v] == t for v, t in pinned.items())


@pytest.mark.parametrize("seed", range(40))
def test_seeded_random_dags_with_any_pins(seed):
    """Seeded cases with a sink pinned to the top tier too, and occasional huge transfers."""
    rng = np.random.default_rng(seed)
    n, n_tiers = int(rng.integers(3, 10)), int(rng.integers(2, 4))
    inputs = [()] + [
        tuple(sorted(set(rng.integers(0, v, size=int(rng.integers(1, 3))).tolist())))
        for v in range(1, n)
    ]
    compute = rng.uniform(0, 10, (n_tiers, n)) * (rng.random((n_tiers, n)) < 0.7)
    transfer = rng.uniform(0, 10, (n_tiers - 1, n)) * 10.0 ** rng.integers(-3, 5, (n_tiers - 1, n))
    pinned = {0: 0, n - 1: n_tiers - 1} if seed % 2 else {0: 0}
    cut = solve_tiered_cut(inputs, compute, transfer, pinned)
    best = _brute(inputs, compute.tolist(), transfer.tolist(), pinned)
    assert cut.cost == pytest.approx(best, rel=1e-7, abs=1e-9)
    assert cut.tiers[n - 1] == pinned.get(n - 1, cut.tiers[n - 1])


@pytest.mark.parametrize("seed", range(20))
def test_seeded_link_fixed_costs(seed):
    """Fixed link costs (latency, per-message) from tiny to dominating, 3 tiers."""
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(3, 9))
    inputs = [()] + [
        tuple(sorted(set(rng.integers(0, v, size=int(rng.integers(1, 3))).tolist())))
        for v in range(1, n)
    ]
    compute = rng.uniform(0, 10, (3, n)) * (rng.random((3, n)) < 0.8)
    transfer = rng.uniform(0, 5, (2, n))
    fixed = (rng.uniform(0, 1, 2) * 10.0 ** rng.integers(-2, 3, 2)).tolist()
    cut = solve_tiered_cut(inputs, compute, transfer, {0: 0}, fixed)
    best = _brute(inputs, compute.tolist(), transfer.tolist(), {0: 0}, fixed)
    assert cut.cost == pytest.approx(best, rel=1e-7, abs=1e-9)


def test_a_fixed_cost_keeps_work_off_a_link_and_the_relay_pays_both():
    inputs = [(), (0,)]
    compute = np.array([[0.0, 100.0], [0.0, 90.0], [0.0, 1.0]])
    transfer = np.array([[3.0, 0.0], [4.0, 0.0]])
    cut = solve_tiered_cut(inputs, compute, transfer, {0: 0}, [5.0, 20.0])
    assert cut.tiers == (0, 2)  # 1 + 3 + 4 + 5 + 20 = 33 < 90 + 3 + 5
    assert cut.transfer == (8.0, 24.0) and cut.cost == pytest.approx(33.0)
    cut = solve_tiered_cut(inputs, compute, transfer, {0: 0}, [5.0, 95.0])
    assert cut.tiers == (0, 1) and cut.transfer == (8.0, 0.0)  # the link not used costs nothing
    with pytest.raises(InputError, match="link_fixed"):
        solve_tiered_cut(inputs, compute, transfer, {0: 0}, [5.0, -1.0])


def test_residual_block_cut_sends_both_branches():
    """input -> a -> {b, c}; b -> c (a residual add). The end device is fast for `a` only, and a's
    output is small while b's is huge: the optimum keeps a on the end, sends a's output once to
    both b and c on the edge (8 ms), never b's output (1000 ms)."""
    inputs = [(), (0,), (1,), (1, 2)]
    compute = np.array([[0.0, 1.0, 50.0, 50.0], [0.0, 30.0, 5.0, 5.0]])
    transfer = np.array([[40.0, 8.0, 1000.0, 0.0]])
    cut = solve_tiered_cut(inputs, compute, transfer, {0: 0})
    assert cut.tiers == (0, 0, 1, 1)
    assert cut.cost == pytest.approx(1.0 + 8.0 + 5.0 + 5.0)
    assert cut.transfer == (8.0,)  # a's output is sent once, though two layers read it


def test_end_to_cloud_is_relayed_over_both_links():
    inputs = [(), (0,)]
    compute = np.array([[0.0, 100.0], [0.0, 90.0], [0.0, 1.0]])
    transfer = np.array([[3.0, 0.0], [4.0, 0.0]])
    cut = solve_tiered_cut(inputs, compute, transfer, {0: 0})
    assert cut.tiers == (0, 2)
    assert cut.transfer == (3.0, 4.0) and cut.cost == pytest.approx(8.0)


def test_zero_cost_layers_stay_on_the_lower_tier():
    """A free layer between two tiers is a tie: it stays with the layer that feeds it."""
    inputs = [(), (0,), (1,), (2,)]
    compute = np.array([[0.0, 1.0, 0.0, 100.0], [0.0, 50.0, 0.0, 1.0]])
    transfer = np.array([[9.0, 2.0, 2.0, 0.0]])
    cut = solve_tiered_cut(inputs, compute, transfer, {0: 0})
    assert cut.tiers == (0, 0, 0, 1) and cut.cost == pytest.approx(4.0)


def test_costs_spanning_seven_orders_of_magnitude_stay_exact():
    rng = np.random.default_rng(7)
    n = 9
    inputs = [()] + [(v - 1,) if v % 3 else (v - 1, v - 2) for v in range(1, n)]
    compute = rng.uniform(0, 1, (3, n)) * 10.0 ** rng.integers(-3, 4, (3, n))
    transfer = rng.uniform(0, 1, (2, n)) * 10.0 ** rng.integers(-3, 4, (2, n))
    cut = solve_tiered_cut(inputs, compute, transfer, {0: 0})
    best = _brute(inputs, compute.tolist(), transfer.tolist(), {0: 0})
    assert cut.cost == pytest.approx(best, rel=1e-8)


def test_all_free_graph_and_price_assignment():
    inputs = [(), (0,), (0, 1)]
    zero = np.zeros((3, 3))
    assert solve_tiered_cut(inputs, zero, np.zeros((2, 3)), {0: 0}).cost == 0.0
    parts = price_assignment(inputs, np.ones((3, 3)), np.ones((2, 3)), (0, 1, 2))
    # node 0 -> {1 (edge), 2 (cloud)}: both links; node 1 -> 2: edge->cloud
    assert parts.transfer == (1.0, 2.0) and parts.cost == pytest.approx(6.0)


@pytest.mark.parametrize(
    ("inputs", "compute", "transfer", "pins", "message"),
    [
        ([(), (0,)], [[0, 1], [0, 1]], [[1, 1]], {0: 1, 1: 0}, "pinned to tier 0 below"),
        ([(1,), (0,)], [[0, 1], [0, 1]], [[1, 1]], {}, "cycle"),
        ([(), (0,)], [[0, -1], [0, 1]], [[1, 1]], {}, ">= 0"),
        ([(), (0,)], [[0, math.inf], [0, 1]], [[1, 1]], {}, "finite"),
        ([(), (0,)], [[0, 1]], [[]], {}, "tiers >= 2"),
        ([(), (5,)], [[0, 1], [0, 1]], [[1, 1]], {}, "not another node"),
    ],
)
def test_bad_problems_raise_input_error(inputs, compute, transfer, pins, message):
    with pytest.raises(InputError, match=message):
        solve_tiered_cut(inputs, np.array(compute, dtype=float), np.array(transfer), pins)


def test_costs_near_the_smallest_floats():
    """Found by Hypothesis: with a bound of 1e-303, 2**30 / bound overflowed and every cost
    became 'infinite' (the cut cost 1.0 instead of 1.3e-303)."""
    tiny = 6.728978275072797e-304
    compute = np.array([[0.0, tiny, tiny], [0.0, 0.0, 0.0]])
    transfer = np.array([[1.0, 0.0, 0.0]])
    cut = solve_tiered_cut([(), (0,), (0,)], compute, transfer, {0: 0}, None)
    assert cut.cost == pytest.approx(2 * tiny, rel=1e-9, abs=0.0)
