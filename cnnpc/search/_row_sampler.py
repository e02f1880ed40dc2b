"""tpe and random on an accuracy table: Optuna's samplers, drawing only the table's rows.

A table holds accuracies for its rows only; any other configuration could only be recorded as
unmeasured, a trial spent on nothing. So on a table every sample is a row not yet tried (the
unpruned model is a row too, always trial 0):

- random draws uniformly among the untried rows (seeded), so N rows take at most N trials;
- tpe keeps Optuna's per-parameter sampling (one keep fraction, or channel count, per
  candidate) and moves each of its samples to the nearest untried row (Euclidean distance over
  the candidates' kept fractions; ties: the first row by key). A categorical over rows was the
  alternative, but TPE learns nothing across categories: each row is one category, tried at most
  once, so it would sample no better than random. Per candidate it learns which fractions of
  which candidates do well, and every trial's parameters are those of the row it ran, so what it
  learns is what the table says.

The parameters and their distributions are those of a search on the grid (`distributions`), so
a search stored on a table by an earlier release, whose tpe and random sampled the whole grid,
resumes and shows as before; only the values drawn change.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import optuna

from cnnpc.codec import MAX_BITS
from cnnpc.records import bits_entry
from cnnpc.search._configs import Config, distributions, from_params, parameters, to_params
from cnnpc.search._rows import TableRows, untried
from cnnpc.spaces import SearchSpace

if TYPE_CHECKING:
    from optuna.distributions import BaseDistribution
    from optuna.study import Study
    from optuna.trial import FrozenTrial


class RowSampler(optuna.samplers.BaseSampler):
    """`inner` (TPE or random), each sample an untried row of `rows` (see the module)."""

    def __init__(
        self,
        inner: optuna.samplers.BaseSampler,
        rows: TableRows,
        space: SearchSpace,
        seed: int,
        bits: tuple[int, ...] = (MAX_BITS,),
    ) -> None:
        self._inner = inner
        self._rows = rows
        self._space = space
        self._bits = bits
        self._names = list(parameters(space))
        self._distributions: dict[str, BaseDistribution] = distributions(space, bits)
        self._rng = np.random.default_rng(seed)
        self._uniform = isinstance(inner, optuna.samplers.RandomSampler)

    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        return dict(self._distributions)  # a row fixes every parameter at once

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        left = untried(self._rows, study, self._space)
        if not left:
            return {}  # the runner stops before this; the inner sampler answers alone
        if self._uniform:
            row = left[int(self._rng.integers(len(left)))]
        else:
            row = self._nearest(left, self._proposal(study, trial))
        return to_params(self._space, row, self._bits)

    def _proposal(self, study: Study, trial: FrozenTrial) -> Config:
        """The configuration the inner sampler would have drawn on the grid."""
        inner = self._inner
        relative = inner.infer_relative_search_space(study, trial)
        params = dict(inner.sample_relative(study, trial, relative))
        for name, dist in self._distributions.items():
            if name not in params:
                params[name] = inner.sample_independent(study, trial, name, dist)
        return from_params(self._space, params)

    def _nearest(self, left: list[Config], proposal: Config) -> Config:
        def distance(row: Config) -> float:
            kept = ((row.get(p, 1.0) - proposal.get(p, 1.0)) ** 2 for p in self._names)
            widths = (  # a width's distance in eighths, as a fraction's
                ((row.get(b, MAX_BITS) - proposal.get(b, MAX_BITS)) / MAX_BITS) ** 2
                for b in map(bits_entry, self._names)
            )
            return math.fsum((*kept, *widths))

        return min(left, key=distance)  # min keeps the first of equals: key order

    def sample_independent(
        self,
        study: Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        return self._inner.sample_independent(study, trial, param_name, param_distribution)

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        self._inner.before_trial(study, trial)

    def after_trial(
        self,
        study: Study,
        trial: FrozenTrial,
        state: optuna.trial.TrialState,
        values: Sequence[float] | None,
    ) -> None:
        self._inner.after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        self._inner.reseed_rng()
        self._rng = np.random.default_rng()


def make_sampler(
    strategy: str,
    seed: int,
    rows: TableRows | None,
    space: SearchSpace,
    bits: tuple[int, ...] = (MAX_BITS,),
) -> optuna.samplers.BaseSampler:
    """tpe's or random's sampler, seeded; on a table (`rows`), drawing only its rows."""
    inner: optuna.samplers.BaseSampler
    if strategy == "tpe":
        inner = optuna.samplers.TPESampler(seed=seed, n_startup_trials=5, multivariate=True)
    else:
        inner = optuna.samplers.RandomSampler(seed=seed)
    if rows is None or strategy not in ("tpe", "random"):
        return inner
    return RowSampler(inner, rows, space, seed, bits)
