"""One recording step: cnnpc's row of a finished trial is derived from what Optuna was told.

A trial is told to Optuna first (with everything cnnpc needs on it as user attributes: its
constraint, where its accuracy came from, why it was skipped, the surrogate's prediction) and only
then written to cnnpc's table, by `TrialRecorder.finished` from Optuna's frozen trial and the
accuracy cache (the accuracy is cached before the trial is told). A worker killed between the
two leaves a trial Optuna finished and cnnpc lists as running; `reconcile` (every worker, at start
and while it waits) completes it with the same function, so the two cannot disagree for longer
than it takes the next worker to look.
"""

from __future__ import annotations

from collections.abc import Container, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from cnnpc.planner import Plan, Planner
from cnnpc.search._attrs import ESTIMATED
from cnnpc.search._configs import Config, from_params, normalise
from cnnpc.search._measure import CachedAccuracies
from cnnpc.search._objective import SearchObjective

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial

    from cnnpc.storage import TrialInput, TrialRecord

DIED = "its worker died mid-trial (no heartbeat within the grace period)"
INTERRUPTED = "interrupted: its worker stopped before it finished"
FROM_CACHE = "accuracy from the cache"
ESTIMATED_REASON = "accuracy estimated by the supernet (not fine-tuned)"

# Optuna user attributes the recording reads (cnnpc/search/_attrs.py sets the first two).
SKIPPED_ATTR = "skipped_reason"
ACCURACY_FROM_ATTR = "accuracy_from"
PREDICTED_ATTR = "predicted_accuracy"
CONSTRAINTS_ATTR = "constraints"
FAILED_REASON_ATTR = "failed_reason"


class TrialStore(Protocol):
    """The part of the storage layer recording needs (cnnpc.storage.Storage has it)."""

    def record_trial(self, search_id: int, record: TrialInput) -> TrialRecord: ...

    def list_trials(
        self,
        search_id: int,
        feasible_only: bool = False,
        sort: str = "number",
        limit: int | None = None,
    ) -> list[TrialRecord]: ...


def _utc(value: datetime | None) -> datetime:
    """Optuna's times are naive local times of the worker that set them."""
    return datetime.now(UTC) if value is None else value.astimezone(UTC)


class TrialRecorder:
    """Writes one search's trials to cnnpc's table, always from Optuna's view of them."""

    def __init__(
        self,
        storage: TrialStore,
        search_id: int,
        planner: Planner,
        cache: CachedAccuracies,
        rows: Container[str] | None = None,
        objective: SearchObjective | None = None,
    ) -> None:
        self.storage = storage
        self.search_id = search_id
        self.planner = planner
        self.cache = cache
        self.rows = rows
        """The keys of the table rows the search draws from (each its own reduction)."""
        self.objective = objective
        """What each configuration's layout minimises (None: latency)."""

    def configuration(self, params: Mapping[str, float | str]) -> tuple[Config, Plan] | None:
        """The reduced configuration and plan of a trial's parameters (None: not all set)."""
        try:
            return normalise(
                self.planner,
                from_params(self.planner.profile.space, params),
                self.rows,
                self.objective,
            )
        except (KeyError, TypeError, ValueError):
            return None  # its worker died inside ask, before every parameter was suggested

    def running(self, number: int, config: Config, plan: Plan, started: datetime) -> None:
        """The row of a trial whose work starts now."""
        from cnnpc.storage import TrialInput

        self.storage.record_trial(
            self.search_id,
            TrialInput(
                optuna_number=number,
                keep=dict(config),
                plan=plan.as_dict(),
                state="running",
                started_at=started,
            ),
        )

    def finished(self, trial: FrozenTrial, reason: str | None = None) -> None:
        """The row of a trial Optuna has finished (complete, pruned or failed).

        `reason` explains a failure (default: its worker died); complete and pruned trials
        carry theirs on the Optuna trial.
        """
        import optuna

        from cnnpc.storage import TrialInput

        state = optuna.trial.TrialState
        attrs = trial.user_attrs
        found = self.configuration(trial.params)
        config, plan = found if found is not None else ({}, None)
        predicted = attrs.get(PREDICTED_ATTR)
        measured = self.cache.lookup(config) if trial.state == state.COMPLETE else None
        feasible: bool | None = None
        finetuned = False
        if trial.state == state.COMPLETE and measured is not None:
            outcome = "complete"
            feasible = float((attrs.get(CONSTRAINTS_ATTR) or [0.0])[0]) <= 0
            finetuned = attrs.get(ACCURACY_FROM_ATTR) == "fine-tune"
            estimated = attrs.get(ACCURACY_FROM_ATTR) == ESTIMATED
            why = None if finetuned else ESTIMATED_REASON if estimated else FROM_CACHE
        elif trial.state == state.PRUNED:
            outcome, why = "pruned", attrs.get(SKIPPED_ATTR)
        else:  # failed (or complete without a cached accuracy, which cnnpc never tells)
            outcome, why = "failed", reason or attrs.get(FAILED_REASON_ATTR) or DIED
        self.storage.record_trial(
            self.search_id,
            TrialInput(
                optuna_number=trial.number,
                keep=dict(config),
                plan=None if plan is None else plan.as_dict(),
                state=outcome,
                reason=None if why is None else str(why),
                started_at=_utc(trial.datetime_start),
                finished_at=_utc(trial.datetime_complete),
                val_accuracy=None if measured is None else measured.val_accuracy,
                test_accuracy=None if measured is None else measured.test_accuracy,
                predicted_accuracy=None if predicted is None else float(predicted),
                feasible=feasible,
                finetune_seconds=None if measured is None else measured.finetune_seconds,
                finetuned=finetuned,
            ),
        )

    def reconcile(self, study: optuna.Study) -> int:
        """Complete every row still 'running' whose trial Optuna has finished; return how many."""
        running = [
            t.optuna_number
            for t in self.storage.list_trials(self.search_id)
            if t.state == "running"
        ]
        if not running:
            return 0
        by_number = {t.number: t for t in study.get_trials(deepcopy=False)}
        done = 0
        for number in running:
            trial = by_number.get(number)
            if trial is not None and trial.state.is_finished():
                self.finished(trial)
                done += 1
        return done
