"""Plan sets: every plan that is best somewhere in a bandwidth range, and when to switch.

(`cnnpc deploy --adaptive` writes them, the runtime runs them; this module never imports
TensorFlow.)

The plans are what `cnnpc sweep` finds from the same cached accuracies (no fine-tuning): the
best plan at each point of a geometric grid over [low, high] edge->cloud Mbps. Each plan keeps
the parts of its latency that do not depend on the links (compute per tier, overhead) and the
bytes it sends per link, so its latency can be predicted under any link estimates with the
latency model's own rule (cnnpc.latency.LinkSetting). A runtime switches to the plan with the least
predicted latency only when it beats the current one by more than the hysteresis fraction, so
noise near a threshold does not make it flap; the table gives, per threshold, the exact
crossover and the rates at which that rule switches up and back down. Nothing here imports
TensorFlow.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from cnnpc.errors import CnnpcError, InputError
from cnnpc.records import LinkSetting, check_number, check_rate

PLANSET_FILE = "planset.json"
PLANSET_KIND = "cnnpc.planset"
GRID_POINTS = 64
DEFAULT_HYSTERESIS = 0.1


class PlanSetError(CnnpcError):
    """A plan set is malformed (its file, or plans that do not belong together)."""


@dataclass(frozen=True)
class SetPlan:
    """One plan of a set: its layout and compression, and what its latency is made of."""

    label: str
    file: str
    """Its plan.json in the set's folder (plan-<label>.json)."""
    config_key: str
    keep: dict[str, float]
    a: int
    b: int
    n_segments: int
    mode: str
    splits: tuple[str, ...]
    val_accuracy: float
    compute_ms: tuple[float, float, float]
    """End, edge and cloud compute."""
    overhead_ms: float
    uplink_bytes: float
    downlink_bytes: float
    best_mbps: tuple[float, ...]
    """Grid points where it is the best plan."""

    @property
    def uses_uplink(self) -> bool:
        return self.a < self.n_segments

    @property
    def uses_downlink(self) -> bool:
        return self.b < self.n_segments

    def predict_ms(self, links: LinkSetting) -> float:
        """Its latency under `links`, by the latency model's rule (rate, latency, message)."""
        total = sum(self.compute_ms) + self.overhead_ms
        if self.uses_uplink:
            total += float(links.ms(self.uplink_bytes, links.uplink_mbps)) + links.uplink_fixed_ms
        if self.uses_downlink:
            total += float(links.ms(self.downlink_bytes, links.bandwidth_mbps)) + links.fixed_ms
        return total

    def line(self, links: LinkSetting) -> tuple[float, float]:
        """(alpha, beta): latency = alpha + beta / edge->cloud Mbps, the other terms fixed."""
        beta = float(links.ms(self.downlink_bytes, 1.0)) if self.uses_downlink else 0.0
        return self.predict_ms(replace(links, bandwidth_mbps=1.0)) - beta, beta

    def as_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "file": self.file,
            "config_key": self.config_key,
            "keep": dict(self.keep),
            "a": self.a,
            "b": self.b,
            "n_segments": self.n_segments,
            "mode": self.mode,
            "splits": list(self.splits),
            "val_accuracy": self.val_accuracy,
            "compute_ms": list(self.compute_ms),
            "overhead_ms": self.overhead_ms,
            "uplink_bytes": self.uplink_bytes,
            "downlink_bytes": self.downlink_bytes,
            "best_mbps": list(self.best_mbps),
        }

    @staticmethod
    def parse(raw: Any, what: str) -> SetPlan:
        if not isinstance(raw, dict):
            raise PlanSetError(f"{what}: expected an object")
        try:
            compute = tuple(float(x) for x in raw["compute_ms"])
            plan = SetPlan(
                label=str(raw["label"]),
                file=str(raw["file"]),
                config_key=str(raw["config_key"]),
                keep={str(k): float(v) for k, v in dict(raw["keep"]).items()},
                a=int(raw["a"]),
                b=int(raw["b"]),
                n_segments=int(raw["n_segments"]),
                mode=str(raw["mode"]),
                splits=tuple(str(s) for s in raw["splits"]),
                val_accuracy=float(raw["val_accuracy"]),
                compute_ms=(compute[0], compute[1], compute[2]),
                overhead_ms=float(raw["overhead_ms"]),
                uplink_bytes=float(raw["uplink_bytes"]),
                downlink_bytes=float(raw["downlink_bytes"]),
                best_mbps=tuple(float(x) for x in raw["best_mbps"]),
            )
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise PlanSetError(f"{what}: malformed plan entry ({exc})") from None
        numbers = [*plan.compute_ms, plan.overhead_ms, plan.uplink_bytes, plan.downlink_bytes]
        if not all(math.isfinite(x) and x >= 0 for x in numbers):
            raise PlanSetError(f"{what}: times and bytes must be finite numbers >= 0")
        if not 0 <= plan.a <= plan.b <= plan.n_segments or "/" in plan.file:
            raise PlanSetError(f"{what}: bad layout or file name")
        return plan


