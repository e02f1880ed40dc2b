"""Exact planner: the best deployment for a fixed keep configuration, over every tier layout.

All (a, b) layouts with 0 <= a <= b <= N are priced at once as an (N+1) x (N+1) matrix from prefix
sums, so the optimum is exact (no heuristics) and a 200-segment chain solves in well under 5 ms.

With a choice of codecs (`cnnpc.codec.CodecChoice`: bit widths and a coder), each used link's
split tensor gets one of them too: the matrices of every (end->edge codec, edge->cloud codec)
pair are priced and the optimum taken over all of them, so the choice stays exact (a relayed
tensor keeps one codec on both links). Without a choice, one matrix: exactly as before.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from cnnpc.codec import DEFAULT_CHOICE, DEFAULT_CODEC, Codec, CodecChoice
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


LINK_NAMES = ("end->edge", "edge->cloud")


@dataclass(frozen=True)
class LinkCodec:
    """The codec of the tensor one link of a plan carries ("input": the raw image, never coded)."""

    link: str
    tensor: str
    codec: Codec

    def as_dict(self) -> dict[str, object]:
        return {"link": self.link, "tensor": self.tensor, **self.codec.as_dict()}


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
    codecs: tuple[LinkCodec, ...] | None = None
    """Each used link's codec, when the planner chose codecs (None: int8, as before codecs)."""

    @property
    def latency_ms(self) -> float:
        return self.breakdown.total_ms

    def tiers(self, profile: Profile) -> dict[str, list[str]]:
        """Segment names each tier runs (empty list: the tier is unused)."""
        names = [s.name for s in profile.segments]
        return {"end": names[: self.a], "edge": names[self.a : self.b], "cloud": names[self.b :]}

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
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
        if self.codecs is not None:
            out["codecs"] = [c.as_dict() for c in self.codecs]
        return out


def _relay_fix(matrix: FloatArray, tables: CostTables, down: CostTables) -> None:
    """A split tensor relayed end->cloud (0 < a == b < N) has one codec, coded once: other
    codec pairs are no layout there; its codec time is paid once, not on both links."""
    n = tables.n_segments
    inner = np.arange(1, n)
    if down.codec != tables.codec:
        matrix[inner, inner] = np.inf
    elif tables.codec_ms is not None:
        matrix[inner, inner] -= tables.codec_ms[inner]


def latency_matrix(tables: CostTables, down: CostTables | None = None) -> FloatArray:
    """L[a, b] = latency of layout (a, b); +inf below the diagonal (a > b is not a layout).

    `down`: the edge->cloud tensor's tables when its codec is not `tables`' (end->edge's)."""
    n = tables.n_segments
    second = tables if down is None else down
    zero = np.zeros(1)
    end_cum = np.concatenate([zero, np.cumsum(tables.end)])
    edge_cum = np.concatenate([zero, np.cumsum(tables.edge)])
    cloud_cum = np.concatenate([zero, np.cumsum(tables.cloud)])
    row = end_cum + tables.up_ms - edge_cum  # depends on a only
    col = edge_cum + second.down_ms + (cloud_cum[n] - cloud_cum)  # depends on b only
    matrix: FloatArray = row[:, None] + col[None, :] + tables.overhead_ms
    if down is not None or tables.codec_ms is not None:
        _relay_fix(matrix, tables, second)
    matrix[np.tril_indices(n + 1, k=-1)] = np.inf
    return matrix


def traffic_matrix(tables: CostTables, down: CostTables | None = None) -> FloatArray:
    """T[a, b] = bytes sent over both links by layout (a, b) (`down`: as `latency_matrix`)."""
    n = tables.n_segments
    second = tables if down is None else down
    matrix: FloatArray = tables.bytes[:, None] + second.bytes[None, :]
    if second.codec != tables.codec:
        inner = np.arange(1, n)
        matrix[inner, inner] = np.inf
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


Pair = tuple[CostTables, CostTables]
"""The tables of the end->edge tensor's codec and of the edge->cloud tensor's."""


