"""The head of a deployed plan document (plan.json and each plan of a plan set): where the plan
comes from (cnnpc, the search, the workload) and what it is (the choice, its accuracy, its
prediction). Read once into frozen records, so the runtime, `validate` and the CLI read
attributes, never a JSON dict; written back in the same key order (byte-identical documents).

Every part is optional: documents written by older releases, by tests or by hand may hold
only some of it, and a reader says what it needs when it is missing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from cnnpc.errors import CnnpcError


class PlanError(CnnpcError):
    """A deployment plan folder is missing, incomplete or malformed."""


def _typed(raw: Mapping[str, Any], key: str, kind: type | tuple[type, ...], what: str) -> Any:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        raise PlanError(f"{what}.{key}: expected {_name(kind)}, got {value!r}")
    if not isinstance(value, kind):
        raise PlanError(f"{what}.{key}: expected {_name(kind)}, got {type(value).__name__}")
    return value


def _name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(k.__name__ for k in kinds)


def _object(raw: Mapping[str, Any], key: str, what: str) -> Mapping[str, Any] | None:
    return _typed(raw, key, dict, what)  # type: ignore[no-any-return]


def _present(record: object) -> dict[str, Any]:
    """A record's fields in declaration order, the ones that are None left out."""
    out: dict[str, Any] = {}
    for f in fields(record):  # type: ignore[arg-type]
        value = getattr(record, f.name)
        if value is None:
            continue
        out[f.name] = value.as_dict() if hasattr(value, "as_dict") else value
    return out


NUMBER = (int, float)


@dataclass(frozen=True)
class SearchRef:
    """The stored search a plan was deployed from."""

    id: int | None = None
    storage: str | None = None
    """The database URL, password masked."""
    device: str | None = None
    mode: str | None = None
    target: float | None = None
    uplink_mbps: float | None = None
    bandwidth_mbps: float | None = None
    conventions: str | None = None
    trial: int | None = None
    """The trial whose plan this is (a single plan; a plan set's plans come from its sweep)."""

    def as_dict(self) -> dict[str, Any]:
        return _present(self)

    @staticmethod
    def parse(raw: Mapping[str, Any], what: str) -> SearchRef:
        return SearchRef(
            id=_typed(raw, "id", int, what),
            storage=_typed(raw, "storage", str, what),
            device=_typed(raw, "device", str, what),
            mode=_typed(raw, "mode", str, what),
            target=_typed(raw, "target", NUMBER, what),
            uplink_mbps=_typed(raw, "uplink_mbps", NUMBER, what),
            bandwidth_mbps=_typed(raw, "bandwidth_mbps", NUMBER, what),
            conventions=_typed(raw, "conventions", str, what),
            trial=_typed(raw, "trial", int, what),
        )


@dataclass(frozen=True)
class WorkloadRef:
    """The data the plan's models were tuned on, and the size they run at."""

    name: str | None = None
    image_size: int | None = None
    trained_size: int | None = None
    classes: tuple[Any, ...] | None = None
    """The class labels, in the model's output order (names or numbers)."""

    def as_dict(self) -> dict[str, Any]:
        out = _present(self)
        if self.classes is not None:
            out["classes"] = list(self.classes)
        return out

    @staticmethod
    def parse(raw: Mapping[str, Any], what: str) -> WorkloadRef:
        classes = _typed(raw, "classes", list, what)
        return WorkloadRef(
            name=_typed(raw, "name", str, what),
            image_size=_typed(raw, "image_size", int, what),
            trained_size=_typed(raw, "trained_size", int, what),
            classes=None if classes is None else tuple(classes),
        )


