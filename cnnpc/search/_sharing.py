"""Several workers on one search: counting the study's trials, trial 0, the last slots, the dead.

Two or more `cnnpc search` processes with the same arguments and storage share one Optuna study.
Optuna hands each `ask` a distinct trial, so no trial is ever run twice; what this module adds is
that the study ends at exactly the asked total (no worker asks past it, and a trial asked in a
lost race for the last slot is failed before anything is measured), that the unpruned trial 0 is
enqueued by one worker, that Optuna creates its tables once (its schema set-up is not safe
against concurrent starts on PostgreSQL), and that a dead worker's running trial is failed so
another can redo it.
The accuracy cache's claims (cnnpc/search/_measure.py) keep two workers from fine-tuning the
same configuration at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from cnnpc.search._workers import this_worker, worker_gone


def count_trials(study: Any) -> tuple[int, int]:
    """(finished, running or waiting) trials of the study, every worker's."""
    import optuna

    state = optuna.trial.TrialState
    trials = study.get_trials(deepcopy=False)
    finished = sum(t.state in (state.COMPLETE, state.PRUNED) for t in trials)
    active = sum(t.state in (state.RUNNING, state.WAITING) for t in trials)
    return finished, active


def is_surplus(study: Any, trial: Any, total: int) -> bool:
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
def exclusive(storage: Any, name: str, poll_s: float = 0.1) -> Iterator[None]:
    """Hold the claim `name` for the block: a mutex across the workers sharing the database
    (a dead holder's claim is broken)."""
    me = this_worker()
    while not storage.try_claim(name, me):
        holder = storage.get_claim(name)
        if holder is not None and worker_gone(holder.owner, holder.created_at):
            storage.release_claim(name, holder.owner)
        else:
            time.sleep(poll_s)
    try:
        yield
    finally:
        storage.release_claim(name, me)


def fail_stale_trials(study: Any, on_failed: Callable[[Any], None]) -> None:
    """Running trials whose worker is gone (kill -9, crash) become failed trials."""
    import optuna

    running = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
    for t in running:
        if worker_gone(str(t.user_attrs.get("worker", ":")), t.datetime_start):
            study._storage.set_trial_state_values(t._trial_id, optuna.trial.TrialState.FAIL)
            on_failed(t)


def take_slot(storage: Any, search_id: int) -> int:
    """This worker's ordinal among the search's live workers (0 when it is alone).

    Samplers are seeded from it, so two workers with the same --seed do not propose the same
    sequence of configurations; a dead worker's slot is taken over.
    """
    me = this_worker()
    slot = 0
    while True:
        name = f"search:{search_id}:worker-slot:{slot}"
        if storage.try_claim(name, me):
            return slot
        holder = storage.get_claim(name)
        if holder is not None and worker_gone(holder.owner, holder.created_at):
            storage.release_claim(name, holder.owner)
            continue
        slot += 1


def release_slot(storage: Any, search_id: int, slot: int) -> None:
    storage.release_claim(f"search:{search_id}:worker-slot:{slot}", this_worker())
