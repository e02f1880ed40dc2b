"""Confirming a search run on supernet estimates with real fine-tunes, learning as it goes.

Every configuration the estimate search priced and estimated is a candidate, those estimated
below the floor included (the estimates are pessimistic: fine-tunes gain up to 12 points at the
narrowest widths). Each confirming fine-tune teaches a correction of the estimates (fine-tuned
minus estimated, over how much a configuration prunes; cnnpc/search/_correction.py) with an
uncertainty that is wide until confirmations come in. With a floor, the next candidate confirmed
is the fastest one that could still beat the best confirmed plan (corrected estimate + k sd at or
above the floor); with a latency budget, the one whose corrected upper bound is highest above the
best confirmed accuracy. The walk stops when no unconfirmed candidate could beat the answer (it
is then proven under the corrected estimates) or at the fine-tune cap.

Each fine-tune is a trial of a search of its own (the estimate search's request with the
fine-tune budget key, marked as confirming it), so every stored trial is either estimated (the
estimate search) or fine-tuned (the confirming one), and the confirming search's best trial is
the answer: `cnnpc show`, export and deploy read it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from cnnpc import __version__
from cnnpc.records import keep_key
from cnnpc.search._attrs import trial_attrs
from cnnpc.search._configs import Config, distributions, normalise, to_params
from cnnpc.search._correction import Correction, CorrectionPrior, features
from cnnpc.search._measure import AccuracySource, CachedAccuracies
from cnnpc.search._recording import CONSTRAINTS_ATTR, TrialRecorder
from cnnpc.search._settings import SearchSettings
from cnnpc.search._summary import SearchResult, summarise
from cnnpc.search._workers import Liveness

if TYPE_CHECKING:
    from cnnpc.planner import Plan, Planner
    from cnnpc.storage import Storage, TrialRecord

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
    candidates: int = 0
    """Distinct configurations the estimate search priced and estimated."""
    proven: bool = False
    """No unconfirmed candidate could beat the answer under the corrected estimates."""
    remaining: int = 0
    """Unconfirmed candidates that still could (0 when proven)."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Candidate:
    """One configuration of the estimate search, priced and estimated."""

    key: str
    config: Config
    plan: Plan
    estimate: float
    pruned: int

    @property
    def latency_ms(self) -> float:
        return self.plan.latency_ms


def candidates(
    planner: Planner, trials: Iterable[TrialRecord], by_latency: bool
) -> list[Candidate]:
    """The estimate search's estimated configurations (with a budget: those within it), once
    each, fastest first."""
    found: dict[str, Candidate] = {}
    for t in trials:
        if t.state != "complete" or t.plan is None or t.val_accuracy is None:
            continue
        if not by_latency and not t.feasible:  # over the latency budget: no fine-tune helps
            continue
        config, plan = normalise(planner, t.keep)
        key = keep_key(config)
        pruned = sum(v < 1.0 for v in config.values())
        found.setdefault(key, Candidate(key, config, plan, t.val_accuracy, pruned))
    return sorted(found.values(), key=lambda c: (c.latency_ms, c.pruned))


@dataclass(frozen=True)
class Walk:
    """The correction learned so far and what it says about the unconfirmed candidates."""

    correction: Correction
    answer: Candidate | None
    open: list[tuple[Candidate, float]]
    """Unconfirmed candidates that could beat the answer, with their corrected upper bound."""


def walk_state(
    pool: list[Candidate],
    tuned: dict[str, float],
    floor: float | None,
    prior: CorrectionPrior,
) -> Walk:
    """Fit the correction on the confirmed candidates (`tuned`: key -> fine-tuned accuracy) and
    list the unconfirmed ones that could still beat the best confirmed one."""
    seen = [c for c in pool if c.key in tuned]
    correction = Correction.fit(
        [features(c.config) for c in seen], [tuned[c.key] - c.estimate for c in seen], prior
    )
    rest = [
        (c, correction.predict(c.config, c.estimate).upper(prior.k))
        for c in pool
        if c.key not in tuned
    ]
    if floor is not None:
        feasible = [c for c in seen if tuned[c.key] >= floor]
        answer = min(feasible, key=lambda c: (c.latency_ms, c.pruned), default=None)
        bound = float("inf") if answer is None else answer.latency_ms
        open_ = [(c, u) for c, u in rest if u >= floor and c.latency_ms < bound]
        open_.sort(key=lambda cu: (cu[0].latency_ms, cu[0].pruned, -cu[1]))
    else:
        answer = max(seen, key=lambda c: (tuned[c.key], -c.latency_ms), default=None)
        best = -float("inf") if answer is None else tuned[answer.key]
        open_ = [(c, u) for c, u in rest if u > best]
        open_.sort(key=lambda cu: (-cu[1], cu[0].latency_ms))
    return Walk(correction, answer, open_)


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
    spent = 0
    while True:
        state = walk_state(pool, tuned, floor, prior)
        if not state.open or spent >= max_finetunes:
            break
        pick = state.open[0][0]
        measured, fine_tuned = cache.measure(pick.config)
        spent += int(fine_tuned)
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
                params=to_params(space, pick.config),
                distributions=distributions(space),
                value=value,
                user_attrs=attrs,
                system_attrs={"constraints": [constraint]},
            )
        )
        frozen = next(
            t for t in study.get_trials(deepcopy=False) if t.user_attrs["config_key"] == pick.key
        )
        recorder.finished(frozen)
        tuned[pick.key] = measured.val_accuracy
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
