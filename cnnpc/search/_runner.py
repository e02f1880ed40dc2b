"""Runs one search: an Optuna study over compression configurations, every trial stored in SQL.

Each trial: the strategy proposes keep fractions -> the exact planner picks the deployment and the
configuration is reduced to what that deployment needs -> the accuracy comes from the shared cache,
or, unless it is skipped for a recorded reason, from one fine-tune -> Optuna is told, and
cnnpc's row is derived from what Optuna was told (cnnpc/search/_recording.py). While a worker
runs, a pulse thread renews its claims' and its trials' heartbeats (cnnpc/search/_sharing.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from cnnpc import __version__
from cnnpc.errors import InputError
from cnnpc.planner import Plan
from cnnpc.records import keep_key
from cnnpc.search._attrs import annotate, trial_attrs
from cnnpc.search._configs import (
    Config,
    distributions,
    from_params,
    normalise,
    to_params,
)
from cnnpc.search._measure import AccuracySource, CachedAccuracies
from cnnpc.search._objective import study_directions
from cnnpc.search._recording import FAILED_REASON_ATTR, INTERRUPTED, PREDICTED_ATTR, TrialRecorder
from cnnpc.search._rows import drawn_rows, exactness, table_tried
from cnnpc.search._settings import SearchSettings
from cnnpc.search._sharing import (
    TrialHeartbeats,
    count_trials,
    exclusive,
    heartbeat_storage,
    is_surplus,
    release_slot,
    take_slot,
)
from cnnpc.search._skips import skip_reason
from cnnpc.search._strategies import LatencyOrder, StrategyContext, cnnpc, exhaustive
from cnnpc.search._summary import Exactness, SearchResult, TrialEvent, summarise
from cnnpc.search._surrogate import AccuracySurrogate
from cnnpc.search._unmeasured import UNMEASURED, Unmeasured
from cnnpc.search._workers import Liveness, Pulse, this_worker

if TYPE_CHECKING:
    import optuna
    from optuna.distributions import BaseDistribution
    from optuna.trial import Trial, TrialState

    from cnnpc.storage import Storage, TrialRecord


def _now() -> datetime:
    return datetime.now(UTC)


class SearchRunner:
    """Drives one search to its asked number of trials (resuming what is already stored)."""

    def __init__(
        self,
        settings: SearchSettings,
        source: AccuracySource,
        storage: Storage,
        on_trial: Callable[[TrialEvent], None] | None = None,
        liveness: Liveness | None = None,
    ) -> None:
        self.settings = settings
        self.liveness = liveness or Liveness()
        self.planner = settings.planner()
        self.profile = self.planner.profile
        self.space = self.profile.space
        self.storage = storage
        self.cache = CachedAccuracies(settings.model, source, storage, self.liveness)
        self.on_trial = on_trial
        self.surrogate = AccuracySurrogate(self.space, coded=settings.coded)
        self.rows = drawn_rows(source.table_rows, self.space, settings.searched_bits)
        """On an accuracy table: the rows the strategy draws from (None: the whole grid)."""
        self.exactness: Exactness | None = None
        self._fitted_on = -1
        self.poll_s = 0.25
        """How often a worker waiting for others' last trials looks again."""
        from cnnpc.storage import SearchSpec

        self.search = storage.get_or_create_search(
            SearchSpec(
                model=settings.model,
                device=self.profile.device,
                workload=source.workload,
                links=self.planner.links,
                mode=settings.mode,
                target=settings.target,
                strategy=settings.strategy,
                seed=settings.seed,
                budget_key=source.budget_key,
                code_version=__version__,
                extra=settings.links.stored()
                | {"overhead_ms": self.planner.conventions.overhead_ms}  # calibrated or not
                | _grid_extra(settings)
                | settings.objective.stored()
                | settings.codec_extra(),
                epochs=source.epochs,
            )
        )
        self.recorder = TrialRecorder(
            storage, self.search.id, self.planner, self.cache, self.rows, settings.objective
        )
        self._heartbeats: TrialHeartbeats | None = None
        self._reaped_at = time.monotonic()
        self._pulse = Pulse(self._beat, self.liveness.heartbeat_s, "cnnpc-worker-heartbeat")
        self._pulse.start()  # from the first claim on, until run() ends
        try:
            self._open_study()
        except BaseException:
            self._pulse.stop()
            raise

    def _open_study(self) -> None:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.slot = take_slot(self.storage, self.search.id, self.liveness)
        finished = self.storage.list_trials(self.search.id)
        self._resumed_at = sum(t.state in ("complete", "pruned") for t in finished)
        with exclusive(self.storage, "optuna-storage-setup", self.liveness):
            rdb = heartbeat_storage(self.storage.url, self.liveness, self.recorder.finished)
            self.study = optuna.create_study(
                study_name=self.search.study_name,
                storage=rdb,
                sampler=self._sampler(),
                load_if_exists=True,
                **study_directions(self.settings.objective, self.settings.mode),
            )
        self._heartbeats = TrialHeartbeats(self.study, rdb, self.liveness, self.recorder.finished)
        self.distributions: dict[str, BaseDistribution] = distributions(
            self.space, self.settings.searched_bits
        )

    # -- liveness ----------------------------------------------------------------------------

    def _beat(self) -> None:
        """One heartbeat of this worker: every claim it holds, every trial it runs."""
        self.storage.renew_claims(this_worker())
        if self._heartbeats is not None:
            self._heartbeats.beat()

    @property
    def heartbeats(self) -> TrialHeartbeats:
        assert self._heartbeats is not None
        return self._heartbeats

    # -- strategy plumbing -------------------------------------------------------------------

    def _sampler(self) -> optuna.samplers.BaseSampler:
        """Seeded by --seed, offset by this worker's slot and by the trials already done, so
        neither a second worker nor a resumed run replays the proposals made before."""
        from cnnpc.search._row_sampler import make_sampler

        seed = self.settings.seed + 104_729 * self.slot + self._resumed_at
        s = self.settings
        return make_sampler(s.strategy, seed, self.rows, self.space, s.searched_bits)

    def _context(self) -> StrategyContext:
        s = self.settings
        floor = s.acc_floor if s.acc_floor is not None else 0.0
        return StrategyContext(
            planner=self.planner,
            space=self.space,
            floor=floor,
            accuracy=self._known_accuracy,
            estimate=self._estimate,
            best_latency=self._best_latency,
            by_latency=self.settings.acc_floor is not None and not s.objective.pareto,
            rows=self.rows,
            latency_limit=self.settings.latency_budget_ms,
            below_floor=None if self.rows is None or s.acc_floor is None else self._below_floor,
            objective=s.objective,
            bits=s.searched_bits,
        )

    def _below_floor(self, config: Mapping[str, float]) -> bool:
        """A table row's accuracy, read from the table (no trial), is below the floor."""
        floor = self.settings.acc_floor
        return floor is not None and self.cache.source.measure(config).val_accuracy < floor

    def _best_latency(self) -> float | None:
        best = self._best_so_far()
        return None if best is None else self.settings.objective.trial_value(best.plan)

    def _known_accuracy(self, config: Mapping[str, float]) -> float | None:
        m = self.cache.lookup(self._normalise(config)[0])
        return None if m is None else m.val_accuracy

    def _estimate(self, config: Mapping[str, float]) -> float | None:
        pred = self.surrogate.predict(config)
        return None if pred is None else pred.optimistic(self.surrogate.z)

    # -- the loop ----------------------------------------------------------------------------

    def run(self) -> SearchResult:
        try:
            return self._run()
        finally:
            self._pulse.stop()
            release_slot(self.storage, self.search.id, self.slot)

    def _run(self) -> SearchResult:
        s = self.settings
        self.storage.set_search_status(self.search.id, "running")
        self._reap()
        if count_trials(self.study)[0] == 0:  # trial 0 is always the unpruned model
            with exclusive(self.storage, f"search:{self.search.id}:baseline-trial", self.liveness):
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
        proposals: Iterator[Config] | None = None
        walk = None
        if s.strategy == "exhaustive":
            proposals = walk = exhaustive(self._context())
        elif s.strategy == "cnnpc":
            proposals = cnnpc(self._context())
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
                self._reap()
                continue
            if time.monotonic() - self._reaped_at >= self.liveness.heartbeat_s:
                self._reap()  # as Optuna's optimize does before each trial, once per beat
            if proposals is not None:
                config = self._next_new(proposals)
                if config is None:
                    stop_reason = f"{s.strategy} search space exhausted"
                    break
                self.study.enqueue_trial(self._params(config))
            elif (stop := table_tried(self.rows, self.study, self.space, s.strategy)) is not None:
                stop_reason = stop
                break
            trial = self.heartbeats.ask(self.distributions)
            if is_surplus(self.study, trial, s.trials):
                self.heartbeats.release(trial.number)
                continue
            self._run_trial(trial)
        if walk is not None:
            self.exactness = self._exactness(walk)
            stop_reason = self.exactness.message(stop_reason, s.trials, self._finished_trials())
        self.storage.set_search_status(self.search.id, "finished", stop_reason)
        return self._result("finished", stop_reason)

    def _exactness(self, walk: LatencyOrder) -> Exactness:
        """Whether the exhaustive walk proved its answer, and what the table lacks."""
        tried = self._tried()
        pending = [c for c in walk.pending() if keep_key(self._normalise(c)[0]) not in tried]
        floor = self.settings.acc_floor is not None
        best = self._best_latency() if floor else None
        passed = walk.passed_over if floor else None
        return exactness(
            self.planner,
            len(pending),
            len(walk),
            self.rows,
            best,
            passed,
            self.settings.objective,
            self.settings.searched_bits,
        )

    def _baseline_trial(self) -> None:
        if count_trials(self.study)[0] == 0:  # checked again under the claim
            self.study.enqueue_trial(self._params({}))
            self._run_trial(self.heartbeats.ask(self.distributions))

    def _params(self, config: Mapping[str, float]) -> dict[str, float | int]:
        """Optuna's parameters of `config` (its bit widths too, in a search with bits)."""
        return to_params(self.space, config, self.settings.searched_bits)

    def _reap(self) -> None:
        """Fail dead workers' trials, and complete rows whose trial Optuna finished."""
        self._reaped_at = time.monotonic()
        self.heartbeats.reap()
        self.recorder.reconcile(self.study)

    def _finished_trials(self) -> int:
        return count_trials(self.study)[0]

    def _tried(self) -> set[str | None]:
        return {t.user_attrs.get("config_key") for t in self.study.get_trials(deepcopy=False)}

    def _next_new(self, proposals: Iterator[Config]) -> Config | None:
        """Next proposal whose reduced configuration this study has not tried yet."""
        tried = self._tried()
        for config in proposals:
            if keep_key(self._normalise(config)[0]) not in tried:
                return dict(config)
        return None

    def _normalise(self, config: Mapping[str, float]) -> tuple[Config, Plan]:
        return normalise(self.planner, config, self.rows, self.settings.objective)

    def _run_trial(self, trial: Trial) -> None:
        """Evaluate `trial`; if this worker stops inside it, fail it now (not a grace later)."""
        import optuna

        try:
            self._evaluate(trial)
        except optuna.exceptions.UpdateFinishedTrialError:
            pass  # judged dead (a heartbeat missed for the grace period) and failed by another
        except BaseException:
            try:
                trial.set_user_attr(FAILED_REASON_ATTR, INTERRUPTED)
                failed = self.study.tell(
                    trial, state=optuna.trial.TrialState.FAIL, skip_if_finished=True
                )
                self.recorder.finished(failed, INTERRUPTED)
            except Exception:  # the heartbeat judges it instead
                pass
            raise
        finally:
            self.heartbeats.release(trial.number)

    def _evaluate(self, trial: Trial) -> None:
        import optuna

        s = self.settings
        config, plan = self._normalise(from_params(self.space, trial.params))
        trial.set_user_attr("config_key", keep_key(config))
        self.recorder.running(trial.number, config, plan, _now())
        measured = self.cache.lookup(config)
        spent = False
        if measured is None:
            self._refit_surrogate()
            pred = self.surrogate.predict(config)
            # estimates to be confirmed are cheap, and one below the floor is still a candidate
            # for the confirmation (cnnpc/search/_ranking.py): only the latency bound skips them
            confirmed_later = self.cache.source.confirms_with is not None
            reason = skip_reason(
                self.settings,
                self._best_so_far(),
                None if confirmed_later else pred,
                self.surrogate.z,
                plan.latency_ms,
                s.objective.value(plan),
            )
            predicted = None if pred is None else pred.mean
            if predicted is not None:
                trial.set_user_attr(PREDICTED_ATTR, predicted)
            if reason is not None:
                annotate(trial, trial_attrs(self.space, plan, config, skipped_reason=reason))
                self._tell(trial, state=optuna.trial.TrialState.PRUNED)
                self._emit("pruned", reason)
                return
            try:
                measured, spent = self.cache.measure(config)
            except Unmeasured as exc:  # a table that lacks it: recorded, never fine-tuned
                reason = f"{UNMEASURED}: {exc}"
                annotate(trial, trial_attrs(self.space, plan, config, skipped_reason=reason))
                self._tell(trial, state=optuna.trial.TrialState.PRUNED)
                self._emit("pruned", reason)
                return
            spent = spent and self.cache.source.trains
        acc = measured.val_accuracy
        constraint, value = s.objective.told(s.acc_floor, s.latency_budget_ms, plan, acc)
        trial.set_user_attr("constraints", [constraint])
        # Optuna >= 5: constraints set on the trial guide the constrained TPE
        trial.set_constraint("accuracy" if s.acc_floor is not None else "latency", constraint)
        annotate(trial, trial_attrs(self.space, plan, config, measured=measured, fine_tuned=spent))
        self._tell(trial, value)
        self._emit("complete", None)

    def _tell(
        self,
        trial: Trial,
        value: float | list[float] | None = None,
        state: TrialState | None = None,
    ) -> None:
        """Tell Optuna, then record cnnpc's row from what Optuna now holds (one step: a crash
        between the two is completed by the next worker's reconcile)."""
        import optuna

        frozen = self.study.tell(trial, value, state=state, skip_if_finished=True)
        if frozen.state == optuna.trial.TrialState.FAIL:
            return  # failed by another worker meanwhile, who recorded it
        self.recorder.finished(frozen)

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

    def _best_so_far(self) -> TrialRecord | None:
        return self.storage.best_trial(self.search.id)

    def _emit(self, state: str, reason: str | None) -> None:
        if self.on_trial is None:
            return
        best = self._best_so_far()
        self.on_trial(
            TrialEvent(
                done=self._finished_trials(),
                total=self.settings.trials,
                finetunes=self.cache.finetunes,
                best_latency_ms=None if best is None else best.latency_ms,
                best_accuracy=None if best is None else best.val_accuracy,
                state=state,
                reason=reason,
            )
        )

    def _result(self, status: str, message: str | None) -> SearchResult:
        self.recorder.reconcile(self.study)
        result = summarise(self.storage, self.search.id, self.planner, status, message)
        return replace(result, exactness=self.exactness)


def _grid_extra(settings: SearchSettings) -> dict[str, Any]:
    """A search on another keep grid is another search (absent: the space's own grid)."""
    grid = settings.keep_grid
    return {} if grid is None else {"keep_grid": grid if isinstance(grid, str) else list(grid)}


def run_search(
    settings: SearchSettings,
    source: AccuracySource,
    storage: Storage,
    on_trial: Callable[[TrialEvent], None] | None = None,
    liveness: Liveness | None = None,
) -> SearchResult:
    """Run (or resume) the search `settings` describes; see SearchRunner.

    `liveness`: how often this worker beats and how long a silent worker's trials and claims
    are waited for before another takes them over (default 10 s / 60 s).
    """
    if settings.trials < 1:
        raise InputError("--trials must be >= 1")
    return SearchRunner(settings, source, storage, on_trial, liveness).run()
