"""Why an unmeasured configuration need not be fine-tuned: each reason is recorded on its trial.

With a floor, a candidate that cannot beat the best feasible latency even at the baseline
accuracy, or that the surrogate is confident falls below the floor; with a latency budget, one
over the budget, or one the surrogate is confident is no more accurate than the best so far.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cnnpc.search._settings import SearchSettings
from cnnpc.search._surrogate import Prediction

if TYPE_CHECKING:
    from cnnpc.storage import TrialRecord


def skip_reason(
    s: SearchSettings,
    best: TrialRecord | None,
    pred: Prediction | None,
    z: float,
    latency_ms: float,
    value: float | None = None,
) -> str | None:
    """The reason to skip (None: the configuration must be measured); `value`: the layout's
    value under the search's objective (None: its latency)."""
    if s.acc_floor is not None:
        goal = s.objective
        best_value = None if best is None or goal.pareto else goal.trial_value(best.plan)
        if best_value is not None and (latency_ms if value is None else value) >= best_value:
            return (
                f"cannot beat the best feasible {goal.best_text(best_value)} even at "
                "the baseline accuracy"
            )
        if pred is not None and pred.optimistic(z) < s.acc_floor:
            return (
                f"surrogate predicts accuracy {pred.mean:.4f} +/- {pred.std:.4f}, "
                f"confidently below the floor {s.acc_floor:g}"
            )
        return None
    assert s.latency_budget_ms is not None
    if latency_ms > s.latency_budget_ms:
        return f"latency {latency_ms:.2f} ms exceeds the budget"
    if (
        not s.objective.pareto  # a less accurate configuration may still be on the front
        and best is not None
        and best.val_accuracy is not None
        and pred is not None
        and pred.optimistic(z) <= best.val_accuracy
    ):
        return (
            f"surrogate predicts accuracy {pred.mean:.4f} +/- {pred.std:.4f}, "
            f"confidently no better than the best {best.val_accuracy:.4f}"
        )
    return None
