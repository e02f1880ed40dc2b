"""Runs one search: an Optuna study over compression configurations, every trial stored in SQL.

Each trial: the strategy proposes keep fractions -> the exact planner picks the deployment and the
configuration is reduced to what that deployment needs -> the accuracy comes from the shared cache,
or, unless it is skipped for a recorded reason, from one fine-tune -> Optuna and our tables
are told.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cnnpc import __version__
from cnnpc.errors import InputError
from cnnpc.search._attrs import annotate
from cnnpc.search._configs import Config, config_key, normalise, parameters, to_params
from cnnpc.search._measure import AccuracySource, CachedAccuracies
from cnnpc.search._settings import SearchSettings
from cnnpc.search._sharing import (
    count_trials,
    exclusive,
    fail_stale_trials,
    is_surplus,
    release_slot,
    take_slot,
)
from cnnpc.search._strategies import StrategyContext, cnnpc, exhaustive
from cnnpc.search._summary import summarise
from cnnpc.search._surrogate import AccuracySurrogate
from cnnpc.search._workers import this_worker


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
class SearchResult:
    search_id: int
    status: str
    message: str | None
    finetunes: int
    trials: int
    best: dict[str, Any] | None
    pareto: list[dict[str, Any]] = field(default_factory=list)
    storage_url: str = ""


def _now() -> datetime:
    return datetime.now(UTC)


class SearchRunner:
    """Drives one search to its asked number of trials (resuming what is already stored)."""

    def __init__(
        self,
        settings: SearchSettings,
        source: AccuracySource,
        storage: Any,
        on_trial: Callable[[TrialEvent], None] | None = None,
    ) -> None:
        import optuna

        self.settings = settings
        self.planner = settings.planner()
        self.profile = self.planner.profile
        self.space = self.profile.space
        self.storage = storage
        self.cache = CachedAccuracies(settings.model, source, storage)
        self.on_trial = on_trial
        self.surrogate = AccuracySurrogate(self.space)
        self._fitted_on = -1
        self.poll_s = 0.25
        """How often a worker waiting for others' last trials looks again."""
        from cnnpc.storage import SearchSpec

        self.search = storage.get_or_create_search(
            SearchSpec(
                model=settings.model,
                device=self.profile.device,
                workload=source.workload,
                uplink_mbps=settings.uplink_mbps,
                bandwidth_mbps=settings.bandwidth_mbps,
                mode=settings.mode,
                target=settings.target,
                strategy=settings.strategy,
                seed=settings.seed,
                budget_key=source.budget_key,
                code_version=__version__,
                extra=settings.links.stored(),
            )
        )
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.slot = take_slot(storage, self.search.id)
        finished = storage.list_trials(self.search.id)
        self._resumed_at = sum(t.state in ("complete", "pruned") for t in finished)
        with exclusive(storage, "optuna-storage-setup"):
            rdb = optuna.storages.RDBStorage(storage.url, **_engine_kwargs(storage.url))
            self.study = optuna.create_study(
                study_name=self.search.study_name,
                storage=rdb,
                sampler=self._sampler(),
                direction="minimize" if settings.mode == "acc_floor" else "maximize",
                load_if_exists=True,
            )
        self.distributions: dict[str, optuna.distributions.BaseDistribution] = {
            p: optuna.distributions.CategoricalDistribution(list(self.space.keep_grid))
            for p in parameters(self.space)
        }

    # -- strategy plumbing -------------------------------------------------------------------

    def _sampler(self) -> Any:
        """Seeded by --seed, offset by this worker's slot and by the trials already done, so
        neither a second worker nor a resumed run replays the proposals made before."""
        import optuna

        seed = self.settings.seed + 104_729 * self.slot + self._resumed_at
        if self.settings.strategy == "tpe":
            return optuna.samplers.TPESampler(seed=seed, n_startup_trials=5, multivariate=True)
        return optuna.samplers.RandomSampler(seed=seed)

    def _context(self) -> StrategyContext:
        floor = self.settings.acc_floor if self.settings.acc_floor is not None else 0.0
        return StrategyContext(
            planner=self.planner,
            space=self.space,
            floor=floor,
            accuracy=self._known_accuracy,
            estimate=self._estimate,
            best_latency=self._best_latency,
            by_latency=self.settings.acc_floor is not None,
        )

    def _best_latency(self) -> float | None:
        best = self._best_so_far()
        return None if best is None else float(best["latency_ms"])

    def _known_accuracy(self, config: Mapping[str, float]) -> float | None:
        m = self.cache.lookup(normalise(self.planner, config)[0])
        return None if m is None else m.val_accuracy

    def _estimate(self, config: Mapping[str, float]) -> float | None:
        pred = self.surrogate.predict(config)
        return None if pred is None else pred.optimistic(self.surrogate.z)

    # -- the loop ----------------------------------------------------------------------------

    def run(self) -> SearchResult:
        try:
            return self._run()
        finally:
            release_slot(self.storage, self.search.id, self.slot)

    def _run(self) -> SearchResult:
        s = self.settings
        self.storage.set_search_status(self.search.id, "running")
        self._fail_stale_trials()
        if count_trials(self.study)[0] == 0:  # trial 0 is always the unpruned model
            with exclusive(self.storage, f"search:{self.search.id}:baseline-trial"):
                self._baseline_trial()
        baseline = self.cache.lookup({}) if s.acc_floor is not None else None
        if s.acc_floor is not None and baseline is None:  # skipped as trial 0: measure anyway
            baseline = self.cache.measure({})[0]
        if baseline is not None and s.acc_floor is not None and baseline.val_accuracy < s.acc_floor:
            message = (
                f"infeasible: the unpruned model's validation accuracy {baseline.val_accuracy:.4f} "
                f"is below the floor {s.acc_floor:g}; no plan can meet it"
            )
            self.storage.set_search_status(self.search.id, "infeasible", message)
            return self._result("infeasible", message)
        proposals = None
        if s.strategy in ("exhaustive", "cnnpc"):
            proposals = (exhaustive if s.strategy == "exhaustive" else cnnpc)(self._context())
        started = time.monotonic()
        stop_reason = None
        while True:
            finished, active = count_trials(self.study)
            if finished >= s.trials:
                break
            if s.timeout_s is not None and time.monotonic() - started > s.timeout_s:
                stop_reason = f"stopped after the {s.timeout_s:g} s timeout"
                break
            if finished + active >= s.trials:  # other workers are running the last trials
                time.sleep(self.poll_s)
                self._fail_stale_trials()
                continue
            if proposals is not None:
                config = self._next_new(proposals)
                if config is None:
                    stop_reason = f"{s.strategy} search space exhausted"
                    break
                self.study.enqueue_trial(to_params(self.space, config))
            trial = self.study.ask(self.distributions)
            if is_surplus(self.study, trial, s.trials):
                continue
            self._evaluate(trial)
        self.storage.set_search_status(self.search.id, "finished", stop_reason)
        return self._result("finished", stop_reason)

    def _baseline_trial(self) -> None:
        if count_trials(self.study)[0] == 0:  # checked again under the claim
            self.study.enqueue_trial(to_params(self.space, {}))
            self._evaluate(self.study.ask(self.distributions))

    def _fail_stale_trials(self) -> None:
        def record(t: Any) -> None:
            reason = "worker died mid-trial"
            self._record(t.number, t.user_attrs, "failed", reason, t.datetime_start)

        fail_stale_trials(self.study, record)

    def _finished_trials(self) -> int:
        return count_trials(self.study)[0]

    def _next_new(self, proposals: Any) -> Config | None:
        """Next proposal whose reduced configuration this study has not tried yet."""
        tried = {t.user_attrs.get("config_key") for t in self.study.get_trials(deepcopy=False)}
        for config in proposals:
            if config_key(normalise(self.planner, config)[0]) not in tried:
                return dict(config)
        return None

    def _skip_reason(self, config: Config, latency_ms: float) -> tuple[str | None, float | None]:
        """Why this unmeasured configuration need not be fine-tuned (None: it must be)."""
        s = self.settings
        best = self._best_so_far()
        pred = self.surrogate.predict(config)
        predicted = None if pred is None else pred.mean
        if s.acc_floor is not None:
            if best is not None and latency_ms >= best["latency_ms"]:
                return (
                    f"cannot beat the best feasible latency {best['latency_ms']:.2f} ms even at "
                    "the baseline accuracy",
                    predicted,
                )
            if pred is not None and pred.optimistic(self.surrogate.z) < s.acc_floor:
                return (
                    f"surrogate predicts accuracy {pred.mean:.4f} +/- {pred.std:.4f}, "
                    f"confidently below the floor {s.acc_floor:g}",
                    predicted,
                )
        else:
            assert s.latency_budget_ms is not None
            if latency_ms > s.latency_budget_ms:
                return (f"latency {latency_ms:.2f} ms exceeds the budget", predicted)
            if (
                best is not None
                and pred is not None
                and pred.optimistic(self.surrogate.z) <= best["val_accuracy"]
            ):
                return (
                    f"surrogate predicts accuracy {pred.mean:.4f} +/- {pred.std:.4f}, "
                    f"confidently no better than the best {best['val_accuracy']:.4f}",
                    predicted,
                )
        return None, predicted

    def _evaluate(self, trial: Any) -> None:
        import optuna

        s = self.settings
        started = _now()
        suggested = {p: float(trial.params[p]) for p in self.distributions}
        from cnnpc.search._configs import expand

        config, plan = normalise(self.planner, expand(self.space, suggested))
        key = config_key(config)
        trial.set_user_attr("config_key", key)
        trial.set_user_attr("worker", this_worker())
        attrs = {"config_key": key, "plan": plan.as_dict(), "keep": config}
        self._record(trial.number, attrs, "running", None, started)
        measured = self.cache.lookup(config)
        spent = False
        predicted = None
        if measured is None:
            self._refit_surrogate()
            reason, predicted = self._skip_reason(config, plan.latency_ms)
            if reason is not None:
                annotate(trial, self.space, plan, config, skipped_reason=reason)
                self.study.tell(trial, state=optuna.trial.TrialState.PRUNED)
                self._record(trial.number, attrs, "pruned", reason, started, predicted=predicted)
                self._emit("pruned", reason)
                return
            measured, spent = self.cache.measure(config)
        acc = measured.val_accuracy
        if s.acc_floor is not None:
            constraint = s.acc_floor - acc
            value = plan.latency_ms
        else:
            assert s.latency_budget_ms is not None
            constraint = plan.latency_ms - s.latency_budget_ms
            value = acc
        feasible = constraint <= 0
        trial.set_user_attr("constraints", [constraint])
        # Optuna >= 5: constraints set on the trial guide the constrained TPE
        trial.set_constraint("accuracy" if s.acc_floor is not None else "latency", constraint)
        annotate(trial, self.space, plan, config, measured=measured, fine_tuned=spent)
        self.study.tell(trial, value)
        self._record(
            trial.number,
            attrs,
            "complete",
            None if spent else "accuracy from the cache",
            started,
            measured=measured,
            feasible=feasible,
            spent=spent,
            predicted=predicted,
        )
        self._emit("complete", None)

    def _refit_surrogate(self) -> None:
        """Refit only when the cache has grown (other workers' measurements count too)."""
        if self.settings.strategy == "exhaustive":
            return  # the exhaustive baseline skips only what the exact latency bound rules out
        known = self.cache.known()
        if len(known) == self._fitted_on:
            return
        self._fitted_on = len(known)
        configs = [c for c, _ in known.values()]
        self.surrogate.fit(configs, [a for _, a in known.values()])

    def _record(
        self,
        number: int,
        attrs: Mapping[str, Any],
        state: str,
        reason: str | None,
        started: datetime | None,
        *,
        measured: Any = None,
        feasible: bool | None = None,
        spent: bool = False,
        predicted: float | None = None,
    ) -> None:
        from cnnpc.storage import TrialInput

        self.storage.record_trial(
            self.search.id,
            TrialInput(
                optuna_number=number,
                keep=dict(attrs.get("keep", {})),
                plan=dict(attrs.get("plan", {})),
                val_accuracy=None if measured is None else measured.val_accuracy,
                test_accuracy=None if measured is None else measured.test_accuracy,
                predicted_accuracy=predicted,
                state=state,
                reason=reason,
                feasible=feasible,
                finetune_seconds=None if measured is None else measured.finetune_seconds,
                finetuned=spent,
                started_at=started or _now(),
                finished_at=None if state == "running" else _now(),
            ),
        )

    def _best_so_far(self) -> dict[str, Any] | None:
        trials = self.storage.list_trials(self.search.id, feasible_only=True, sort="latency")
        if not trials:
            return None
        if self.settings.mode == "acc_floor":
            t = trials[0]
        else:
            t = max(trials, key=lambda r: (r.val_accuracy, -r.plan["latency_ms"]))
        return {"latency_ms": t.plan["latency_ms"], "val_accuracy": t.val_accuracy}

    def _emit(self, state: str, reason: str | None) -> None:
        if self.on_trial is None:
            return
        best = self._best_so_far()
        self.on_trial(
            TrialEvent(
                done=self._finished_trials(),
                total=self.settings.trials,
                finetunes=self.cache.finetunes,
                best_latency_ms=None if best is None else best["latency_ms"],
                best_accuracy=None if best is None else best["val_accuracy"],
                state=state,
                reason=reason,
            )
        )

    def _result(self, status: str, message: str | None) -> SearchResult:
        summary = summarise(self.storage, self.search.id, self.planner, self.settings)
        return SearchResult(
            search_id=self.search.id,
            status=status,
            message=message,
            finetunes=summary["finetunes"],
            trials=summary["trials"],
            best=summary["best"],
            pareto=summary["pareto"],
            storage_url=self.storage.url,
        )


def _engine_kwargs(url: str) -> dict[str, Any]:
    try:
        from cnnpc.storage import optuna_engine_kwargs
    except ImportError:  # pragma: no cover - storage always ships it
        return {}
    return {"engine_kwargs": optuna_engine_kwargs(url)}


def run_search(
    settings: SearchSettings,
    source: AccuracySource,
    storage: Any,
    on_trial: Callable[[TrialEvent], None] | None = None,
) -> SearchResult:
    """Run (or resume) the search `settings` describes; see SearchRunner."""
    if settings.trials < 1:
        raise InputError("--trials must be >= 1")
    return SearchRunner(settings, source, storage, on_trial).run()
