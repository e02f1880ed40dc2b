"""planset.json: the plans of a plan set, what their latencies are made of, and when to switch.

`deploy --adaptive` builds a `PlanSetDocument` and writes its one JSON form; the runtime,
`validate` and the CLI read it back (``load_plan_set``) as records. Each plan keeps the parts of
its latency that do not depend on the links (compute per tier, overhead) and the bytes it sends
per link, so its latency can be predicted under any link estimates with the latency model's own
rule (`LinkSetting`). A runtime switches to the plan with the least predicted latency only when
it beats the current one by more than the hysteresis fraction, so noise near a threshold does
not make it flap; the table gives, per threshold, the exact crossover and the rates at which
that rule switches up and back down. (`cnnpc.planset` finds the plans; nothing here imports
TensorFlow.)
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from cnnpc.codec import Codec
from cnnpc.errors import CnnpcError, InputError
from cnnpc.records._head import PlanError, SearchRef, _typed
from cnnpc.records._links import LinkSetting
from cnnpc.records._plan import SCHEMA_VERSION, DeployedPlan, load_plan, read_document

PLANSET_FILE = "planset.json"
PLANSET_KIND = "cnnpc.planset"


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
    codecs: dict[str, Codec] = field(default_factory=dict)
    """The coded links ("end->edge", "edge->cloud") and their codec; the bytes above are the
    coded ones. Plans may differ only here: the same parts sent at another precision."""

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
        } | ({"codecs": {k: c.as_dict() for k, c in self.codecs.items()}} if self.codecs else {})

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
                codecs={str(k): Codec.from_dict(c) for k, c in dict(raw.get("codecs", {})).items()},
            )
        except InputError as exc:
            raise PlanSetError(f"{what}: bad codec ({exc})") from None
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


@dataclass(frozen=True)
class PlanSetDocument:
    """planset.json: where the set comes from, the size it runs at, the plan that plan.json
    holds (the best at the search's own rate), and the set itself."""

    created_at: str | None
    cnnpc_version: str | None
    search: SearchRef
    """The search (id, storage, device)."""
    image_size: int | None
    design_plan: str | None
    table: PlanSet

    def as_dict(self) -> dict[str, Any]:
        """planset.json, in its key order."""
        return {
            "schema_version": SCHEMA_VERSION,
            "kind": PLANSET_KIND,
            "created_at": self.created_at,
            "cnnpc_version": self.cnnpc_version,
            "search": self.search.as_dict(),
            "image_size": self.image_size,
            "design_plan": self.design_plan,
            **self.table.as_dict(),
        }

    @staticmethod
    def parse(raw: Any, what: str = PLANSET_FILE) -> PlanSetDocument:
        """The document `raw`; the head is optional (hand-made sets may hold only the table)."""
        if not isinstance(raw, dict) or raw.get("schema_version") != SCHEMA_VERSION:
            raise PlanError(f"{what}: not a schema_version {SCHEMA_VERSION} plan set")
        table = PlanSet.parse(raw, what)
        search = raw.get("search")
        return PlanSetDocument(
            created_at=_typed(raw, "created_at", str, what),
            cnnpc_version=_typed(raw, "cnnpc_version", str, what),
            search=SearchRef.parse(search, f"{what}: search")
            if isinstance(search, dict)
            else SearchRef(),
            image_size=_typed(raw, "image_size", int, what),
            design_plan=_typed(raw, "design_plan", str, what),
            table=table,
        )


def load_plan_set(folder: str | Path) -> tuple[PlanSet, dict[str, DeployedPlan]]:
    """Read a plan-set folder: the table and every plan (each checked like plan.json)."""
    root = Path(folder)
    path = root / PLANSET_FILE
    raw = read_document(root, PLANSET_FILE, "write one with 'cnnpc deploy --adaptive'")
    table = PlanSetDocument.parse(raw, str(path)).table
    plans = {p.label: load_plan(root, p.file) for p in table.plans}
    models = {(d.head.model, d.input.shape) for d in plans.values()}
    if len(models) != 1:
        raise PlanError(f"{path}: the plans disagree on the model or the input")
    return table, plans
