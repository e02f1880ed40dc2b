"""Runs a sweep: the best plan at every (device, bandwidth), fine-tuning only what must be known.

At each condition every split-aware configuration is priced exactly (ConfigPricing) and walked
in increasing latency (ties: fewer pruned candidates first). A configuration whose validation
accuracy is in the shared cache and meets the floor ends the walk: no faster configuration can
qualify, so it is the best plan. A faster one that was never measured is fine-tuned (through the
same source and cache as `cnnpc search`) while the fine-tune budget lasts; after that it is
reported as an unverified faster candidate, so the answer is honestly "best among measured". A
Gaussian-process surrogate fitted on the cache may rule out a candidate whose optimistic accuracy
is below the floor instead. A configuration pruned where its best layout does not cut is as fast
as a smaller one: it is never fine-tuned for the sweep, but counts if it is already measured."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from cnnpc.planner import Planner
from cnnpc.records import KeepConfig
from cnnpc.search import (
    AccuracySource,
    AccuracySurrogate,
    CachedAccuracies,
    Prediction,
    table_rows,
)
from cnnpc.sweep._analysis import BitChange, Regret, Threshold, bit_changes, regrets, thresholds
from cnnpc.sweep._points import BestAt, SweepPoint, Unverified
from cnnpc.sweep._pricing import TIE, ConfigPricing, Priced
from cnnpc.sweep._settings import SweepSettings

if TYPE_CHECKING:
    from cnnpc.storage import Storage

SHOWN_UNVERIFIED = 5


@dataclass(frozen=True)
class SweepResult:
    settings: SweepSettings
    workload: str
    budget_key: str
    points: tuple[SweepPoint, ...]
    finetunes: int
    thresholds: tuple[Threshold, ...]
    regrets: tuple[Regret, ...]
    storage_url: str = ""
    plan_labels: dict[str, str] = field(default_factory=dict)
    bit_changes: tuple[BitChange, ...] = ()
    """Where the best plan's split tensors change width (a sweep with --bits)."""

    def as_dict(self) -> dict[str, Any]:
        s = self.settings
        asked = {} if s.objective.plain else {"objective": s.objective.as_dict()}
        return (
            asked
            | {
                "model": s.model,
                "devices": list(s.devices),
                "bandwidths_mbps": list(s.bandwidths),
                "uplink_mbps": s.uplink_mbps,
                "acc_floor": s.acc_floor,
                "conventions": s.conventions,
                "prune_compute": s.prune_compute,
                "workload": self.workload,
                "budget_key": self.budget_key,
                "max_finetunes": s.max_finetunes,
                "finetunes": self.finetunes,
                "unverified_points": sum(1 for p in self.points if p.unverified),
                "points": [p.as_dict() for p in self.points],
                "thresholds": [dataclasses.asdict(t) for t in self.thresholds],
                "regret": [dataclasses.asdict(r) for r in self.regrets],
                "plans": dict(self.plan_labels),
            }
            | self._codec_dict()
        )

    def _codec_dict(self) -> dict[str, Any]:
        """A sweep with --bits or --entropy: its widths and where the best one changes."""
        s = self.settings
        if not s.coded:
            return {}
        return {
            "bits": list(s.searched_bits),
            "entropy": s.entropy,
            "bit_changes": [dataclasses.asdict(c) for c in self.bit_changes],
        }


