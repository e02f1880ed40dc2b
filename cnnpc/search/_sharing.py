"""Several workers on one search: counting the study's trials, trial 0, the last slots, the dead.

Two or more `cnnpc search` processes with the same arguments and storage share one Optuna study.
Optuna hands each `ask` a distinct trial, so no trial is ever run twice; what this module adds is
that the study ends at exactly the asked total (no worker asks past it, and a trial asked in a
lost race for the last slot is failed before anything is measured), that the unpruned trial 0 is
enqueued by one worker, that Optuna creates its tables once (its schema set-up is not safe
against concurrent starts on PostgreSQL), and that a dead worker's trials and claims are taken
over once their heartbeat is older than the grace period (`TrialHeartbeats`, `exclusive`).
The accuracy cache's claims (cnnpc/search/_measure.py) keep two workers from fine-tuning the
same configuration at once.
"""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Protocol

from cnnpc.search._workers import Liveness, this_worker

if TYPE_CHECKING:
    import optuna
    from optuna.distributions import BaseDistribution
    from optuna.trial import FrozenTrial, Trial


class ClaimStore(Protocol):
    """The part of the storage layer claims need (cnnpc.storage.Storage has it)."""

    def try_claim(
        self, name: str, owner: str, *, take_over_after_s: float | None = None
    ) -> bool: ...

    def release_claim(self, name: str, owner: str) -> bool: ...

    def renew_claims(self, owner: str) -> int: ...


def count_trials(study: optuna.Study) -> tuple[int, int]:
    """(finished, running or waiting) trials of the study, every worker's."""
    import optuna

    state = optuna.trial.TrialState
    trials = study.get_trials(deepcopy=False)
    finished = sum(t.state in (state.COMPLETE, state.PRUNED) for t in trials)
    active = sum(t.state in (state.RUNNING, state.WAITING) for t in trials)
    return finished, active


def is_surplus(study: optuna.Study, trial: Trial, total: int) -> bool:
    """Whether the asked total was already taken by earlier trials when `trial` was asked.

    Trials are numbered in the order they were asked; if `total` earlier trials are finished or
    still running, this one lost a race for the last slot: it is failed at once (user attribute
    ``surplus``), never measured nor recorded in cnnpc's tables.
    """
    import optuna

    state = optuna.trial.TrialState
    earlier = sum(
        t.number < trial.number and t.state != state.FAIL for t in study.get_trials(deepcopy=False)
    )
    if earlier < total:
        return False
    trial.set_user_attr("surplus", True)
    study.tell(trial, state=state.FAIL)
    return True


@contextmanager
def exclusive(
    storage: ClaimStore, name: str, liveness: Liveness, poll_s: float = 0.1
) -> Iterator[None]:
    """Hold the claim `name` for the block: a mutex across the workers sharing the database.

    The caller keeps it alive (`renew_claims`, see SearchRunner's pulse); a holder whose
    heartbeat is older than the grace period is taken over.
    """
    me = this_worker()
    while not storage.try_claim(name, me, take_over_after_s=liveness.grace_s):
        time.sleep(poll_s)
    try:
        yield
    finally:
        storage.release_claim(name, me)


