"""A search's best plan as one frozen record, from the search through storage to export/deploy.

The search builds it, storage keeps its JSON form (``as_dict``: the keys cnnpc has always
written) and reads it back with ``from_dict``, which refuses a payload that lacks any of them,
so no reader looks a value up by a string key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cnnpc._text import BREAKDOWN_PARTS
from cnnpc.latency import Breakdown
from cnnpc.records import split_config
from cnnpc.storage._errors import StorageError

TIER_NAMES = ("end", "edge", "cloud")
_BREAKDOWN_PARTS = (*BREAKDOWN_PARTS, "uplink_bytes", "downlink_bytes")


@dataclass(frozen=True)
class Tiers:
    """The segment names each tier runs, in network order."""

    end: tuple[str, ...]
    edge: tuple[str, ...]
    cloud: tuple[str, ...]

    @staticmethod
    def of(names: Sequence[str], end_segments: int, cloud_segments: int) -> Tiers:
        """The tiers of a plan that runs the first `end_segments` and last `cloud_segments`."""
        b = len(names) - cloud_segments
        return Tiers(tuple(names[:end_segments]), tuple(names[end_segments:b]), tuple(names[b:]))

    def as_dict(self) -> dict[str, list[str]]:
        return {"end": list(self.end), "edge": list(self.edge), "cloud": list(self.cloud)}


@dataclass(frozen=True)
class Baselines:
    """The uncompressed plans the best plan is compared with (same profile and links)."""

    uncompressed_latency_ms: float
    uncompressed_traffic_bytes: float
    single_tier: str  # the mode of the fastest single tier (end_only, edge_only, cloud_only)
    single_tier_latency_ms: float


@dataclass(frozen=True)
class BestPlan:
    """The chosen plan: where it splits, what it keeps, what it costs, how it compares."""

    trial: int
    mode: str
    splits: tuple[str, ...]
    keep: dict[str, float]
    tiers: Tiers
    latency_ms: float
    breakdown: Breakdown
    traffic_bytes: float
    val_accuracy: float | None
    test_accuracy: float | None
    baselines: Baselines
    finetunes: int
    energy_mj: float | None = None
    """The phone's energy (mJ), when the profile has power figures (None: the JSON has none)."""
    fps: float | None = None
    """The plan's frame rate as a pipeline, when its search asked for throughput."""

    @property
    def speedup_vs_best_single_tier(self) -> float:
        return self.baselines.single_tier_latency_ms / self.latency_ms

    @property
    def speedup_vs_uncompressed_plan(self) -> float:
        return self.baselines.uncompressed_latency_ms / self.latency_ms

    @property
    def traffic_reduction_vs_uncompressed(self) -> float:
        """Share of the uncompressed plan's traffic saved (negative: more traffic)."""
        before = self.baselines.uncompressed_traffic_bytes
        return 1.0 - self.traffic_bytes / before if before > 0 else 0.0

    @property
    def bits(self) -> dict[str, int]:
        """The split tensors it sends below 8 bits, by split (empty: int8, as before codecs)."""
        return split_config(self.keep)[1]

    def as_dict(self) -> dict[str, Any]:
        """The JSON form: stored, printed by `search --json`, `show --json`, `export --json`."""
        b = self.baselines
        out: dict[str, Any] = {
            "trial": self.trial,
            "latency_ms": self.latency_ms,
            "accuracy": self.test_accuracy,
            "accuracy_split": "test",
            "val_accuracy": self.val_accuracy,
            "test_accuracy": self.test_accuracy,
            "mode": self.mode,
            "splits": list(self.splits),
            "keep": dict(self.keep),
            "tiers": self.tiers.as_dict(),
            "breakdown": self.breakdown.as_dict(),
            "traffic_bytes": self.traffic_bytes,
            "uncompressed_best_latency_ms": b.uncompressed_latency_ms,
            "uncompressed_best_traffic_bytes": b.uncompressed_traffic_bytes,
            "best_single_tier": b.single_tier,
            "best_single_tier_latency_ms": b.single_tier_latency_ms,
            "speedup_vs_best_single_tier": self.speedup_vs_best_single_tier,
            "speedup_vs_uncompressed_plan": self.speedup_vs_uncompressed_plan,
            "traffic_reduction_vs_uncompressed": self.traffic_reduction_vs_uncompressed,
            "finetunes": self.finetunes,
        }
        for key, value in (("energy_mj", self.energy_mj), ("fps", self.fps)):
            if value is not None:  # only when priced: the JSON stays as it was
                out[key] = value
        return out

    @staticmethod
    def from_dict(data: Mapping[str, object], what: str = "the best plan") -> BestPlan:
        """Read `as_dict`'s form back; a missing or mistyped key is a one-line StorageError."""
        read = _Reader(data, what)
        tiers, parts, keep = read.mapping("tiers"), read.mapping("breakdown"), read.mapping("keep")
        return BestPlan(
            trial=read.integer(data, "trial"),
            mode=read.text(data, "mode"),
            splits=read.names(data, "splits"),
            keep={str(k): read.number(keep, k, "keep.") for k in keep},
            tiers=Tiers(*(read.names(tiers, t, "tiers.") for t in TIER_NAMES)),
            latency_ms=read.number(data, "latency_ms"),
            breakdown=read.breakdown(parts),
            traffic_bytes=read.number(data, "traffic_bytes"),
            val_accuracy=read.optional_number(data, "val_accuracy"),
            test_accuracy=read.optional_number(data, "test_accuracy"),
            baselines=Baselines(
                uncompressed_latency_ms=read.number(data, "uncompressed_best_latency_ms"),
                uncompressed_traffic_bytes=read.number(data, "uncompressed_best_traffic_bytes"),
                single_tier=read.text(data, "best_single_tier"),
                single_tier_latency_ms=read.number(data, "best_single_tier_latency_ms"),
            ),
            finetunes=read.integer(data, "finetunes"),
            energy_mj=read.optional_number(data, "energy_mj"),
            fps=read.optional_number(data, "fps"),
        )


