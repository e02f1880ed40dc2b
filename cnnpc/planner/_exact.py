"""Exact planner: the best deployment for a fixed keep configuration, over every tier layout.

All (a, b) layouts with 0 <= a <= b <= N are priced at once as an (N+1) x (N+1) matrix from prefix
sums, so the optimum is exact (no heuristics) and a 200-segment chain solves in well under 5 ms.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from cnnpc.errors import InfeasibleError, InputError
from cnnpc.latency import (
    Breakdown,
    Conventions,
    CostTables,
    ProfileArrays,
    breakdown,
    cost_tables,
)
from cnnpc.planner._parts import MB, PartSizes, PartWeights
from cnnpc.profiles import Profile
from cnnpc.records import NO_PRUNING, FloatArray, KeepConfig, LinkSetting

MODES = (
    "end_only",
    "edge_only",
    "cloud_only",
    "end_edge",
    "end_cloud",
    "edge_cloud",
    "end_edge_cloud",
)
SINGLE_SPLIT_MODES = ("end_edge", "end_cloud", "edge_cloud")
MODE_LABELS = {
    "end_only": "end only",
    "edge_only": "edge only",
    "cloud_only": "cloud only (input relayed by the edge)",
    "end_edge": "end -> edge",
    "end_cloud": "end -> cloud (relayed by the edge)",
    "edge_cloud": "edge -> cloud",
    "end_edge_cloud": "end -> edge -> cloud",
}


def mode_of(a: int, b: int, n: int) -> str:
    """Name the layout where the end runs [0, a), the edge [a, b) and the cloud [b, n)."""
    if a == n:
        return "end_only"
    if a == 0:
        return "edge_only" if b == n else ("cloud_only" if b == 0 else "edge_cloud")
    if b == n:
        return "end_edge"
    return "end_cloud" if a == b else "end_edge_cloud"


@dataclass(frozen=True)
class Plan:
    """A deployment: tier boundaries, the keep fractions it runs with, and its priced latency."""

    a: int
    b: int
    n_segments: int
    mode: str
    splits: tuple[str, ...]
    breakdown: Breakdown
    keep: dict[str, float] = field(default_factory=dict)

    @property
    def latency_ms(self) -> float:
        return self.breakdown.total_ms

    def tiers(self, profile: Profile) -> dict[str, list[str]]:
        """Segment names each tier runs (empty list: the tier is unused)."""
        names = [s.name for s in profile.segments]
        return {"end": names[: self.a], "edge": names[self.a : self.b], "cloud": names[self.b :]}

    def as_dict(self) -> dict[str, object]:
        return {
            "latency_ms": self.latency_ms,
            "mode": self.mode,
            "splits": list(self.splits),
            "end_segments": self.a,
            "edge_segments": self.b - self.a,
            "cloud_segments": self.n_segments - self.b,
            "keep": dict(self.keep),
            "traffic_bytes": self.breakdown.traffic_bytes,
            "breakdown": self.breakdown.as_dict(),
        }


def latency_matrix(tables: CostTables) -> FloatArray:
    """L[a, b] = latency of layout (a, b); +inf below the diagonal (a > b is not a layout)."""
    n = tables.n_segments
    zero = np.zeros(1)
    end_cum = np.concatenate([zero, np.cumsum(tables.end)])
    edge_cum = np.concatenate([zero, np.cumsum(tables.edge)])
    cloud_cum = np.concatenate([zero, np.cumsum(tables.cloud)])
    row = end_cum + tables.up_ms - edge_cum  # depends on a only
    col = edge_cum + tables.down_ms + (cloud_cum[n] - cloud_cum)  # depends on b only
    matrix: FloatArray = row[:, None] + col[None, :] + tables.overhead_ms
    matrix[np.tril_indices(n + 1, k=-1)] = np.inf
    return matrix


def traffic_matrix(tables: CostTables) -> FloatArray:
    """T[a, b] = bytes sent over both links by layout (a, b)."""
    n = tables.n_segments
    matrix: FloatArray = tables.bytes[:, None] + tables.bytes[None, :]
    matrix[np.tril_indices(n + 1, k=-1)] = np.inf
    return matrix


def _mode_mask(n: int, modes: Iterable[str]) -> np.ndarray:
    wanted = set(modes)
    unknown = wanted - set(MODES)
    if unknown:
        raise InputError(
            f"unknown mode(s) {', '.join(sorted(unknown))} (valid: {', '.join(MODES)})"
        )
    a, b = np.indices((n + 1, n + 1))
    mask = np.zeros((n + 1, n + 1), dtype=bool)
    checks = {
        "end_only": a == n,
        "edge_only": (a == 0) & (b == n),
        "cloud_only": (a == 0) & (b == 0),
        "end_edge": (a > 0) & (a < n) & (b == n),
        "end_cloud": (a > 0) & (a == b) & (b < n),
        "edge_cloud": (a == 0) & (b > 0) & (b < n),
        "end_edge_cloud": (a > 0) & (a < b) & (b < n),
    }
    for mode in wanted:
        mask |= checks[mode]
    return mask & (a <= b)


class Planner:
    """Prices and solves layouts of one profile under fixed links and conventions."""

    def __init__(
        self,
        profile: Profile,
        links: LinkSetting,
        conventions: Conventions | None = None,
        end_memory_mb: float | None = None,
    ) -> None:
        self.profile = profile
        self.links = links
        self.conventions = conventions or Conventions()
        self.end_memory_mb = end_memory_mb
        """The end part's limit (MB): layouts whose end part needs more are not chosen."""
        self._arrays = ProfileArrays.of(profile)
        self._masks: dict[tuple[str, ...], np.ndarray] = {}
        self._weights: PartWeights | None = None

    @property
    def weights(self) -> PartWeights:
        """The profile's part weights (read from its layer graph on first use)."""
        if self._weights is None:
            self._weights = PartWeights(self.profile)
        return self._weights

    def part_sizes(self, plan: Plan, keep: KeepConfig = NO_PRUNING) -> PartSizes:
        """What each tier of `plan` holds (weights, as deployed)."""
        return self.weights.sizes(plan.a, plan.b, keep)

    def _fitting(self, lat: FloatArray, keep: KeepConfig) -> FloatArray:
        """`lat` with the layouts whose end part (weights, plus working memory where the
        device measured it) exceeds `end_memory_mb` priced at +inf."""
        if self.end_memory_mb is None:
            return lat
        fits = self.weights.end_need(keep) <= self.end_memory_mb * MB
        return np.where(fits[:, None], lat, np.inf)

    def tables(self, keep: KeepConfig = NO_PRUNING) -> CostTables:
        return cost_tables(self._arrays, self.links, keep, self.conventions)

    def _mask(self, modes: Iterable[str] | None) -> np.ndarray | None:
        if modes is None:
            return None
        key = tuple(sorted(set(modes)))
        if key not in self._masks:
            self._masks[key] = _mode_mask(self.profile.n_segments, key)
        return self._masks[key]

    def plan(self, a: int, b: int, keep: KeepConfig = NO_PRUNING) -> Plan:
        """Price one given layout."""
        return self._plan(self.tables(keep), a, b, keep)

    def _plan(self, tables: CostTables, a: int, b: int, keep: KeepConfig) -> Plan:
        n = self.profile.n_segments
        names = [t.name for t in self.profile.candidates]
        splits = tuple(dict.fromkeys(names[k - 1] for k in (a, b) if 0 < k < n))
        kept = keep.channels
        fractions = {
            t.name: kept[t.name] / t.channels for t in self.profile.candidates if t.name in kept
        }
        return Plan(a, b, n, mode_of(a, b, n), splits, breakdown(tables, a, b), fractions)

    def best(
        self,
        keep: KeepConfig = NO_PRUNING,
        modes: Iterable[str] | None = None,
        *,
        fit: bool = True,
    ) -> Plan:
        """The fastest layout (optionally among `modes`) whose end part fits `end_memory_mb`
        (unless not `fit`); ties go to the least traffic."""
        tables = self.tables(keep)
        lat = latency_matrix(tables)
        mask = self._mask(modes)
        if mask is not None:
            lat = np.where(mask, lat, np.inf)
        if not np.isfinite(float(lat.min())):
            raise InfeasibleError("no layout of the requested modes exists for this model")
        if fit:
            lat = self._fitting(lat, keep)
        fastest = float(lat.min())
        if not np.isfinite(fastest):
            raise InputError(f"no plan's end part fits in {self.end_memory_mb:g} MB (--end-memory)")
        ties = np.flatnonzero(lat.ravel() <= fastest + 1e-9 * max(1.0, fastest))
        if ties.size > 1:  # equal latency: send the fewest bytes
            ties = ties[np.argsort(traffic_matrix(tables).ravel()[ties], kind="stable")]
        a, b = divmod(int(ties[0]), lat.shape[1])
        return self._plan(tables, a, b, keep)

    def least_traffic(
        self,
        budget_ms: float,
        keep: KeepConfig = NO_PRUNING,
        modes: Iterable[str] | None = None,
    ) -> Plan:
        """The layout meeting `budget_ms` that sends the fewest bytes; ties go to the fastest."""
        tables = self.tables(keep)
        lat = latency_matrix(tables)
        mask = self._mask(modes)
        if mask is not None:
            lat = np.where(mask, lat, np.inf)
        feasible = lat <= budget_ms * (1 + 1e-12)
        if not feasible.any():
            fastest = float(lat.min())
            raise InfeasibleError(
                f"no plan meets {budget_ms:g} ms; the fastest takes {fastest:.2f} ms"
            )
        fitting = self._fitting(lat, keep)
        feasible &= np.isfinite(fitting)
        if not feasible.any():
            fastest = float(fitting.min())
            raise InputError(
                f"no plan meets {budget_ms:g} ms with an end part that fits in "
                f"{self.end_memory_mb:g} MB (--end-memory); the fastest that fits takes "
                f"{fastest:.2f} ms"
            )
        traffic = np.where(feasible, traffic_matrix(tables), np.inf)
        order = np.lexsort((lat.ravel(), traffic.ravel()))
        a, b = divmod(int(order[0]), lat.shape[1])
        return self._plan(tables, a, b, keep)

    def baselines(self, keep: KeepConfig = NO_PRUNING) -> dict[str, Plan]:
        """NeuroSurgeon-style comparison points: single tiers, best one split, best two splits
        (whatever their end part holds: they are what a plan is compared with)."""
        n = self.profile.n_segments
        out = {
            "end_only": self.plan(n, n, keep),
            "edge_only": self.plan(0, n, keep),
            "cloud_only": self.plan(0, 0, keep),
            "best_single_split": self.best(keep, SINGLE_SPLIT_MODES, fit=False),
        }
        if n >= 3:
            out["best_two_split"] = self.best(keep, ("end_edge_cloud",), fit=False)
        return out
