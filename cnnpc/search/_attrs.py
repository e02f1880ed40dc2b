"""cnnpc's numbers on every Optuna trial, as user attributes, so optuna-dashboard shows them.

Optuna refuses attributes on a finished trial, so they are set just before the trial is told its
outcome. Values are JSON scalars (the dashboard lists them as a table).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from cnnpc.export import layout_text
from cnnpc.planner import Plan
from cnnpc.records import KeepConfig, OriginKind
from cnnpc.search._measure import Measurement
from cnnpc.spaces import SearchSpace

if TYPE_CHECKING:
    import optuna

ESTIMATED = "supernet estimate"
"""`accuracy_from` of a trial whose accuracy the supernet estimated (no fine-tune)."""


def trial_attrs(
    space: SearchSpace,
    plan: Plan,
    config: Mapping[str, float],
    *,
    measured: Measurement | None = None,
    fine_tuned: bool = False,
    skipped_reason: str | None = None,
) -> dict[str, Any]:
    """The attributes of one trial: its plan, and its accuracy or why it was not measured."""
    attrs: dict[str, Any] = {
        "latency_ms": round(plan.latency_ms, 4),
        "layout": layout_text(plan.mode, plan.splits),
        "splits": " ".join(plan.splits) or "none",
        "kept_channels": KeepConfig.from_fractions(space, config).channels_text(),
        "traffic_kb": round(plan.breakdown.traffic_bytes / 1024.0, 3),
    }
    if measured is not None:
        attrs["val_accuracy"] = measured.val_accuracy
        attrs["test_accuracy"] = measured.test_accuracy
        attrs["accuracy_from"] = (
            ESTIMATED
            if measured.origin.kind is OriginKind.SUPERNET
            else "fine-tune"
            if fine_tuned
            else "cache"
        )
    if skipped_reason is not None:
        attrs["skipped_reason"] = skipped_reason
    return attrs


def annotate(trial: optuna.Trial | optuna.trial.FrozenTrial, attrs: Mapping[str, object]) -> None:
    """Set `trial_attrs` on a running Optuna trial (before study.tell)."""
    for key, value in attrs.items():
        trial.set_user_attr(key, value)
