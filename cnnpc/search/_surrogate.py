"""Accuracy surrogate: predicts a configuration's validation accuracy before fine-tuning it.

A Gaussian process (scikit-learn) on the kept fraction of every search parameter, fitted on the
accuracies measured so far (shared across searches through the cache). It only ever *skips* work: a
candidate is called confidently infeasible when even its optimistic prediction, mean + z * std, is
below the floor, and only once enough points are measured for the prediction to mean something.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from cnnpc.codec import MAX_BITS
from cnnpc.records import bits_entry
from cnnpc.search._configs import parameters
from cnnpc.spaces import SearchSpace

MIN_POINTS = 4


@dataclass(frozen=True)
class Prediction:
    mean: float
    std: float

    def optimistic(self, z: float) -> float:
        return self.mean + z * self.std


class AccuracySurrogate:
    """Fit on (configuration, accuracy) pairs; predict mean and standard deviation."""

    def __init__(self, space: SearchSpace, z: float = 2.0, *, coded: bool = False) -> None:
        self.params = list(parameters(space))
        self.z = z
        self.coded = coded
        """Whether the split tensors' widths are features too (a search with --bits)."""
        self._model: Any = None
        self._n = 0
        self._ceiling = 1.0

    def features(self, config: Mapping[str, float]) -> list[float]:
        kept = [float(config.get(p, 1.0)) for p in self.params]
        if not self.coded:
            return kept
        return kept + [float(config.get(bits_entry(p), MAX_BITS)) / MAX_BITS for p in self.params]

    def fit(self, configs: Sequence[Mapping[str, float]], accuracies: Sequence[float]) -> None:
        self._n = len(configs)
        if self._n < MIN_POINTS:
            self._model = None
            return
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

        x = np.array([self.features(c) for c in configs])
        y = np.array(accuracies, dtype=np.float64)
        self._ceiling = float(y.max())
        kernel = ConstantKernel(0.05, (1e-4, 1.0)) * Matern(
            length_scale=np.full(x.shape[1], 0.5), length_scale_bounds=(0.05, 10.0), nu=2.5
        ) + WhiteKernel(1e-4, (1e-6, 1e-1))
        model = GaussianProcessRegressor(kernel=kernel, normalize_y=True, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence chatter on tiny data sets
            model.fit(x, y)
        self._model = model

    @property
    def ready(self) -> bool:
        return self._model is not None

    def predict(self, config: Mapping[str, float]) -> Prediction | None:
        if self._model is None:
            return None
        mean, std = self._model.predict(np.array([self.features(config)]), return_std=True)
        return Prediction(mean=min(float(mean[0]), self._ceiling), std=float(std[0]))

    def confidently_below(self, config: Mapping[str, float], floor: float) -> Prediction | None:
        """The prediction if even its optimistic bound is below `floor`, else None."""
        pred = self.predict(config)
        if pred is None or not math.isfinite(pred.mean):
            return None
        return pred if pred.optimistic(self.z) < floor else None
