"""Every split-aware configuration priced at once, at any edge->cloud bandwidth.

For a fixed configuration and layout (a, b) only the edge->cloud transfer depends on the
bandwidth, and it is bytes / bandwidth: latency = alpha + beta / bandwidth (the link's fixed
cost -- latency, per-message cost -- does not depend on the rate: it is in alpha). The tables are
built once per device from the planner's own cost tables at 1 Mbps (so there is one latency
formula in cnnpc), after which pricing all ~1,000 configurations at a new bandwidth is one numpy
expression.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from cnnpc.codec import MAX_BITS
from cnnpc.planner import Planner, latency_matrix
from cnnpc.records import FloatArray, KeepConfig, bits_entry, keep_key
from cnnpc.search import SearchObjective, parameters, split_aware_grid

TIE = 1e-9


@dataclass(frozen=True)
class Priced:
    """Best layout of every configuration at one bandwidth."""

    latency_ms: FloatArray  # (C,): or the value of a sweep's objective (`by_objective`)
    a: npt.NDArray[np.int64]
    b: npt.NDArray[np.int64]
    redundant: npt.NDArray[np.bool_]  # as fast as a configuration with one pruning fewer


class ConfigPricing:
    """alpha[c, a, b] and beta[c, b] of every split-aware configuration on one planner's profile."""

    def __init__(
        self,
        planner_at_1mbps: Planner,
        extra: Iterable[Mapping[str, float]] = (),
        bits: tuple[int, ...] = (MAX_BITS,),
    ) -> None:
        """`extra`: configurations priced besides the grid's (an accuracy table's rows);
        `bits`: the split tensors' widths a configuration chooses among (as a search's)."""
        planner = planner_at_1mbps
        if planner.links.bandwidth_mbps != 1.0:
            raise ValueError("ConfigPricing needs a planner built at 1 Mbps edge->cloud")
        self.planner = planner
        self.profile = planner.profile
        space = self.profile.space
        self.configs = [dict(c) for c in split_aware_grid(space, bits)]
        self.keys = [keep_key(c) for c in self.configs]
        self.index = {k: i for i, k in enumerate(self.keys)}
        for config in extra:
            key = keep_key(config)
            if key not in self.index:
                self.index[key] = len(self.configs)
                self.configs.append(dict(config))
                self.keys.append(key)
        alphas, betas = [], []
        for config in self.configs:
            tables = planner.tables(KeepConfig.from_fractions(self.profile.space, config))
            beta = np.asarray(tables.down_ms, dtype=np.float64).copy()
            beta[:-1] -= tables.down_fixed_ms  # boundary N is never sent: no fixed cost there
            if tables.codec_ms is not None:  # the codec's time does not scale with the rate
                beta -= tables.codec_ms
            alphas.append(latency_matrix(tables) - beta[None, :])
            betas.append(beta)
        self.alpha: FloatArray = np.stack(alphas)
        self.beta: FloatArray = np.stack(betas)
        self._params = list(parameters(space).values())
        self._subs = [self._sub_indices(c) for c in self.configs]
        self.n_pruned = np.array([len(s) for s in self._subs])

    def _sub_indices(self, config: dict[str, float]) -> list[int]:
        """Configurations with one pruned parameter fewer (in the grid, or other rows)."""
        subs = []
        for members in self._params:
            if members[0] in config or bits_entry(members[0]) in config:
                dropped = {*members, *(bits_entry(m) for m in members)}
                smaller = keep_key({k: v for k, v in config.items() if k not in dropped})
                if smaller in self.index:
                    subs.append(self.index[smaller])
        return subs

    def latency(self, c: int, a: int, b: int, bandwidth_mbps: float) -> float:
        """Latency of configuration c run as layout (a, b) at `bandwidth_mbps`."""
        return float(self.alpha[c, a, b] + self.beta[c, b] / bandwidth_mbps)

    def line(self, c: int, a: int, b: int) -> tuple[float, float]:
        """(alpha, beta): latency = alpha + beta / bandwidth."""
        return float(self.alpha[c, a, b]), float(self.beta[c, b])

    def at(self, bandwidth_mbps: float) -> Priced:
        """Best layout of every configuration at `bandwidth_mbps`."""
        lat = self.alpha + self.beta[:, None, :] / bandwidth_mbps
        flat = lat.reshape(lat.shape[0], -1)
        best = flat.argmin(axis=1)
        values = flat[np.arange(flat.shape[0]), best]
        size = lat.shape[2]
        return self._priced(values, best // size, best % size)

    def by_objective(self, planner: Planner, objective: SearchObjective) -> Priced:
        """Every configuration's layout for `objective` on `planner` (at its bandwidth): the
        value it minimises in `latency_ms` (+inf where no layout meets the objective's bounds)."""
        values, a, b = [], [], []
        for config in self.configs:
            plan = objective.layout(planner, KeepConfig.from_fractions(self.profile.space, config))
            met = objective.violation(plan) <= 0
            values.append(objective.value(plan) if met else np.inf)
            a.append(plan.a)
            b.append(plan.b)
        return self._priced(np.array(values), np.array(a), np.array(b))

    def _priced(
        self, values: FloatArray, a: npt.NDArray[np.int64], b: npt.NDArray[np.int64]
    ) -> Priced:
        """`values` with the configurations as good as one with one pruning fewer marked."""
        redundant = np.zeros(len(self.configs), dtype=bool)
        for c, subs in enumerate(self._subs):
            limit = values[c] + TIE * max(1.0, float(values[c]))
            redundant[c] = any(values[s] <= limit for s in subs)
        return Priced(values, a, b, redundant)