class Sweeper:
    """Walks the conditions of `settings`, sharing measurements and the fine-tune budget."""

    def __init__(
        self,
        settings: SweepSettings,
        source: AccuracySource,
        storage: Storage,
        on_point: Callable[[SweepPoint], None] | None = None,
        planner_at: Callable[[str, float], Planner] | None = None,
    ) -> None:
        self.settings = settings
        self.planner_at = planner_at or settings.planner
        self.storage = storage
        self.cache = CachedAccuracies(settings.model, source, storage)
        self.source = source
        self.on_point = on_point
        self.known = {k: acc for k, (_, acc) in self.cache.known().items()}
        self.surrogate: AccuracySurrogate | None = None
        self._predictions: dict[str, Prediction | None] = {}
        self.finetunes = 0
        self._devices: dict[int, str] = {}
        """The device asked for each pricing (by its id): its planners at other bandwidths."""
        self._priced: dict[tuple[int, float], Priced] = {}

    def run(self) -> SweepResult:
        """Passes over the grid until one spends no fine-tune, so every point sees every
        measurement (one made at a later bandwidth may also win at an earlier one)."""
        s = self.settings
        pricings = [self._pricing(self.planner_at(device, 1.0), device) for device in s.devices]
        if s.surrogate:
            self.surrogate = AccuracySurrogate(pricings[0].profile.space, coded=s.coded)
            self._refit()
        spent: dict[tuple[str, float], list[str]] = {}
        while True:
            before = self.finetunes
            passed = []
            for pricing in pricings:
                mine = []
                for bandwidth in s.bandwidths:
                    point = self._point(pricing, bandwidth)
                    spent.setdefault((point.device, bandwidth), []).extend(point.finetuned)
                    mine.append(point)
                    if self.on_point is not None:
                        self.on_point(point)
                passed.append((pricing.profile.device, mine, pricing))
            if self.finetunes == before:
                break
        found = [
            (
                device,
                [
                    dataclasses.replace(p, finetuned=tuple(spent[(device, p.bandwidth_mbps)]))
                    for p in mine
                ],
                pricing,
            )
            for device, mine, pricing in passed
        ]
        points = [p for _, mine, _ in found for p in mine]
        labels: dict[str, str] = {}
        for _, mine, _ in found:
            for p in mine:
                if p.best is not None:
                    labels.setdefault(p.best.plan_id, f"P{len(labels) + 1}")
        return SweepResult(
            settings=s,
            workload=self.source.workload,
            budget_key=self.source.budget_key,
            points=tuple(points),
            finetunes=self.finetunes,
            thresholds=tuple(
                t for d, mine, pr in found for t in thresholds(d, mine, pr, labels, self._lines)
            ),
            regrets=tuple(
                r
                for d, mine, pr in found
                for r in regrets(d, mine, pr, labels, None if self._lines else self._fixed(pr))
            ),
            storage_url=self.storage.url,
            plan_labels={label: plan_id for plan_id, label in labels.items()},
            bit_changes=tuple(c for d, mine, _ in found for c in bit_changes(d, mine)),
        )

    def _pricing(self, planner: Planner, device: str) -> ConfigPricing:
        """Every configuration of the grid, and on an accuracy table every row of it too (a
        row the grid lacks, such as one pruned at three candidates, can be the best plan)."""
        rows, bits = self.source.table_rows, self.settings.searched_bits
        space = planner.profile.space
        extra = [] if rows is None else list(table_rows(space, rows, bits).configs.values())
        pricing = ConfigPricing(planner, extra, bits=bits)
        self._devices[id(pricing)] = device
        return pricing

    @property
    def _lines(self) -> bool:
        """Whether a plan's value is latency's alpha + beta / bandwidth (crossovers exist)."""
        return self.settings.objective.plain

    def _at(self, pricing: ConfigPricing, bandwidth: float) -> Priced:
        """Every configuration's plan at `bandwidth`: the fastest, or the objective's."""
        if self._lines:
            return pricing.at(bandwidth)
        key = (id(pricing), bandwidth)
        if key not in self._priced:
            planner = self.planner_at(self._devices[id(pricing)], bandwidth)
            self._priced[key] = pricing.by_objective(planner, self.settings.objective)
        return self._priced[key]

    def _fixed(self, pricing: ConfigPricing) -> Callable[[int, int, int, float], float]:
        """The objective's value of configuration c run as layout (a, b) at a bandwidth."""
        device, goal = self._devices[id(pricing)], self.settings.objective

        def value(c: int, a: int, b: int, bandwidth: float) -> float:
            keep = KeepConfig.from_fractions(pricing.profile.space, pricing.configs[c])
            return goal.value(self.planner_at(device, bandwidth).plan(a, b, keep))

        return value

    def _refit(self) -> None:
        if self.surrogate is None:
            return
        known = self.cache.known()
        configs = [c for c, _ in known.values()]
        self.surrogate.fit(configs, [a for _, a in known.values()])
        self._predictions.clear()

    def _prediction(self, pricing: ConfigPricing, c: int) -> Prediction | None:
        if self.surrogate is None or not self.surrogate.ready:
            return None
        key = pricing.keys[c]
        if key not in self._predictions:
            self._predictions[key] = self.surrogate.predict(pricing.configs[c])
        return self._predictions[key]

    def _point(self, pricing: ConfigPricing, bandwidth: float) -> SweepPoint:
        s = self.settings
        priced = self._at(pricing, bandwidth)
        order = np.lexsort((pricing.n_pruned, priced.latency_ms))
        unverified: list[Unverified] = []
        skipped = 0
        finetuned: list[str] = []
        best_c = None
        for c in (int(i) for i in order):
            key = pricing.keys[c]
            if not np.isfinite(priced.latency_ms[c]):
                break  # no plan of this configuration (or any after it) meets the bounds
            accuracy = self.known.get(key)
            if accuracy is None and priced.redundant[c]:
                continue  # a smaller configuration as fast comes first: measure that one
            if accuracy is None:
                pred = self._prediction(pricing, c)
                z = self.surrogate.z if self.surrogate is not None else 0.0
                if pred is not None and pred.optimistic(z) < s.acc_floor:
                    skipped += 1
                    continue
                if self.finetunes >= s.max_finetunes:
                    mean = None if pred is None else pred.mean
                    unverified.append(Unverified(key, float(priced.latency_ms[c]), mean))
                    continue
                measured, spent = self.cache.measure(pricing.configs[c])
                if spent:
                    self.finetunes += 1
                    finetuned.append(key)
                accuracy = self.known[key] = measured.val_accuracy
                self._refit()
            if accuracy >= s.acc_floor:
                best_c = c
                break
        best = None if best_c is None else self._best(pricing, best_c, bandwidth)
        if best_c is not None:  # one as fast as the best (a smaller configuration) is no gain
            limit = float(priced.latency_ms[best_c]) * (1 - TIE)
            unverified = [u for u in unverified if u.latency_ms < limit]
        return SweepPoint(
            device=pricing.profile.device,
            bandwidth_mbps=bandwidth,
            best=best,
            uncompressed_ms=float(pricing.at(bandwidth).latency_ms[pricing.index["baseline"]]),
            unverified=len(unverified),
            unverified_fastest=tuple(unverified[:SHOWN_UNVERIFIED]),
            surrogate_skipped=skipped,
            finetuned=tuple(finetuned),
        )

    def _best(self, pricing: ConfigPricing, c: int, bandwidth: float) -> BestAt:
        base = pricing.planner
        config = pricing.configs[c]
        keep = KeepConfig.from_fractions(pricing.profile.space, config)
        goal = self.settings.objective
        if self._lines:
            links = dataclasses.replace(base.links, bandwidth_mbps=bandwidth)
            plan = Planner(pricing.profile, links, base.conventions, None, base.codecs).best(keep)
        else:
            plan = goal.layout(self.planner_at(self._devices[id(pricing)], bandwidth), keep)
        measured = self.cache.lookup(config)
        assert measured is not None
        return BestAt(
            config_key=pricing.keys[c],
            keep=dict(config),
            a=plan.a,
            b=plan.b,
            mode=plan.mode,
            splits=plan.splits,
            latency_ms=plan.latency_ms,
            val_accuracy=measured.val_accuracy,
            test_accuracy=measured.test_accuracy,
            traffic_bytes=plan.breakdown.traffic_bytes,
            breakdown=plan.breakdown.as_dict(),
            energy_mj=plan.energy_mj,
            fps=plan.fps,
            value=None if self._lines else goal.value(plan),
        )


def run_sweep(
    settings: SweepSettings,
    source: AccuracySource,
    storage: Storage,
    on_point: Callable[[SweepPoint], None] | None = None,
    planner_at: Callable[[str, float], Planner] | None = None,
) -> SweepResult:
    """Best plan at every condition of `settings`, its thresholds and each plan's regret.

    `planner_at(device, bandwidth)` builds the planners (default: the shipped profiles).
    """
    return Sweeper(settings, source, storage, on_point, planner_at).run()
