"""Frozen dataclasses in and out of the storage layer (callers never see ORM rows).

Inputs are validated here, so a bad value is a one-line error before anything is written.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cnnpc.codec import MAX_BITS, MIN_BITS
from cnnpc.errors import InputError
from cnnpc.records import BITS_SUFFIX, LinkSetting, Origin, split_config
from cnnpc.storage._models import MODES, SEARCH_STATUSES, TRIAL_STATES
from cnnpc.storage._plan import BestPlan


def json_value(value: object, what: str) -> Any:
    """`value` as plain JSON (lists, not tuples; no NaN), exactly as it will read back.

    numpy scalars and arrays are accepted (``.item()`` / ``.tolist()``); NaN and infinity
    are refused because PostgreSQL's JSON cannot hold them.
    """

    def default(obj: object) -> Any:
        for method in ("item", "tolist"):
            if callable(getattr(obj, method, None)):
                return getattr(obj, method)()
        raise TypeError(f"{type(obj).__name__} is not JSON-serialisable")

    try:
        text = json.dumps(value, allow_nan=False, default=default, sort_keys=True)
    except ValueError:
        raise InputError(f"{what} cannot be stored as JSON: it holds NaN or infinity") from None
    except TypeError as exc:
        raise InputError(f"{what} cannot be stored as JSON: {exc}") from None
    return json.loads(text)


def finite(
    value: float | None, what: str, *, lo: float | None = None, hi: float | None = None
) -> float | None:
    """`value` as a float, checked finite and within [lo, hi]; None passes through."""
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{what} must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise InputError(f"{what} must be finite, got {value!r}")
    if (lo is not None and number < lo) or (hi is not None and number > hi):
        raise InputError(f"{what} must be in [{lo}, {hi}], got {value!r}")
    return number


def required(
    value: float | None, what: str, *, lo: float | None = None, hi: float | None = None
) -> float:
    """Like `finite`, but None is refused too."""
    number = finite(value, what, lo=lo, hi=hi)
    if number is None:
        raise InputError(f"{what} is required")
    return number


def as_utc(value: datetime | None) -> datetime | None:
    """Aware UTC datetime; a naive one is taken to be UTC already."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


LINK_FIELDS = tuple(LinkSetting.__dataclass_fields__)
"""What `extra` may not hold: a search's links are in `links` alone."""

_IDENTITY_LATENCIES = ("uplink_latency_ms", "latency_ms")
"""The link fields the identity names (in `extra`, and only when not zero: a search made
before latencies existed is still the same search); rates are named on their own, the unit
and per-message costs not at all."""


def identity_extra(links: LinkSetting, extra: Mapping[str, object]) -> dict[str, object]:
    """`extra` as the identity and the JSON documents have always spelled it: with the links'
    non-zero latencies, keys sorted (as a stored `extra` always read back)."""
    out = dict(extra)
    for name in _IDENTITY_LATENCIES:
        if getattr(links, name):
            out[name] = float(getattr(links, name))
    return dict(sorted(out.items()))


def _check_choice(value: str, choices: tuple[str, ...], what: str) -> None:
    if value not in choices:
        raise InputError(f"{what} must be one of {', '.join(choices)}, got {value!r}")