@dataclass(frozen=True)
class Switch:
    """Neighbouring plans in bandwidth order: where their latencies cross, and where the
    hysteresis rule switches low -> high (rising rate) and high -> low (falling rate)."""

    low: str
    high: str
    crossover_mbps: float | None
    up_mbps: float | None
    down_mbps: float | None


@dataclass(frozen=True)
class PlanSet:
    """The plans of a set, the links they were planned for, and the switching rule."""

    model: str
    device: str
    low_mbps: float
    high_mbps: float
    hysteresis: float
    links: LinkSetting
    """The design links: uplink rate, latencies, the unit; bandwidth_mbps is the search's."""
    plans: tuple[SetPlan, ...]
    switches: tuple[Switch, ...]

    def __post_init__(self) -> None:
        if not self.plans:
            raise PlanSetError("a plan set needs at least one plan")
        if not 0 <= self.hysteresis < 1:
            raise InputError(f"--hysteresis must be in [0, 1), got {self.hysteresis!r}")
        labels = [p.label for p in self.plans]
        if len(set(labels)) != len(labels):
            raise PlanSetError("plan labels must be distinct")
        if len({(p.n_segments, p.overhead_ms) for p in self.plans}) != 1:
            raise PlanSetError("the plans of a set disagree on the model or the workload")

    def plan(self, label: str) -> SetPlan:
        for p in self.plans:
            if p.label == label:
                return p
        raise PlanSetError(f"the plan set has no plan {label!r}")

    def best(self, links: LinkSetting) -> SetPlan:
        """The plan with the least predicted latency under `links` (ties: the first)."""
        return min(self.plans, key=lambda p: p.predict_ms(links))

    def choose(self, current: str | None, links: LinkSetting) -> SetPlan:
        """The plan to run next: the best one, unless it beats `current` by no more than the
        hysteresis fraction of current's predicted latency (then stay)."""
        best = self.best(links)
        if current is None or best.label == current:
            return best
        now = self.plan(current)
        if best.predict_ms(links) < (1.0 - self.hysteresis) * now.predict_ms(links):
            return best
        return now

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "device": self.device,
            "low_mbps": self.low_mbps,
            "high_mbps": self.high_mbps,
            "hysteresis": self.hysteresis,
            "links": self.links.as_dict(),
            "plans": [p.as_dict() for p in self.plans],
            "switches": [
                {
                    "low": s.low,
                    "high": s.high,
                    "crossover_mbps": s.crossover_mbps,
                    "up_mbps": s.up_mbps,
                    "down_mbps": s.down_mbps,
                }
                for s in self.switches
            ],
        }

    @staticmethod
    def parse(raw: Any, what: str = PLANSET_FILE) -> PlanSet:
        if not isinstance(raw, dict) or raw.get("kind", PLANSET_KIND) != PLANSET_KIND:
            raise PlanSetError(f"{what}: not a cnnpc plan set")
        plans = raw.get("plans")
        if not isinstance(plans, list):
            raise PlanSetError(f"{what}: plans: expected a list")
        parsed = tuple(SetPlan.parse(p, f"{what}: plans[{i}]") for i, p in enumerate(plans))
        try:
            links = LinkSetting.from_dict(dict(raw["links"]))
            return PlanSet(
                model=str(raw["model"]),
                device=str(raw["device"]),
                low_mbps=float(raw["low_mbps"]),
                high_mbps=float(raw["high_mbps"]),
                hysteresis=float(raw["hysteresis"]),
                links=links,
                plans=parsed,
                switches=switches(parsed, links, float(raw["hysteresis"])),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise PlanSetError(f"{what}: malformed plan set ({exc})") from None
        except InputError as exc:
            raise PlanSetError(f"{what}: {exc}") from None


def switches(plans: Sequence[SetPlan], links: LinkSetting, hysteresis: float) -> tuple[Switch, ...]:
    """The switching table between neighbouring plans (in the order they are best)."""
    out = []
    for low, high in itertools.pairwise(plans):
        (a0, b0), (a1, b1) = low.line(links), high.line(links)
        keep = 1.0 - hysteresis
        out.append(
            Switch(
                low=low.label,
                high=high.label,
                crossover_mbps=_solve(b1 - b0, a0 - a1),
                up_mbps=_solve(b1 - keep * b0, keep * a0 - a1),  # high <= keep * low
                down_mbps=_solve(b0 - keep * b1, keep * a1 - a0),  # low <= keep * high
            )
        )
    return tuple(out)


def _solve(numerator: float, denominator: float) -> float | None:
    """x > 0 with numerator / x = denominator (None: no such rate)."""
    if denominator == 0:
        return None
    x = numerator / denominator
    return x if x > 0 and math.isfinite(x) else None


def check_hysteresis(value: float) -> float:
    """A hysteresis fraction in [0, 1)."""
    check_number("--hysteresis", value)
    if value >= 1:
        raise InputError(f"--hysteresis must be in [0, 1), got {value!r}")
    return value


def bandwidth_range(text: str) -> tuple[float, float]:
    """``START:STOP`` Mbps (0 < START < STOP) for `deploy --adaptive --bandwidth`."""
    low, sep, high = text.partition(":")
    if not sep:
        raise InputError(f"expected START:STOP Mbps, got {text!r}")
    try:
        lo, hi = float(low), float(high)
    except ValueError:
        raise InputError(f"expected START:STOP Mbps (numbers), got {text!r}") from None
    check_rate("START", lo)
    check_rate("STOP", hi)
    if not hi > lo:
        raise InputError(f"STOP must be > START, got {text!r}")
    return lo, hi


def grid(low: float, high: float, points: int = GRID_POINTS) -> tuple[float, ...]:
    """Geometric grid over [low, high] (a rate's effect goes as 1 / rate)."""
    return tuple(float(x) for x in np.geomspace(low, high, points))


def plan_set_of(
    points: Sequence[Any],
    n_segments: int,
    *,
    model: str,
    device: str,
    links: LinkSetting,
    hysteresis: float,
) -> PlanSet:
    """The plan set of a sweep's points (one device, bandwidth order): each distinct best plan
    once, labelled P1, P2... in the order it first wins."""
    found: dict[str, list[Any]] = {}
    for p in points:
        if p.best is not None:
            found.setdefault(p.best.plan_id, []).append(p)
    if not found:
        raise InputError(
            "no measured configuration meets the floor anywhere in the range "
            "(run 'cnnpc search' or 'cnnpc sweep' first to measure accuracies)"
        )
    plans = []
    for i, (_, wins) in enumerate(found.items(), start=1):
        best = wins[0].best
        bd: Mapping[str, float] = best.breakdown
        plans.append(
            SetPlan(
                label=f"P{i}",
                file=f"plan-P{i}.json",
                config_key=best.config_key,
                keep=dict(best.keep),
                a=best.a,
                b=best.b,
                n_segments=n_segments,
                mode=best.mode,
                splits=tuple(best.splits),
                val_accuracy=best.val_accuracy,
                compute_ms=(bd["end_ms"], bd["edge_ms"], bd["cloud_ms"]),
                overhead_ms=bd["overhead_ms"],
                uplink_bytes=bd["uplink_bytes"],
                downlink_bytes=bd["downlink_bytes"],
                best_mbps=tuple(p.bandwidth_mbps for p in wins),
            )
        )
    rates = [p.bandwidth_mbps for p in points]
    return PlanSet(
        model=model,
        device=device,
        low_mbps=min(rates),
        high_mbps=max(rates),
        hysteresis=hysteresis,
        links=links,
        plans=tuple(plans),
        switches=switches(plans, links, hysteresis),
    )


def sweep_plan_set(
    model: str,
    device: str,
    *,
    acc_floor: float,
    options: Any,
    low_mbps: float,
    high_mbps: float,
    hysteresis: float,
    design_mbps: float,
    source: Any,
    storage: Any,
    planner_at: Any = None,
    points: int = GRID_POINTS,
) -> PlanSet:
    """The plan set `cnnpc sweep` finds over [low, high] from the cached accuracies only (no
    fine-tune); `options` are the search's LinkOptions, `design_mbps` its edge->cloud rate."""
    from cnnpc.sweep import SweepSettings, run_sweep

    check_hysteresis(hysteresis)
    settings = SweepSettings(
        model=model,
        devices=(device,),
        bandwidths=grid(low_mbps, high_mbps, points),
        acc_floor=acc_floor,
        links=options,
        max_finetunes=0,
        surrogate=False,
    )
    result = run_sweep(settings, source, storage, planner_at=planner_at)
    planner = (planner_at or settings.planner)(device, design_mbps)
    return plan_set_of(
        result.points,
        planner.profile.n_segments,
        model=model,
        device=device,
        links=planner.links,
        hysteresis=hysteresis,
    )
