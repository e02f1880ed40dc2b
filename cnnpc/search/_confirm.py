"""Confirming a search run on supernet estimates with real fine-tunes.

The estimate search's complete trials are ranked by its objective as estimated (with a floor:
feasible ones by latency, fewer pruned candidates first on a tie; with a latency budget: by
estimated accuracy), and fine-tuned in that order through the shared fine-tune cache until one
meets the floor (with a budget: the first). Each fine-tune is a trial of a search of its own
(the estimate search's request with the fine-tune budget key, marked as confirming it), so
every stored trial is either estimated (the estimate search) or fine-tuned (the confirming one),
and the confirming search's best trial is the answer: `cnnpc show`, export and deploy read it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from cnnpc import __version__
from cnnpc.records import keep_key
from cnnpc.search._attrs import trial_attrs
from cnnpc.search._configs import distributions, normalise, to_params
from cnnpc.search._measure import AccuracySource, CachedAccuracies
from cnnpc.search._recording import CONSTRAINTS_ATTR, TrialRecorder
from cnnpc.search._settings import SearchSettings
from cnnpc.search._summary import SearchResult, summarise
from cnnpc.search._workers import Liveness

if TYPE_CHECKING:
    from cnnpc.storage import Storage, TrialRecord

DEFAULT_MAX_CONFIRM = 5
"""Fine-tunes a confirmation may spend before it gives up on the estimates' ranking."""


@dataclass(frozen=True)
class Confirmation:
    """What confirming an estimate search found (the answer is the confirming search's)."""

    estimate_search_id: int
    estimate_trials: int
    """Finished trials of the estimate search (complete ones have estimated accuracies)."""
    tried: int
    """Plans fine-tuned (or read from the fine-tune cache) in ranked order."""
    finetunes: int
    """Fine-tunes spent now (the rest came from the cache)."""
    confirmed: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def ranked(trials: list[TrialRecord], by_latency: bool) -> list[TrialRecord]:
    """The estimate search's candidates for confirmation, best first."""
    done = [t for t in trials if t.state == "complete" and t.feasible and t.plan is not None]
    if by_latency:
        return sorted(done, key=lambda t: (t.latency_ms, sum(v < 1.0 for v in t.keep.values())))
    return sorted(done, key=lambda t: (-(t.val_accuracy or 0.0), t.latency_ms))


def confirm(
    settings: SearchSettings,
    estimated: SearchResult,
    storage: Storage,
    finetune: AccuracySource,
    *,
    max_finetunes: int = DEFAULT_MAX_CONFIRM,
    liveness: Liveness | None = None,
) -> tuple[Confirmation, SearchResult]:
    """Fine-tune the estimate search's best plan, then runners-up until one meets the floor;
    the confirmation and the confirming search's result."""
    import optuna

    from cnnpc.storage import SearchSpec, optuna_engine_kwargs

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
    done = {t.user_attrs.get("config_key"): t for t in study.get_trials(deepcopy=False)}
    storage.set_search_status(search.id, "running")
    tried = spent = 0
    confirmed = False
    for trial in ranked(storage.list_trials(estimate_search_id), settings.acc_floor is not None):
        if spent >= max_finetunes:
            break
        config, plan = normalise(planner, trial.keep)
        key = keep_key(config)
        frozen = done.get(key)
        if frozen is None:
            measured, fine_tuned = cache.measure(config)
            spent += int(fine_tuned)
            if settings.acc_floor is not None:
                constraint, value = settings.acc_floor - measured.val_accuracy, plan.latency_ms
            else:
                assert settings.latency_budget_ms is not None
                constraint = plan.latency_ms - settings.latency_budget_ms
                value = measured.val_accuracy
            attrs = trial_attrs(space, plan, config, measured=measured, fine_tuned=fine_tuned)
            attrs |= {"config_key": key, CONSTRAINTS_ATTR: [constraint]}
            study.add_trial(
                optuna.trial.create_trial(
                    params=to_params(space, config),
                    distributions=distributions(space),
                    value=value,
                    user_attrs=attrs,
                    system_attrs={"constraints": [constraint]},
                )
            )
            frozen = next(
                t for t in study.get_trials(deepcopy=False) if t.user_attrs["config_key"] == key
            )
            recorder.finished(frozen)
            done[key] = frozen
        tried += 1
        if float(frozen.user_attrs[CONSTRAINTS_ATTR][0]) <= 0:
            confirmed = True
            break
    message = None if confirmed else f"no plan confirmed within {tried} fine-tuned plans"
    storage.set_search_status(search.id, "finished", message)
    result = summarise(storage, search.id, planner, "finished", message)
    found = Confirmation(estimate_search_id, estimated.trials, tried, spent, confirmed)
    return found, result
