"""The outcome of a search: best feasible plan with its comparisons, Pareto front, spend."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cnnpc.planner import Planner
from cnnpc.storage import Baselines, BestPlan, Tiers, breakdown_from, study_front

if TYPE_CHECKING:
    from cnnpc.storage import Storage, TrialRecord


@dataclass(frozen=True)
class TrialEvent:
    """Progress report after each trial (the CLI draws its progress bar from these)."""

    done: int
    total: int
    finetunes: int
    best_latency_ms: float | None
    best_accuracy: float | None
    state: str
    reason: str | None


@dataclass(frozen=True)
class Exactness:
    """What an exhaustive search proved: its answer is the exact optimum over what it walked (the
    grid, or the rows of an accuracy table) unless it stopped first, and then what it left."""

    proven: bool
    """Every configuration that could beat the answer was tried."""
    pending: int
    """Configurations that could still beat the answer, never tried (0 when proven)."""
    candidates: int
    """Configurations the walk priced (the grid's, or the table's rows within reach)."""
    table_rows: int | None = None
    """Rows of the accuracy table on the search's grid, unpruned model included (None: no table)."""
    off_grid: int | None = None
    """Rows of the table whose kept counts are not on the search's keep grid (not searched)."""
    below_floor: int | None = None
    """Table rows faster than the answer whose accuracy, read from the table, is below the
    floor: passed over without a trial (None: no table, or a latency budget)."""
    faster_lacking: int | None = None
    """Configurations of the grid faster than the answer that the table lacks (counted, never
    trials; None: no table, no answer, or a latency budget)."""

    def message(self, stop_reason: str | None, asked: int, finished: int) -> str | None:
        """The search's message: `stop_reason` (None: it ran its `asked` --trials), with what
        a walk stopped before it proved its answer left untried (`finished` trials done)."""
        if self.proven:
            return stop_reason
        by = f"--trials {asked}" if stop_reason is None else "the timeout"
        cut = (
            f"not proven optimal: exhaustive stopped by {by} with {self.pending} "
            f"configuration(s) that could beat its answer never tried (--trials "
            f"{finished + self.pending} proves it)"
        )
        return cut if stop_reason is None else f"{stop_reason}; {cut}"

    def as_dict(self) -> dict[str, object]:
        """The JSON form (`search --json`'s `exhaustive`)."""
        return {
            "proven": self.proven,
            "pending": self.pending,
            "candidates": self.candidates,
            "table_rows": self.table_rows,
            "off_grid": self.off_grid,
            "below_floor": self.below_floor,
            "faster_lacking": self.faster_lacking,
        }


@dataclass(frozen=True)
class SearchResult:
    search_id: int
    status: str
    message: str | None
    finetunes: int
    trials: int
    best: BestPlan | None
    pareto: list[ParetoPoint] = field(default_factory=list)
    storage_url: str = ""
    exactness: Exactness | None = None
    """An exhaustive search's proof (None: another strategy)."""
    front: list[ParetoPoint] = field(default_factory=list)
    """A pareto search's front: Optuna's best trials (latency, energy, accuracy); else empty."""


@dataclass(frozen=True)
class ParetoPoint:
    """A trial on the search's latency/accuracy front (complete trials only)."""

    trial: int
    latency_ms: float | None
    val_accuracy: float | None
    test_accuracy: float | None
    mode: str | None
    splits: tuple[str, ...]
    keep: dict[str, float]
    feasible: bool | None
    energy_mj: float | None = None
    """The phone's energy (mJ) where the plan has it (a pareto search's front always)."""

    @staticmethod
    def of(t: TrialRecord) -> ParetoPoint:
        energy = None if t.plan is None else t.plan.get("energy_mj")
        return ParetoPoint(
            trial=t.optuna_number,
            latency_ms=t.latency_ms,
            val_accuracy=t.val_accuracy,
            test_accuracy=t.test_accuracy,
            mode=t.mode,
            splits=t.splits,
            keep=dict(t.keep),
            feasible=t.feasible,
            energy_mj=None if energy is None else float(energy),
        )

    def as_dict(self) -> dict[str, object]:
        """The JSON form (`search --json`'s pareto; energy only where priced)."""
        out: dict[str, object] = {
            "trial": self.trial,
            "latency_ms": self.latency_ms,
            "val_accuracy": self.val_accuracy,
            "test_accuracy": self.test_accuracy,
            "mode": self.mode,
            "splits": list(self.splits),
            "keep": dict(self.keep),
            "feasible": self.feasible,
        }
        if self.energy_mj is not None:
            out["energy_mj"] = self.energy_mj
        return out


def best_plan(t: TrialRecord, planner: Planner, finetunes: int) -> BestPlan:
    """Everything a user needs about the chosen plan, with the uncompressed comparisons."""
    assert t.plan is not None  # a best trial is complete: it has a plan
    uncompressed = planner.best()
    base = planner.baselines()
    single = min(
        (base[k] for k in ("end_only", "edge_only", "cloud_only")), key=lambda p: p.latency_ms
    )
    plan = t.plan
    names = [s.name for s in planner.profile.segments]
    return BestPlan(
        trial=t.optuna_number,
        mode=plan["mode"],
        splits=tuple(plan["splits"]),
        keep=dict(t.keep),
        tiers=Tiers.of(names, plan["end_segments"], plan["cloud_segments"]),
        latency_ms=plan["latency_ms"],
        breakdown=breakdown_from(plan["breakdown"], f"trial {t.optuna_number}'s plan"),
        traffic_bytes=plan["traffic_bytes"],
        val_accuracy=t.val_accuracy,
        test_accuracy=t.test_accuracy,
        baselines=Baselines(
            uncompressed_latency_ms=uncompressed.latency_ms,
            uncompressed_traffic_bytes=uncompressed.breakdown.traffic_bytes,
            single_tier=single.mode,
            single_tier_latency_ms=single.latency_ms,
        ),
        finetunes=finetunes,
        energy_mj=plan.get("energy_mj"),
        fps=plan.get("fps"),
    )


def summarise(
    storage: Storage, search_id: int, planner: Planner, status: str, message: str | None
) -> SearchResult:
    """The search's result: spend, finished trials, the best plan (stored for export and
    deploy) and the front, read back from storage.

    The best trial is the storage's one query for it (Storage.best_trial / summary).
    """
    summary = storage.summary(search_id)
    best = None
    if summary.best is not None:
        best = best_plan(summary.best, planner, summary.finetunes)
        storage.set_best_plan(search_id, best)
    pareto = [ParetoPoint.of(t) for t in storage.pareto_front(search_id)]
    front = [ParetoPoint.of(t) for t in study_front(storage, search_id)]
    done = summary.n_complete + summary.n_pruned
    return SearchResult(
        search_id, status, message, summary.finetunes, done, best, pareto, storage.url, front=front
    )
