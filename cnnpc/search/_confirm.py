"""Confirming a search run on supernet estimates with real fine-tunes, learning as it goes.

The estimate search's priced configurations are fine-tuned in the order a correction learned
from the confirmations so far gives (cnnpc/search/_ranking.py), until the best confirmed plan is
proven best under the corrected estimates or the fine-tune cap is reached. Each fine-tune is a
trial of a search of its own (the estimate search's request with the fine-tune budget key,
marked as confirming it), so every stored trial is either estimated (the estimate search) or
fine-tuned (the confirming one), and the confirming search's best trial is the answer:
`cnnpc show`, export and deploy read it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from cnnpc import __version__
from cnnpc.search._attrs import trial_attrs
from cnnpc.search._configs import distributions, to_params
from cnnpc.search._correction import CorrectionPrior
from cnnpc.search._measure import AccuracySource, CachedAccuracies
from cnnpc.search._ranking import Candidate, candidates, confirm_walk
from cnnpc.search._recording import CONSTRAINTS_ATTR, TrialRecorder
from cnnpc.search._settings import SearchSettings
from cnnpc.search._summary import SearchResult, summarise
from cnnpc.search._workers import Liveness

if TYPE_CHECKING:
    from cnnpc.storage import Storage

DEFAULT_MAX_CONFIRM = 5
"""Fine-tunes a confirmation may spend before it stops without a proof."""


@dataclass(frozen=True)
class Confirmation:
    """What confirming an estimate search found (the answer is the confirming search's)."""

    estimate_search_id: int
    estimate_trials: int
    """Finished trials of the estimate search (complete ones have estimated accuracies)."""
    tried: int
    """Candidates fine-tuned (or read from the fine-tune cache)."""
    finetunes: int
    """Fine-tunes spent now (the rest came from the cache)."""
    confirmed: bool
    """A fine-tuned plan meets the goal (with a budget: any was fine-tuned)."""
    candidates: int
    """Distinct configurations the estimate search priced and estimated."""
    proven: bool
    """No unconfirmed candidate could beat the answer under the corrected estimates."""
    remaining: int
    """Unconfirmed candidates that still could (0 when proven)."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def confirm(
    settings: SearchSettings,
    estimated: SearchResult,
    storage: Storage,
    finetune: AccuracySource,
    *,
    max_finetunes: int = DEFAULT_MAX_CONFIRM,
    liveness: Liveness | None = None,
    prior: CorrectionPrior | None = None,
) -> tuple[Confirmation, SearchResult]:
    """Fine-tune the estimate search's candidates in corrected order until the best confirmed
    plan is proven best (or `max_finetunes` are spent); the confirmation and the confirming
    search's result."""
    import optuna

    from cnnpc.storage import SearchSpec, optuna_engine_kwargs

    prior = prior or CorrectionPrior()
    planner = settings.planner()
    space = planner.profile.space
    estimate_search_id = estimated.search_id
    estimate = storage.get_search(estimate_search_id)
    search = storage.get_or_create_search(
        SearchSpec(
            model=estimate.model,
            device=estimate.device,
            workload=finetune.workload,
            links=estimate.links,
            mode=estimate.mode,
            target=estimate.target,
            strategy=estimate.strategy,
            seed=estimate.seed,
            budget_key=finetune.budget_key,
            code_version=__version__,
            extra=estimate.extra | {"confirms": estimate.budget_key},
            epochs=finetune.epochs,
        )
    )
    study = optuna.create_study(
        study_name=search.study_name,
        storage=optuna.storages.RDBStorage(
            storage.url, engine_kwargs=optuna_engine_kwargs(storage.url)
        ),
        direction="minimize" if settings.acc_floor is not None else "maximize",
        load_if_exists=True,
    )
    cache = CachedAccuracies(settings.model, finetune, storage, liveness)
    recorder = TrialRecorder(storage, search.id, planner, cache)
    floor = settings.acc_floor
    pool = candidates(planner, storage.list_trials(estimate_search_id), floor is not None)
    tuned: dict[str, float] = {}
    for t in study.get_trials(deepcopy=False):  # a resumed confirmation keeps what it learned
        key, acc = t.user_attrs.get("config_key"), t.user_attrs.get("val_accuracy")
        if t.state == optuna.trial.TrialState.COMPLETE and key is not None and acc is not None:
            tuned[str(key)] = float(acc)
    storage.set_search_status(search.id, "running")

    def fine_tune(pick: Candidate) -> tuple[float, bool]:
        measured, fine_tuned = cache.measure(pick.config)
        if floor is not None:
            constraint, value = floor - measured.val_accuracy, pick.latency_ms
        else:
            assert settings.latency_budget_ms is not None
            constraint = pick.latency_ms - settings.latency_budget_ms
            value = measured.val_accuracy
        attrs = trial_attrs(space, pick.plan, pick.config, measured=measured, fine_tuned=fine_tuned)
        attrs |= {"config_key": pick.key, CONSTRAINTS_ATTR: [constraint]}
        study.add_trial(
            optuna.trial.create_trial(
                params=to_params(space, pick.config, settings.searched_bits),
                distributions=distributions(space, settings.searched_bits),
                value=value,
                user_attrs=attrs,
                system_attrs={"constraints": [constraint]},
            )
        )
        frozen = next(
            t for t in study.get_trials(deepcopy=False) if t.user_attrs["config_key"] == pick.key
        )
        recorder.finished(frozen)
        return measured.val_accuracy, fine_tuned

    state, spent = confirm_walk(pool, tuned, fine_tune, floor, max_finetunes, prior)
    tried = sum(c.key in tuned for c in pool)
    confirmed = state.answer is not None
    message = None
    if not confirmed:
        message = f"no plan confirmed within {tried} fine-tuned plans"
    elif state.open:
        message = (
            f"not proven best: {len(state.open)} candidate(s) could still beat it under the "
            f"corrected estimates after {spent} fine-tunes"
        )
    storage.set_search_status(search.id, "finished", message)
    result = summarise(storage, search.id, planner, "finished", message)
    found = Confirmation(
        estimate_search_id,
        estimated.trials,
        tried,
        spent,
        confirmed,
        candidates=len(pool),
        proven=not state.open,
        remaining=len(state.open),
    )
    return found, result
