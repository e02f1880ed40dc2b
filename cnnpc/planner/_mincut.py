"""Exact layer-granularity partition of a DAG over a chain of tiers, as one minimum s-t cut.

The problem (DADS-style, extended from 2 to T tiers): every node v of a DAG runs on a tier
tier(v) in 0..T-1 (0 = end device, T-1 = cloud) at cost ``compute[t, v]``. Data only moves up the
chain, so tier(u) <= tier(v) on every edge u -> v. Link k (1 <= k < T) joins tier k-1 to tier k;
the output of u crosses it, at cost ``transfer[k-1, u]``, when tier(u) < k <= the highest tier of
u's consumers -- once, however many consumers sit above (the tensor is sent once and shared), and
a tensor that skips a tier is relayed through it, paying every link on the way. Optionally a link
also has a fixed cost ``link_fixed[k-1]`` (latency, per-message cost), paid once when any node runs
at tier k or above -- whatever and however much crosses it. Minimise the sum of compute and
transfer costs.

Construction (Ishikawa's multi-label cut, specialised): binary variables x_k(v) = [tier(v) >= k],
k = 1..T-1, one graph node each, on the sink side T when x_k(v) = 1.

* Compute: the chain s -> v_{T-1} -> ... -> v_1 -> t with capacities c_{T-1}(v), ..., c_1(v),
  c_0(v); infinite reverse edges v_k -> v_{k+1} forbid x_{k+1}(v) > x_k(v), so the chain is cut
  exactly once, at the edge of tier(v), and pays exactly compute[tier(v), v].
* Precedence: an infinite edge v_k -> u_k for every edge u -> v and every k forbids
  x_k(u) > x_k(v).
* Transfer on link k of u's output: an auxiliary node a with u_k -> a (capacity transfer[k-1, u])
  and infinite edges a -> w_k for every consumer w. If some x_k(w) = 1, a must be on the sink side
  and the edge into it is cut iff x_k(u) = 0: the tensor is paid once. (With one consumer, the
  single edge u_k -> w_k does the same.)
* Fixed cost of link k: one auxiliary node z_k with s -> z_k (capacity link_fixed[k-1], cut iff
  z_k = 1) and infinite edges z_k -> v_k for every v, which force z_k = 1 as soon as some
  x_k(v) = 1; a minimum cut leaves z_k = 0 otherwise, so it pays the cost exactly when the link is
  used (an OR of the x_k: submodular, one auxiliary node per link).
* A pinned node (the input, on the end device) gets infinite edges from s or to t.

Exactness: finite cuts and monotone tier assignments correspond one to one with cut capacity =
cost, because every term is, per threshold k, a submodular function of the binary x_k (the
transfer term is an OR of consumers' x_k against the producer's: representable with one
auxiliary node) and the only coupling across thresholds is x_{k+1} <= x_k. So the minimum cut is
the global optimum, not an approximation; tests check it against brute force on random DAGs.

Numerics: SciPy's max flow computes in int32 (larger capacities wrap silently). Costs are
scaled so that U, the cost of a feasible assignment (the lowest one that respects the pins), is
2**30 units, and rounded; "infinite" is 2**30 + (number of edges) + 1, above any cut of that
feasible assignment even after rounding, so a cut containing it is never minimal, and no capacity
or flow exceeds 2**31. Rounding moves each cut edge by at most half a unit, so the returned
assignment is optimal to within (edges cut) x U / 2**30 -- every cut holds one chain edge per node
plus the tensors sent, so under 1e-6 of U for graphs of a few hundred layers. Its cost is then
recomputed exactly in floating point.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from cnnpc.errors import InputError
from cnnpc.records import FloatArray

_SCALE_TARGET = float(2**30)


@dataclass(frozen=True)
class TieredCut:
    """An optimal assignment: the tier of each node and its cost (compute + transfers)."""

    tiers: tuple[int, ...]
    cost: float
    compute: tuple[float, ...]  # per tier
    transfer: tuple[float, ...]  # per link (tier k-1 -> k), fixed cost included


def _consumers(inputs: Sequence[Sequence[int]]) -> list[list[int]]:
    out: list[list[int]] = [[] for _ in inputs]
    for v, sources in enumerate(inputs):
        for u in dict.fromkeys(sources):
            if not 0 <= u < len(inputs) or u == v:
                raise InputError(f"node {v} reads node {u}, which is not another node")
            out[u].append(v)
    return out


def price_assignment(
    inputs: Sequence[Sequence[int]],
    compute: FloatArray,
    transfer: FloatArray,
    tiers: Sequence[int],
    link_fixed: Sequence[float] | FloatArray | None = None,
) -> TieredCut:
    """Cost of a given assignment, part by part (the reference the cut is tested against)."""
    n_tiers = compute.shape[0]
    per_tier = np.zeros(n_tiers)
    per_link = np.zeros(max(n_tiers - 1, 0))
    if link_fixed is not None:
        top_tier = max(tiers, default=0)
        for k in range(1, top_tier + 1):
            per_link[k - 1] += float(link_fixed[k - 1])
    for v, t in enumerate(tiers):
        per_tier[t] += compute[t, v]
    for u, users in enumerate(_consumers(inputs)):
        for w in users:
            if tiers[w] < tiers[u]:
                raise InputError(f"node {w} runs below its input {u}: data only flows upward")
        top = max((tiers[w] for w in users), default=tiers[u])
        for k in range(tiers[u] + 1, top + 1):
            per_link[k - 1] += transfer[k - 1, u]
    return TieredCut(
        tiers=tuple(int(t) for t in tiers),
        cost=float(per_tier.sum() + per_link.sum()),
        compute=tuple(float(x) for x in per_tier),
        transfer=tuple(float(x) for x in per_link),
    )


def _feasible(
    inputs: Sequence[Sequence[int]], n_tiers: int, pinned: Mapping[int, int]
) -> list[int]:
    """The lowest assignment that respects precedence and lifts every node to its pins."""
    order = _topological(inputs)
    tiers = [0] * len(inputs)
    for v in order:
        floor = max((tiers[u] for u in inputs[v]), default=0)
        tiers[v] = max(floor, pinned.get(v, 0))
        if v in pinned and tiers[v] != pinned[v]:
            raise InputError(f"node {v} is pinned to tier {pinned[v]} below one of its inputs")
    for v, t in pinned.items():
        if not 0 <= t < n_tiers:
            raise InputError(f"node {v} pinned to tier {t}, not in 0..{n_tiers - 1}")
    return tiers


def _topological(inputs: Sequence[Sequence[int]]) -> list[int]:
    users = _consumers(inputs)
    indegree = [len(set(s)) for s in inputs]
    ready = [v for v, d in enumerate(indegree) if d == 0]
    order: list[int] = []
    while ready:
        u = ready.pop()
        order.append(u)
        for w in users[u]:
            indegree[w] -= 1
            if indegree[w] == 0:
                ready.append(w)
    if len(order) != len(inputs):
        raise InputError("the layer graph has a cycle")
    return order


class _Edges:
    """Edges with float costs (math.inf for the constraints; parallel edges add up), made
    integer at the end."""

    def __init__(self) -> None:
        self.costs: dict[tuple[int, int], float] = {}

    def add(self, x: int, y: int, cost: float) -> None:
        if cost > 0.0:
            self.costs[x, y] = self.costs.get((x, y), 0.0) + cost

    def matrix(self, size: int, bound: float) -> Any:
        """int32 capacities (what SciPy's max flow computes in, silently wrapping above 2**31):
        `bound` maps to 2**30 and "infinite" is just above any cut of an assignment that costs
        `bound`, so no capacity or flow can overflow."""
        from scipy.sparse import coo_array  # type: ignore[import-untyped]

        costs = np.array(list(self.costs.values()), dtype=np.float64)
        inf = math.ceil(_SCALE_TARGET) + len(costs) + 1
        if inf >= 2**31 - 1:
            raise InputError(f"graph too large for an int32 max flow ({len(costs)} edges)")
        finite = np.isfinite(costs)
        caps = np.full(costs.shape, inf, dtype=np.int64)
        # divided first: a bound near the smallest floats (1e-303) would overflow 2**30 / bound;
        # a cost far above the bound overflows to inf, which is capped at "infinite" as it should
        with np.errstate(over="ignore"):
            caps[finite] = np.minimum(np.rint(costs[finite] / bound * _SCALE_TARGET), inf)
        rows, cols = zip(*self.costs, strict=True) if self.costs else ((), ())
        return coo_array((caps.astype(np.int32), (rows, cols)), shape=(size, size)).tocsr()


def solve_tiered_cut(
    inputs: Sequence[Sequence[int]],
    compute: FloatArray,
    transfer: FloatArray,
    pinned: Mapping[int, int] | None = None,
    link_fixed: Sequence[float] | FloatArray | None = None,
) -> TieredCut:
    """The cheapest monotone assignment of the DAG's nodes to tiers 0..T-1 (see module doc).

    inputs[v]: the nodes whose outputs v reads; compute: (T, n) costs >= 0; transfer: (T-1, n)
    cost of sending node u's output over link k (tier k-1 -> k) >= 0; link_fixed: (T-1,) cost
    of using link k at all >= 0. Ties go to lower tiers.
    """
    from scipy.sparse import csr_array
    from scipy.sparse.csgraph import (  # type: ignore[import-untyped]
        breadth_first_order,
        maximum_flow,
    )

    n = len(inputs)
    compute = np.asarray(compute, dtype=np.float64)
    transfer = np.asarray(transfer, dtype=np.float64)
    n_tiers = int(compute.shape[0])
    if compute.shape != (n_tiers, n) or transfer.shape != (n_tiers - 1, n) or n_tiers < 2:
        raise InputError("compute must be (tiers >= 2, nodes) and transfer (tiers - 1, nodes)")
    if not (np.all(np.isfinite(compute)) and np.all(np.isfinite(transfer))):
        raise InputError("costs must be finite")
    if compute.min(initial=0.0) < 0 or transfer.min(initial=0.0) < 0:
        raise InputError("costs must be >= 0")
    fixed = np.zeros(n_tiers - 1) if link_fixed is None else np.asarray(link_fixed, np.float64)
    if fixed.shape != (n_tiers - 1,) or not np.all(np.isfinite(fixed)) or fixed.min() < 0:
        raise InputError("link_fixed must hold one finite cost >= 0 per link")
    pins = dict(pinned or {})
    base = _feasible(inputs, n_tiers, pins)
    bound = price_assignment(inputs, compute, transfer, base, fixed).cost
    if bound <= 0.0:  # nothing costs anything: the lowest feasible assignment is optimal
        return price_assignment(inputs, compute, transfer, base, fixed)
    users = _consumers(inputs)
    n_links = n_tiers - 1
    edges = _Edges()
    source, sink = 0, 1

    def node(v: int, k: int) -> int:  # x_k(v), k = 1..T-1
        return 2 + v * n_links + (k - 1)

    aux = 2 + n * n_links
    for v in range(n):
        chain = [source, *(node(v, k) for k in range(n_links, 0, -1)), sink]
        for i in range(n_tiers):  # chain[i] -> chain[i+1] pays tier T-1-i
            edges.add(chain[i], chain[i + 1], float(compute[n_tiers - 1 - i, v]))
        for k in range(1, n_links):
            edges.add(node(v, k), node(v, k + 1), math.inf)
        for k in range(1, n_links + 1):
            for w in users[v]:
                edges.add(node(w, k), node(v, k), math.inf)
            cost = float(transfer[k - 1, v])
            if len(users[v]) == 1:
                edges.add(node(v, k), node(users[v][0], k), cost)
            elif users[v]:
                edges.add(node(v, k), aux, cost)
                for w in users[v]:
                    edges.add(aux, node(w, k), math.inf)
                aux += 1
    for k in range(1, n_links + 1):
        if fixed[k - 1] > 0.0:
            edges.add(source, aux, float(fixed[k - 1]))
            for v in range(n):
                edges.add(aux, node(v, k), math.inf)
            aux += 1
    for v, t in pins.items():
        for k in range(1, n_links + 1):
            if k <= t:  # x_k(v) = 1: on the sink side
                edges.add(node(v, k), sink, math.inf)
            else:
                edges.add(source, node(v, k), math.inf)
    size = aux
    caps = edges.matrix(size, bound)
    flow = maximum_flow(caps, source, sink, method="dinic").flow
    residual = csr_array(caps - flow)
    residual.data[residual.data < 0] = 0
    residual.eliminate_zeros()
    # Nodes that still reach the sink form the minimal sink side: zero-cost layers stay low.
    reaches_sink = breadth_first_order(residual.T.tocsr(), sink, return_predecessors=False)
    high = np.zeros(size, dtype=bool)
    high[reaches_sink] = True
    tiers = [sum(int(high[node(v, k)]) for k in range(1, n_links + 1)) for v in range(n)]
    return price_assignment(inputs, compute, transfer, tiers, fixed)
