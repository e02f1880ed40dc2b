"""Exact planner: the best deployment for a fixed keep configuration, over every tier layout.

All (a, b) layouts with 0 <= a <= b <= N are priced at once as an (N+1) x (N+1) matrix from prefix
sums, so the optimum is exact (no heuristics) and a 200-segment chain solves in well under 5 ms.

With a choice of codecs (`cnnpc.codec.CodecChoice`: bit widths and a coder), each used link's
split tensor gets one of them too: the matrices of every (end->edge codec, edge->cloud codec)
pair are priced and the optimum taken over all of them, so the choice stays exact (a relayed
tensor keeps one codec on both links). Without a choice, one matrix: exactly as before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from cnnpc.codec import DEFAULT_CHOICE, DEFAULT_CODEC, Codec, CodecChoice
from cnnpc.errors import InfeasibleError, InputError
from cnnpc.latency import (
    Conventions,
    CostTables,
    PhonePower,
    ProfileArrays,
    breakdown,
    cost_tables,
    frames_per_s,
    phone_energy,
    stage_ms,
)
from cnnpc.planner._matrices import (
    check_objective,
    energy_matrix,
    latency_matrix,
    slowest_matrix,
    traffic_matrix,
)
from cnnpc.planner._parts import MB, PartSizes, PartWeights
from cnnpc.planner._plans import LINK_NAMES, MODES, SINGLE_SPLIT_MODES, LinkCodec, Plan, mode_of
from cnnpc.profiles import Profile
from cnnpc.records import NO_PRUNING, FloatArray, KeepConfig, LinkSetting, check_number


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
        *,
        radio: str | None = None,
        throughput: bool = False,
    ) -> None:
        self.profile = profile
        self.links = links
        self.conventions = conventions or Conventions()
        self.end_memory_mb = end_memory_mb
        """The end part's limit (MB): layouts whose end part needs more are not chosen."""
        self.codecs = codecs
        """The codecs a split tensor may get (None: int8 only, and plans name no codec)."""
        self.radio = radio
        """The radio asked for (None: the profile's first prices energy)."""
        self.power = (
            PhonePower.of(profile.power)
            if radio is None
            else PhonePower.needed(profile.power, radio, f"--radio {radio}")
        )
        """The phone's power figures (None: the profile has none): every plan's energy."""
        self.throughput = throughput
        """Whether plans carry their pipeline stages and frame rate."""
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
        if self.codecs is not None or keep.bits:
            sent = [(LINK_NAMES[0], a, up), (LINK_NAMES[1], b, down)]
            codecs = tuple(
                LinkCodec(link, names[k], tables.codec_at(k) if k > 0 else DEFAULT_CODEC)
                for link, k, tables in sent
                if k < n
            )
        priced = breakdown(up, a, b, None if down is up else down)
        energy = None if self.power is None else phone_energy(priced, self.power, a < n)
        stages = stage_ms(priced, self.links, a < n, b < n) if self.throughput else None
        return Plan(a, b, n, mode_of(a, b, n), splits, priced, fractions, codecs, energy, stages)

    def best(
        self,
        keep: KeepConfig = NO_PRUNING,
        modes: Iterable[str] | None = None,
        *,
        fit: bool = True,
    ) -> Plan:
        """The fastest layout (optionally among `modes`) whose end part fits `end_memory_mb`
        (unless not `fit`); ties go to the least traffic, then to the wider codecs."""
        pairs, lat = self._fitting_layouts(keep, modes, fit)
        fastest = float(lat.min())
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
        pairs, lat = self._layout_latencies(keep, modes)
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

    def choose(
        self,
        keep: KeepConfig = NO_PRUNING,
        objective: str = "latency",
        *,
        budget_ms: float | None = None,
        min_fps: float | None = None,
        modes: Iterable[str] | None = None,
    ) -> Plan:
        """The layout that minimises `objective` (latency, the phone's energy, or the slowest
        pipeline stage for throughput) within `budget_ms` and reaching `min_fps`, among those
        whose end part fits; ties go to the fastest, then to the least traffic. Without either
        constraint, latency is `best`'s choice, exactly."""
        check_objective(objective)
        if min_fps is not None:
            check_number("--fps", min_fps, strict=True)
        if objective == "latency" and budget_ms is None and min_fps is None:
            return self.best(keep, modes)
        if objective == "energy":
            power = self.power or PhonePower.needed(self.profile.power, None, "--objective energy")
        pairs, lat = self._fitting_layouts(keep, modes)
        feasible = np.isfinite(lat)
        if budget_ms is not None:
            meets = feasible & (lat <= budget_ms * (1 + 1e-12))
            if not meets.any():
                raise InfeasibleError(
                    f"no plan meets {budget_ms:g} ms; the fastest takes {float(lat.min()):.2f} ms"
                )
            feasible = meets
        slowest = self._stack(pairs, lambda up, down: slowest_matrix(up, self.links, down))
        if min_fps is not None:
            reaches = feasible & (slowest <= 1000.0 / min_fps * (1 + 1e-12))
            if not reaches.any():
                best = frames_per_s(float(slowest[feasible].min()))
                raise InfeasibleError(
                    f"no plan reaches {min_fps:g} frames/s; the best reachable is {best:.2f} "
                    "frames/s" + (f" within {budget_ms:g} ms" if budget_ms is not None else "")
                )
            feasible = reaches
        if objective == "energy":
            key = self._stack(pairs, lambda up, down: energy_matrix(up, power, down))
        else:
            key = slowest if objective == "throughput" else lat
        key = np.where(feasible, key, np.inf)
        order = np.lexsort((self._traffic(pairs).ravel(), lat.ravel(), key.ravel()))
        return self._plan_at(pairs, int(order[0]), keep)

    def _layout_latencies(
        self, keep: KeepConfig, modes: Iterable[str] | None
    ) -> tuple[list[Pair], FloatArray]:
        """Every codec pair's tables, and the latency of every layout of `modes` (inf elsewhere)."""
        pairs = self._pairs(keep)
        lat = self._latency(pairs)
        mask = self._mask(modes)
        return pairs, lat if mask is None else np.where(mask, lat, np.inf)

    def _fitting_layouts(
        self, keep: KeepConfig, modes: Iterable[str] | None, fit: bool = True
    ) -> tuple[list[Pair], FloatArray]:
        """`_layout_latencies`, inf where the end part does not fit (unless not `fit`); a request
        no layout meets (none of `modes`, or none that fits) is refused in one line."""
        pairs, lat = self._layout_latencies(keep, modes)
        if not np.isfinite(float(lat.min())):
            raise InfeasibleError("no layout of the requested modes exists for this model")
        if fit:
            lat = self._fitting(lat, keep)
            if not np.isfinite(float(lat.min())):
                raise InputError(
                    f"no plan's end part fits in {self.end_memory_mb:g} MB (--end-memory)"
                )
        return pairs, lat

    @staticmethod
    def _stack(
        pairs: list[Pair], matrix: Callable[[CostTables, CostTables | None], FloatArray]
    ) -> FloatArray:
        """(pairs, N+1, N+1): `matrix` of every codec pair (None: the same tables)."""
        return np.stack([matrix(up, None if down is up else down) for up, down in pairs])

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