@dataclass(frozen=True)
class PlanChoice:
    """What the plan is: its splits, tiers and what it keeps of each pruned candidate."""

    label: str | None = None
    """Its name in a plan set (a single plan has none)."""
    mode: str | None = None
    splits: tuple[str, ...] | None = None
    tiers: Mapping[str, Any] | None = None
    keep: Mapping[str, float] | None = None
    channels: Mapping[str, int] | None = None
    """Channels kept at each pruned candidate (what validate and the runtime check)."""

    def as_dict(self) -> dict[str, Any]:
        out = _present(self)
        for name in ("splits", "tiers", "keep", "channels"):
            if name in out:
                out[name] = list(out[name]) if name == "splits" else dict(out[name])
        return out

    @staticmethod
    def parse(raw: Mapping[str, Any], what: str) -> PlanChoice:
        splits = _typed(raw, "splits", list, what)
        channels = _typed(raw, "channels", dict, what)
        if channels is not None and not all(
            isinstance(v, int) and not isinstance(v, bool) for v in channels.values()
        ):
            raise PlanError(f"{what}.channels: expected whole numbers of channels")
        return PlanChoice(
            label=_typed(raw, "label", str, what),
            mode=_typed(raw, "mode", str, what),
            splits=None if splits is None else tuple(str(s) for s in splits),
            tiers=_typed(raw, "tiers", dict, what),
            keep=_typed(raw, "keep", dict, what),
            channels=None if channels is None else {str(k): v for k, v in channels.items()},
        )


@dataclass(frozen=True)
class AccuracyRef:
    """The plan's accuracy as measured when it was searched (None: not measured)."""

    val: float | None = None
    test: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"val": self.val, "test": self.test}

    @staticmethod
    def parse(raw: Mapping[str, Any], what: str) -> AccuracyRef:
        return AccuracyRef(_typed(raw, "val", NUMBER, what), _typed(raw, "test", NUMBER, what))


@dataclass(frozen=True)
class Predicted:
    """The latency the plan was chosen for, and its parts (what validate compares against)."""

    source: str | None = None
    latency_ms: float | None = None
    breakdown: Mapping[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "latency_ms": self.latency_ms,
            "breakdown": dict(self.breakdown),
        }

    @staticmethod
    def parse(raw: Mapping[str, Any], what: str) -> Predicted:
        breakdown = _typed(raw, "breakdown", dict, what) or {}
        if not all(isinstance(v, NUMBER) and not isinstance(v, bool) for v in breakdown.values()):
            raise PlanError(f"{what}.breakdown: expected numbers of ms")
        return Predicted(
            source=_typed(raw, "source", str, what),
            latency_ms=_typed(raw, "latency_ms", NUMBER, what),
            breakdown={str(k): float(v) for k, v in breakdown.items()},
        )


@dataclass(frozen=True)
class PlanHead:
    """Everything in a plan document before its input, parts and links."""

    created_at: str | None = None
    cnnpc_version: str | None = None
    model: str | None = None
    search: SearchRef | None = None
    workload: WorkloadRef | None = None
    plan: PlanChoice | None = None
    accuracy: AccuracyRef | None = None
    predicted: Predicted | None = None

    def as_dict(self) -> dict[str, Any]:
        """The head's JSON form, in the documents' key order."""
        return _present(self)

    @staticmethod
    def parse(raw: Mapping[str, Any], what: str) -> PlanHead:
        """The head of document `raw` (`what` names it in errors)."""
        parts: dict[str, Any] = {}
        for key, record in (
            ("search", SearchRef),
            ("workload", WorkloadRef),
            ("plan", PlanChoice),
            ("accuracy", AccuracyRef),
            ("predicted", Predicted),
        ):
            value = _object(raw, key, what)
            parts[key] = None if value is None else record.parse(value, f"{what}: {key}")
        return PlanHead(
            created_at=_typed(raw, "created_at", str, what),
            cnnpc_version=_typed(raw, "cnnpc_version", str, what),
            model=_typed(raw, "model", str, what),
            **parts,
        )

    @property
    def classes(self) -> tuple[Any, ...]:
        """The workload's class labels (empty when the document has none)."""
        return (
            () if self.workload is None or self.workload.classes is None else self.workload.classes
        )

    @property
    def channels(self) -> dict[str, int]:
        """Channels kept at each pruned candidate (empty when the document has none)."""
        return {} if self.plan is None or self.plan.channels is None else dict(self.plan.channels)

    @property
    def search_id(self) -> int | None:
        """The search the plan was deployed from (None when the document does not say)."""
        return None if self.search is None else self.search.id

    @property
    def workload_name(self) -> str | None:
        return None if self.workload is None else self.workload.name

    @property
    def trained_size(self) -> int | None:
        """The input size the plan's models were tuned at (None when not recorded)."""
        return None if self.workload is None else self.workload.trained_size