class Planner:
    """Prices and solves layouts of one profile under fixed links and conventions."""

    def __init__(
        self,
        profile: Profile,
        links: LinkSetting,
        conventions: Conventions | None = None,
        end_memory_mb: float | None = None,
        codecs: CodecChoice | None = None,
    ) -> None:
        self.profile = profile
        self.links = links
        self.conventions = conventions or Conventions()
        self.end_memory_mb = end_memory_mb
        """The end part's limit (MB): layouts whose end part needs more are not chosen."""
        self.codecs = codecs
        """The codecs a split tensor may get (None: int8 only, and plans name no codec)."""
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

    def tables(self, keep: KeepConfig = NO_PRUNING, codec: Codec = DEFAULT_CODEC) -> CostTables:
        return cost_tables(
            self._arrays, self.links, keep, self.conventions, codec, self.codecs or DEFAULT_CHOICE
        )

    def _pairs(self, keep: KeepConfig) -> list[Pair]:
        """Every (end->edge, edge->cloud) codec pair's tables, widest codecs first."""
        if self.codecs is None:
            tables = self.tables(keep)
            return [(tables, tables)]
        per_codec = [self.tables(keep, c) for c in self.codecs.codecs]
        return [(up, down) for up in per_codec for down in per_codec]

    @staticmethod
    def _latency(pairs: list[Pair]) -> FloatArray:
        """(pairs, N+1, N+1): every layout's latency under every codec pair."""
        if len(pairs) == 1:
            return latency_matrix(pairs[0][0])[None]
        return np.stack([latency_matrix(up, None if down is up else down) for up, down in pairs])

    @staticmethod
    def _traffic(pairs: list[Pair]) -> FloatArray:
        if len(pairs) == 1:
            return traffic_matrix(pairs[0][0])[None]
        return np.stack([traffic_matrix(up, None if down is up else down) for up, down in pairs])

    def _mask(self, modes: Iterable[str] | None) -> np.ndarray | None:
        if modes is None:
            return None
        key = tuple(sorted(set(modes)))
        if key not in self._masks:
            self._masks[key] = _mode_mask(self.profile.n_segments, key)
        return self._masks[key]

    def plan(self, a: int, b: int, keep: KeepConfig = NO_PRUNING) -> Plan:
        """Price one given layout (with the codecs that make it fastest, then lightest)."""
        pairs = self._pairs(keep)
        if len(pairs) == 1 or not 0 <= a <= b <= self.profile.n_segments:
            return self._plan(pairs[0], a, b, keep)
        lat = self._latency(pairs)[:, a, b]
        first = int(np.lexsort((self._traffic(pairs)[:, a, b], lat))[0])
        return self._plan(pairs[first], a, b, keep)

    def _plan_at(self, pairs: list[Pair], flat: int, keep: KeepConfig) -> Plan:
        """The plan at index `flat` of the raveled (pairs, N+1, N+1) latencies."""
        side = self.profile.n_segments + 1
        p, cell = divmod(flat, side * side)
        a, b = divmod(cell, side)
        return self._plan(pairs[p], a, b, keep)

    def _plan(self, pair: Pair, a: int, b: int, keep: KeepConfig) -> Plan:
        n = self.profile.n_segments
        up, down = pair
        names = ["input", *(t.name for t in self.profile.candidates)]
        splits = tuple(dict.fromkeys(names[k] for k in (a, b) if 0 < k < n))
        kept = keep.channels
        fractions = {
            t.name: kept[t.name] / t.channels for t in self.profile.candidates if t.name in kept
        }
        codecs = None
        if self.codecs is not None:
            sent = [(LINK_NAMES[0], a, up), (LINK_NAMES[1], b, down)]
            codecs = tuple(
                LinkCodec(link, names[k], tables.codec if k > 0 else DEFAULT_CODEC)
                for link, k, tables in sent
                if k < n
            )
        priced = breakdown(up, a, b, None if down is up else down)
        return Plan(a, b, n, mode_of(a, b, n), splits, priced, fractions, codecs)

    def best(
        self,
        keep: KeepConfig = NO_PRUNING,
        modes: Iterable[str] | None = None,
        *,
        fit: bool = True,
    ) -> Plan:
        """The fastest layout (optionally among `modes`) whose end part fits `end_memory_mb`
        (unless not `fit`); ties go to the least traffic, then to the wider codecs."""
        pairs = self._pairs(keep)
        lat = self._latency(pairs)
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
            ties = ties[np.argsort(self._traffic(pairs).ravel()[ties], kind="stable")]
        return self._plan_at(pairs, int(ties[0]), keep)

    def least_traffic(
        self,
        budget_ms: float,
        keep: KeepConfig = NO_PRUNING,
        modes: Iterable[str] | None = None,
    ) -> Plan:
        """The layout meeting `budget_ms` that sends the fewest bytes; ties go to the fastest."""
        pairs = self._pairs(keep)
        lat = self._latency(pairs)
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
        traffic = np.where(feasible, self._traffic(pairs), np.inf)
        order = np.lexsort((lat.ravel(), traffic.ravel()))
        return self._plan_at(pairs, int(order[0]), keep)

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
