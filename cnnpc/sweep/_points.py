"""What a sweep finds at one condition: the best plan, and what it could not verify.

Kept apart from the sweep (which produces them) and its analysis (which reads them), so the two
depend on these records and not on each other.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class BestAt:
    """The best plan found at one condition."""

    config_key: str
    keep: dict[str, float]
    a: int
    b: int
    mode: str
    splits: tuple[str, ...]
    latency_ms: float
    val_accuracy: float
    test_accuracy: float
    traffic_bytes: float
    breakdown: dict[str, float]
    energy_mj: float | None = None
    """The phone's energy (mJ), when the profile has power figures."""
    fps: float | None = None
    """The plan's frame rate as a pipeline, when the sweep asked for throughput."""
    value: float | None = None
    """What the sweep's objective minimised (None: latency, `latency_ms`)."""

    @property
    def plan_id(self) -> str:
        return f"{self.config_key}@{self.a}:{self.b}"

    @property
    def score(self) -> float:
        """What was minimised: the objective's value, else the latency."""
        return self.latency_ms if self.value is None else self.value

    def as_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        for key in ("energy_mj", "fps", "value"):  # only when priced: the JSON stays as it was
            if out[key] is None:
                del out[key]
        out["splits"] = list(self.splits)
        out["plan_id"] = self.plan_id
        return out


@dataclass(frozen=True)
class Unverified:
    """A never-measured configuration faster than the best plan (the budget ran out)."""

    config_key: str
    latency_ms: float
    predicted_accuracy: float | None


@dataclass(frozen=True)
class SweepPoint:
    device: str
    bandwidth_mbps: float
    best: BestAt | None
    uncompressed_ms: float
    unverified: int
    unverified_fastest: tuple[Unverified, ...]
    surrogate_skipped: int
    finetuned: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "bandwidth_mbps": self.bandwidth_mbps,
            "best": None if self.best is None else self.best.as_dict(),
            "uncompressed_ms": self.uncompressed_ms,
            "unverified": self.unverified,
            "unverified_fastest": [dataclasses.asdict(u) for u in self.unverified_fastest],
            "surrogate_skipped": self.surrogate_skipped,
            "finetuned": list(self.finetuned),
        }
