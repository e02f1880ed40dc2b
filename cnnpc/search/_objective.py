"""What a search minimises for each configuration: the objective of its layout, and its bounds.

A configuration's layout is the planner's choice for the objective (`Planner.choose`): the
fastest (latency, as before objectives), the least phone energy, or the highest frame rate
(throughput), within `budget_ms` and reaching `min_fps`. The search then minimises that layout's
value over configurations above the accuracy floor. Un-pruning a candidate where the chosen
layout does not cut leaves its value unchanged and makes every other layout no better, so the
split-aware normalisation (cnnpc/search/_configs.py) stays exact for every objective.

`pareto` is Optuna's multi-objective search over (latency, phone energy, validation accuracy):
each configuration runs its fastest layout, and the front is the study's `best_trials`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cnnpc.errors import InfeasibleError, InputError
from cnnpc.latency import PhonePower
from cnnpc.planner import OBJECTIVES, Plan, Planner
from cnnpc.records import KeepConfig

SEARCH_OBJECTIVES = (*OBJECTIVES, "pareto")
PARETO_DIRECTIONS = ("minimize", "minimize", "maximize")
"""Latency, phone energy, validation accuracy."""
UNITS = {"latency": "ms", "energy": "mJ", "throughput": "ms per frame"}


@dataclass(frozen=True)
class SearchObjective:
    """What each configuration's layout minimises, within which bounds, priced on which radio."""

    objective: str = "latency"
    budget_ms: float | None = None
    """Every layout meets this latency (energy or throughput: the search's --latency-budget)."""
    min_fps: float | None = None
    radio: str | None = None

    def __post_init__(self) -> None:
        if self.objective not in SEARCH_OBJECTIVES:
            raise InputError(
                f"unknown objective {self.objective!r} (valid: {', '.join(SEARCH_OBJECTIVES)})"
            )
        if self.objective in ("latency", "pareto") and self.budget_ms is not None:
            raise InputError(
                f"--objective {self.objective} takes --latency-budget as the search's goal, "
                "not as a bound on its plans"
            )
        if self.objective == "pareto" and self.min_fps is not None:
            raise InputError("--fps is not supported with --objective pareto")

    @property
    def plain(self) -> bool:
        """Latency alone, as before objectives: the search stores and reports what it did."""
        return (
            self.objective == "latency"
            and self.budget_ms is None
            and self.min_fps is None
            and self.radio is None
        )

    @property
    def pareto(self) -> bool:
        return self.objective == "pareto"

    @property
    def needs_power(self) -> bool:
        return self.objective in ("energy", "pareto")

    @property
    def needs_stages(self) -> bool:
        return self.objective == "throughput" or self.min_fps is not None

    @property
    def scalar(self) -> str:
        """The objective one layout minimises (pareto's layouts are the fastest)."""
        return "latency" if self.pareto else self.objective

    def check(self, planner: Planner) -> None:
        """One line naming the missing power figures when the objective prices energy."""
        if self.needs_power and planner.power is None:
            PhonePower.needed(planner.profile.power, self.radio, f"--objective {self.objective}")

    def stored(self) -> dict[str, Any]:
        """What the search records of it in its `extra` (nothing for latency alone: a search
        without an objective is the same search it always was)."""
        if self.plain:
            return {}
        out: dict[str, Any] = {"objective": self.objective}
        for key, value in (
            ("objective_budget_ms", self.budget_ms),
            ("min_fps", self.min_fps),
            ("radio", self.radio),
        ):
            if value is not None:
                out[key] = value
        return out

    @staticmethod
    def from_stored(extra: Mapping[str, Any]) -> SearchObjective:
        """The objective a stored search recorded (latency when it recorded none)."""
        budget, fps, radio = (extra.get(k) for k in ("objective_budget_ms", "min_fps", "radio"))
        return SearchObjective(
            str(extra.get("objective", "latency")),
            None if budget is None else float(budget),
            None if fps is None else float(fps),
            None if radio is None else str(radio),
        )

    def as_dict(self) -> dict[str, Any]:
        """The report's "objective" (`search --json`, `show --json`)."""
        return {
            "objective": self.objective,
            "latency_budget_ms": self.budget_ms,
            "min_fps": self.min_fps,
            "radio": self.radio,
        }

    @staticmethod
    def from_dict(report: Mapping[str, Any]) -> SearchObjective:
        """The objective of a report's "objective" (`as_dict`'s inverse)."""
        return SearchObjective(
            report["objective"], report["latency_budget_ms"], report["min_fps"], report["radio"]
        )

    def layout(self, planner: Planner, keep: KeepConfig) -> Plan:
        """The configuration's layout: the objective's within the bounds; when no layout meets
        them, the fastest (its trial is then infeasible: `violation` > 0)."""
        if self.plain or (self.scalar == "latency" and self.min_fps is None):
            return planner.best(keep)
        try:
            return planner.choose(keep, self.scalar, budget_ms=self.budget_ms, min_fps=self.min_fps)
        except InfeasibleError:
            return planner.best(keep)

    def value(self, plan: Plan) -> float:
        """What the search minimises of a layout (pareto: its latency, the first objective)."""
        return plan.objective_value(self.scalar)

    def price(self, planner: Planner, config: Mapping[str, float]) -> float:
        """The value of a configuration's layout (the order exhaustive walks in)."""
        return self.value(
            self.layout(planner, KeepConfig.from_fractions(planner.profile.space, config))
        )

    def violation(self, plan: Plan) -> float:
        """How far `plan` misses the bounds (ms over the budget, ms per frame over 1/fps);
        0 when it meets them."""
        over = 0.0
        if self.budget_ms is not None:
            over = max(over, plan.latency_ms - self.budget_ms)
        if self.min_fps is not None and plan.stages is not None:
            over = max(over, max(plan.stages) - 1000.0 / self.min_fps)
        return over

    def values(self, plan: Plan, accuracy: float) -> float | list[float]:
        """What Optuna is told: the value, or pareto's (latency, energy, accuracy)."""
        if not self.pareto:
            return self.value(plan)
        energy = plan.energy_mj
        assert energy is not None  # `check` refused a profile without power figures
        return [plan.latency_ms, energy, accuracy]

    def trial_value(self, plan: Mapping[str, Any] | None) -> float | None:
        """The value of a stored trial's plan (None: no plan, or it lacks the objective's price)."""
        from cnnpc.storage import objective_value

        return objective_value(plan, self.scalar)

    def told(
        self, acc_floor: float | None, budget_ms: float | None, plan: Plan, accuracy: float
    ) -> tuple[float, float | list[float]]:
        """A measured trial's constraint (<= 0: feasible) and what Optuna is told: under a floor
        the layout's value, under a latency budget the accuracy (pareto: all three)."""
        if acc_floor is not None:
            constraint, value = acc_floor - accuracy, self.value(plan)
            over = self.violation(plan)
            if over > 0:  # no layout of this configuration meets the bounds
                constraint = max(constraint, over)
        else:
            assert budget_ms is not None
            constraint, value = plan.latency_ms - budget_ms, accuracy
        return constraint, self.values(plan, accuracy) if self.pareto else value

    def best_text(self, value: float) -> str:
        """The best feasible value, as a skipped trial's reason names it."""
        if self.scalar == "energy":
            return f"phone energy {value:.2f} mJ"
        if self.scalar == "throughput":
            return f"slowest stage {value:.2f} ms"
        return f"latency {value:.2f} ms"

    def line(self) -> str:
        """The text line naming what the search minimised (reports and `show`)."""
        wants = {
            "latency": "the fastest plan",
            "energy": "the least phone energy",
            "throughput": "the most frames per second",
            "pareto": "the Pareto front of latency, phone energy and accuracy",
        }
        limits = [
            f"{label} {value:g}{unit}"
            for label, value, unit in (
                ("latency within", self.budget_ms, " ms"),
                ("at least", self.min_fps, " frames/s"),
            )
            if value is not None
        ]
        radio = [] if self.radio is None else [f"radio {self.radio}"]
        return f"objective: {wants[self.objective]}" + "".join(f", {x}" for x in [*limits, *radio])


def study_directions(objective: SearchObjective, mode: str) -> dict[str, Any]:
    """Optuna's direction(s) of a search in `mode`: minimise the value under a floor, maximise
    accuracy within a budget; pareto: minimise latency and energy, maximise accuracy."""
    if objective.pareto:
        return {"directions": list(PARETO_DIRECTIONS)}
    return {"direction": "minimize" if mode == "acc_floor" else "maximize"}