@dataclass(frozen=True)
class SearchSpec:
    """What the user asked for; equal specs (ignoring code_version) are the same search."""

    model: str
    device: str
    workload: str
    links: LinkSetting
    """The links the search prices with (as its planner resolved them)."""
    mode: str
    target: float
    strategy: str
    seed: int | None
    budget_key: str
    code_version: str
    extra: dict[str, Any] = field(default_factory=dict)
    """What else tells searches apart (conventions, overhead, ...); never link settings."""
    epochs: int | None = None
    """Fine-tune epochs per candidate (None: no fine-tuning budget in epochs); the budget key
    already tells searches apart, so this is not part of the identity."""

    def validated(self) -> SearchSpec:
        """A copy with numbers as floats and extra as plain JSON, or an InputError."""
        if not isinstance(self.links, LinkSetting):
            raise InputError(f"links must be a LinkSetting, got {type(self.links).__name__}")
        mixed = sorted(set(self.extra) & set(LINK_FIELDS))
        if mixed:
            raise InputError(f"extra must not hold link settings ({', '.join(mixed)}): use links")
        _check_choice(self.mode, MODES, "mode")
        for name in ("model", "device", "workload", "strategy", "budget_key"):
            if not str(getattr(self, name)).strip():
                raise InputError(f"{name} must not be empty")
        if self.seed is not None and not isinstance(self.seed, int):
            raise InputError(f"seed must be an integer, got {self.seed!r}")
        if self.epochs is not None and (not isinstance(self.epochs, int) or self.epochs < 1):
            raise InputError(f"epochs must be an integer >= 1, got {self.epochs!r}")
        return SearchSpec(
            model=self.model,
            device=self.device,
            workload=self.workload,
            links=LinkSetting.from_dict(self.links.as_dict()),  # numbers as floats
            mode=self.mode,
            target=required(self.target, "target"),
            strategy=self.strategy,
            seed=self.seed,
            budget_key=self.budget_key,
            code_version=self.code_version,
            extra=json_value(dict(self.extra), "extra"),
            epochs=self.epochs,
        )

    def key(self) -> str:
        """Identity of the request: sha256 of every field but code_version, canonical JSON.

        The form is the one of the release that stored rates and latencies loose (the same
        request must find the search it stored): rates by name, latencies in `extra`."""
        identity = {
            "model": self.model,
            "device": self.device,
            "workload": self.workload,
            "uplink_mbps": float(self.links.uplink_mbps),
            "bandwidth_mbps": float(self.links.bandwidth_mbps),
            "mode": self.mode,
            "target": float(self.target),
            "strategy": self.strategy,
            "seed": self.seed,
            "budget_key": self.budget_key,
            "extra": identity_extra(self.links, self.extra),
        }
        text = json.dumps(identity, sort_keys=True, separators=(",", ":"), allow_nan=False)
        return hashlib.sha256(text.encode()).hexdigest()


_SEARCH_SHOWN = (
    "id",
    "study_name",
    "model",
    "device",
    "workload",
    "links",
    "mode",
    "target",
    "strategy",
    "seed",
    "budget_key",
    "epochs",
    "code_version",
    "extra",
    "status",
    "message",
    "created_at",
    "updated_at",
)
"""Every field of a stored search, in the order of its JSON form (`show` and `export` have
always printed it so)."""


@dataclass(frozen=True, kw_only=True)
class SearchRecord(SearchSpec):
    """A stored search: the spec it was asked as, its id and Optuna study, and its state."""

    id: int
    study_name: str
    status: str
    message: str | None
    created_at: datetime
    updated_at: datetime

    def as_dict(self) -> dict[str, Any]:
        """JSON-able dict (times as ISO 8601 UTC), in the form `show` and `export` have always
        printed: the rates by name and the latencies in `extra` (as the identity spells them)."""
        out: dict[str, Any] = {}
        for name in _SEARCH_SHOWN:
            if name == "links":
                out["uplink_mbps"] = self.links.uplink_mbps
                out["bandwidth_mbps"] = self.links.bandwidth_mbps
            elif name == "extra":
                out["extra"] = identity_extra(self.links, self.extra)
            else:
                out[name] = getattr(self, name)
        out["created_at"] = self.created_at.isoformat()
        out["updated_at"] = self.updated_at.isoformat()
        return out


@dataclass(frozen=True)
class TrialInput:
    """One trial as the search reports it; recorded again (same number) when it finishes."""

    optuna_number: int
    keep: dict[str, float]
    plan: dict[str, Any] | None
    state: str
    started_at: datetime
    finished_at: datetime | None = None
    val_accuracy: float | None = None
    test_accuracy: float | None = None
    predicted_accuracy: float | None = None
    reason: str | None = None
    feasible: bool | None = None
    finetune_seconds: float | None = None
    finetuned: bool = False

    def columns(self) -> dict[str, Any]:
        """Validated column values, or an InputError naming the bad field."""
        _check_choice(self.state, TRIAL_STATES, "trial state")
        if not isinstance(self.optuna_number, int) or self.optuna_number < 0:
            raise InputError(f"optuna_number must be an integer >= 0, got {self.optuna_number!r}")
        keep = {
            str(k): (
                required(v, f"bit width of {k}", lo=MIN_BITS, hi=MAX_BITS)
                if str(k).endswith(BITS_SUFFIX)
                else required(v, f"keep fraction of {k}", lo=0.0, hi=1.0)
            )
            for k, v in dict(self.keep).items()
        }
        # An empty plan means "no plan" (a trial that failed before the planner ran).
        plan = json_value(dict(self.plan), "plan") if self.plan else None
        latency = traffic = None
        mode: str | None = None
        if plan is not None:
            if "latency_ms" not in plan:
                raise InputError("plan must have latency_ms")
            latency = finite(plan["latency_ms"], "plan latency_ms", lo=0.0)
            traffic = finite(plan.get("traffic_bytes"), "plan traffic_bytes", lo=0.0)
            mode = None if plan.get("mode") is None else str(plan["mode"])
        return {
            "optuna_number": self.optuna_number,
            "keep": keep,
            "plan": plan,
            "plan_mode": mode,
            "latency_ms": latency,
            "traffic_bytes": traffic,
            "val_accuracy": finite(self.val_accuracy, "val_accuracy", lo=0.0, hi=1.0),
            "test_accuracy": finite(self.test_accuracy, "test_accuracy", lo=0.0, hi=1.0),
            "predicted_accuracy": finite(self.predicted_accuracy, "predicted_accuracy"),
            "state": self.state,
            "reason": self.reason,
            "feasible": None if self.feasible is None else bool(self.feasible),
            "finetuned": bool(self.finetuned),
            "finetune_seconds": finite(self.finetune_seconds, "finetune_seconds", lo=0.0),
            "started_at": as_utc(self.started_at),
            "finished_at": as_utc(self.finished_at),
        }