class TrialHeartbeats:
    """Optuna's trial heartbeat, driven from ask/tell (Optuna itself beats only in optimize).

    `ask` records the trial's first heartbeat and then its owner (user attribute ``worker``);
    `beat` (from the worker's pulse thread) renews every trial this worker runs; `reap` fails
    what is dead: Optuna's `fail_stale_trials` takes trials whose heartbeat is older than the
    grace period (its callback, set on the RDBStorage, records cnnpc's side), and a running trial
    that never got an owner (its worker died between `ask` and the first heartbeat) is failed
    once this worker has seen it without one for the grace period.
    """

    def __init__(
        self,
        study: optuna.Study,
        rdb: optuna.storages.RDBStorage,
        liveness: Liveness,
        on_failed: Callable[[FrozenTrial], None],
    ) -> None:
        self.study = study
        self.rdb = rdb
        self.liveness = liveness
        self.on_failed = on_failed
        self._study_id = rdb.get_study_id_from_name(study.study_name)
        self._mine: dict[int, int] = {}  # trial number -> Optuna trial id
        self._lock = threading.Lock()
        self._ownerless_since: dict[int, float] = {}

    def ask(self, distributions: Mapping[str, BaseDistribution]) -> Trial:
        with warnings.catch_warnings():  # ask/tell with a heartbeat is what this class is for
            warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed")
            trial = self.study.ask(dict(distributions))
        trial_id = self._id_of(trial.number)
        self.rdb.record_heartbeat(trial_id)
        with self._lock:
            self._mine[trial.number] = trial_id
        trial.set_user_attr("worker", this_worker())
        return trial

    def _id_of(self, number: int) -> int:
        """The storage id of trial `number`, which record_heartbeat and set_trial_state_values
        take (RDBStorage's public lookup; Trial and FrozenTrial keep theirs private)."""
        return int(self.rdb.get_trial_id_from_study_id_trial_number(self._study_id, number))

    def release(self, number: int) -> None:
        """This worker is done with trial `number` (told, or given up)."""
        with self._lock:
            self._mine.pop(number, None)

    def beat(self) -> None:
        with self._lock:
            ids = list(self._mine.values())
        for trial_id in ids:
            self.rdb.record_heartbeat(trial_id)

    def reap(self) -> None:
        """Fail the running trials of dead workers (each is recorded once, by its reaper)."""
        import optuna

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            optuna.storages.fail_stale_trials(self.study)
        now = time.monotonic()
        running = self.study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
        ownerless = {t.number: t for t in running if "worker" not in t.user_attrs}
        with self._lock:
            ownerless = {n: t for n, t in ownerless.items() if n not in self._mine}
        self._ownerless_since = {
            n: self._ownerless_since.get(n, now) for n in ownerless
        }  # forget trials that got an owner or finished
        for number, since in list(self._ownerless_since.items()):
            if now - since <= self.liveness.grace_s:
                continue
            trial_id = self._id_of(number)
            try:
                failed = self.rdb.set_trial_state_values(trial_id, optuna.trial.TrialState.FAIL)
            except optuna.exceptions.UpdateFinishedTrialError:
                failed = False  # another worker failed (or its owner finished) it first
            del self._ownerless_since[number]
            if failed:
                self.on_failed(self.rdb.get_trial(trial_id))


def take_slot(storage: ClaimStore, search_id: int, liveness: Liveness) -> int:
    """This worker's ordinal among the search's live workers (0 when it is alone).

    Samplers are seeded from it, so two workers with the same --seed do not propose the same
    sequence of configurations; a dead worker's slot is taken over.
    """
    me = this_worker()
    slot = 0
    while True:
        name = f"search:{search_id}:worker-slot:{slot}"
        if storage.try_claim(name, me, take_over_after_s=liveness.grace_s):
            return slot
        slot += 1


def release_slot(storage: ClaimStore, search_id: int, slot: int) -> None:
    storage.release_claim(f"search:{search_id}:worker-slot:{slot}", this_worker())


def heartbeat_storage(
    url: str, liveness: Liveness, on_failed: Callable[[FrozenTrial], None]
) -> optuna.storages.RDBStorage:
    """Optuna's storage in cnnpc's database with its trial heartbeat on: `on_failed` records
    cnnpc's side of each stale trial this worker fails (Optuna calls it once, in the winner)."""
    import optuna

    from cnnpc.storage import optuna_engine_kwargs

    with warnings.catch_warnings():  # the heartbeat is "experimental" in Optuna
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.storages.RDBStorage(
            url,
            engine_kwargs=optuna_engine_kwargs(url),
            heartbeat_interval=liveness.heartbeat_s,
            grace_period=liveness.grace_s,
            heartbeat_stale_trial_callback=lambda _study, trial: on_failed(trial),
        )