def breakdown_from(parts: Mapping[str, object], what: str) -> Breakdown:
    """A Breakdown from its JSON form (``Breakdown.as_dict``: total_ms is derived, not read)."""
    return _Reader({}, what).breakdown(parts)


class _Reader:
    """Typed look-ups in a stored payload, each failing with the key's name."""

    def __init__(self, data: Mapping[str, object], what: str) -> None:
        self.data, self.what = data, what

    def _fail(self, key: str, wanted: str) -> StorageError:
        return StorageError(
            f"{self.what} is not readable: {key} is missing or not {wanted} "
            "(run the search again to store it anew)"
        )

    def _get(self, data: Mapping[str, object], key: str, prefix: str, wanted: str) -> Any:
        if not isinstance(data, Mapping) or key not in data:
            raise self._fail(prefix + key, wanted)
        return data[key]

    def mapping(self, key: str) -> Mapping[str, Any]:
        value = self._get(self.data, key, "", "an object")
        if not isinstance(value, Mapping):
            raise self._fail(key, "an object")
        return value

    def number(self, data: Mapping[str, object], key: str, prefix: str = "") -> float:
        value = self._get(data, key, prefix, "a number")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self._fail(prefix + key, "a number")
        return float(value)

    def optional_number(self, data: Mapping[str, object], key: str) -> float | None:
        return None if data.get(key) is None else self.number(data, key)

    def integer(self, data: Mapping[str, object], key: str) -> int:
        value = self._get(data, key, "", "an integer")
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._fail(key, "an integer")
        return value

    def text(self, data: Mapping[str, object], key: str) -> str:
        value = self._get(data, key, "", "a string")
        if not isinstance(value, str):
            raise self._fail(key, "a string")
        return value

    def breakdown(self, parts: Mapping[str, object]) -> Breakdown:
        return Breakdown(**{p: self.number(parts, p, "breakdown.") for p in _BREAKDOWN_PARTS})

    def names(self, data: Mapping[str, object], key: str, prefix: str = "") -> tuple[str, ...]:
        value = self._get(data, key, prefix, "a list of names")
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise self._fail(prefix + key, "a list of names")
        return tuple(value)