@dataclass(frozen=True)
class TrialRecord:
    id: int
    search_id: int
    optuna_number: int
    keep: dict[str, float]
    plan: dict[str, Any] | None
    mode: str | None
    splits: tuple[str, ...]
    latency_ms: float | None
    traffic_bytes: float | None
    val_accuracy: float | None
    test_accuracy: float | None
    predicted_accuracy: float | None
    state: str
    reason: str | None
    feasible: bool | None
    finetuned: bool
    finetune_seconds: float | None
    started_at: datetime
    finished_at: datetime | None

    @property
    def bits(self) -> dict[str, int]:
        """The split tensors it sends below 8 bits, by split (empty: int8, as before codecs)."""
        return split_config(self.keep)[1]

    @property
    def duration_s(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()

    @property
    def breakdown(self) -> dict[str, float]:
        """The plan's latency breakdown (ms per part), empty when there is no plan."""
        if self.plan is None:
            return {}
        return dict(self.plan.get("breakdown") or {})

    def as_dict(self) -> dict[str, Any]:
        """JSON-able dict (times as ISO 8601 UTC), with duration_s."""
        out = {name: getattr(self, name) for name in self.__dataclass_fields__}
        out["splits"] = list(self.splits)
        out["started_at"] = self.started_at.isoformat()
        out["finished_at"] = None if self.finished_at is None else self.finished_at.isoformat()
        out["duration_s"] = self.duration_s
        return out


@dataclass(frozen=True)
class Accuracy:
    """A configuration's measured accuracy in its cache cell (model, workload, budget): what a
    `CacheEntry` puts and a `CachedAccuracy` reads back."""

    model: str
    workload: str
    budget_key: str
    config_key: str
    val_accuracy: float
    test_accuracy: float | None
    finetune_seconds: float | None
    params: int | None = None
    flops: int | None = None
    origin: Origin = field(default_factory=Origin)
    """Where the accuracy came from (the `details` column's JSON)."""


@dataclass(frozen=True, kw_only=True)
class CachedAccuracy(Accuracy):
    """A measured (fine-tuned) accuracy, shared by every search of one model/workload/budget."""

    id: int
    created_at: datetime


@dataclass(frozen=True)
class BestPlanRecord:
    """A search's stored best plan (``plan.trial`` is its trial) and when it was stored."""

    search_id: int
    plan: BestPlan
    updated_at: datetime


@dataclass(frozen=True)
class SearchSummary:
    """A search with what it spent and its best feasible trial (by its own objective)."""

    search: SearchRecord
    n_trials: int
    n_complete: int
    n_pruned: int
    n_failed: int
    n_running: int
    finetunes: int
    finetune_seconds: float
    best: TrialRecord | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "search": self.search.as_dict(),
            "trials": self.n_trials,
            "complete": self.n_complete,
            "pruned": self.n_pruned,
            "failed": self.n_failed,
            "running": self.n_running,
            "finetunes": self.finetunes,
            "finetune_seconds": self.finetune_seconds,
            "best": None if self.best is None else self.best.as_dict(),
        }


def check_status(status: str) -> None:
    _check_choice(status, SEARCH_STATUSES, "search status")
