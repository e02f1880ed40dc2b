"""A correction of cheap accuracy estimates learned from the fine-tunes that confirm them.

The supernet's estimates are biased in a way that grows with pruning (pessimistic by 8.6 to 12
points at keep 1/8, nearly exact unpruned), so the gap "fine-tuned minus estimated" is modelled
as a linear function of how much a configuration prunes: the pruned fractions (1 - keep) summed
over the candidates and their maximum, no intercept (the unpruned model has nothing to correct).
It is a Bayesian linear regression: a prior on the weights (how far fine-tuning may move an
estimate before anything is confirmed) and a fine-tune's own noise, shrunk towards the observed
residual spread as confirmations come in. With no or one confirmation the uncertainty is wide;
every confirmation narrows it where it was measured. Pure numpy: no TensorFlow.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Vector = npt.NDArray[np.float64]


@dataclass(frozen=True)
class CorrectionPrior:
    """What is believed before any confirmation (accuracy as a fraction, not points)."""

    weight_sd: float = 0.05
    """Prior spread of each weight: the gap at one fully pruned candidate is 0 +- 0.07 (1 sd)."""
    noise_sd: float = 0.01
    """A fine-tune's own spread around the model (seed, data order)."""
    noise_weight: float = 2.0
    """Pseudo-observations behind noise_sd when it is pooled with the residuals."""
    k: float = 2.0
    """Sigmas above the corrected estimate that a configuration could still reach."""


def features(keep: Mapping[str, float]) -> Vector:
    """How much a configuration prunes: summed and largest pruned fraction (1 - keep)."""
    pruned = [1.0 - v for v in keep.values() if v < 1.0]
    return np.array([sum(pruned), max(pruned, default=0.0)], dtype=np.float64)


@dataclass(frozen=True)
class Corrected:
    """An estimate after the correction: its mean and its uncertainty (one sd)."""

    mean: float
    sd: float

    def upper(self, k: float) -> float:
        """The most the configuration can plausibly reach (mean + k sd)."""
        return self.mean + k * self.sd


@dataclass(frozen=True)
class Correction:
    """The fitted gap model: posterior mean and covariance of the weights, and the noise."""

    weights: Vector
    covariance: Vector
    noise_sd: float
    observations: int
    prior: CorrectionPrior

    @classmethod
    def fit(
        cls,
        xs: Sequence[Vector],
        gaps: Sequence[float],
        prior: CorrectionPrior | None = None,
    ) -> Correction:
        """The posterior after observing `gaps` (fine-tuned minus estimated) at features `xs`."""
        prior = prior or CorrectionPrior()
        dims = len(features({}))
        x = np.array(xs, dtype=np.float64).reshape(len(xs), dims)
        y = np.array(gaps, dtype=np.float64)
        noise = prior.noise_sd
        weights, cov = _posterior(x, y, noise, prior.weight_sd)
        if len(y):  # pool the prior noise with the residuals of the fit, then refit once
            rss = float(np.sum((y - x @ weights) ** 2))
            noise = float(
                np.sqrt(
                    (prior.noise_weight * prior.noise_sd**2 + rss) / (prior.noise_weight + len(y))
                )
            )
            weights, cov = _posterior(x, y, noise, prior.weight_sd)
        return cls(weights, cov, noise, len(y), prior)

    def predict(self, keep: Mapping[str, float], estimate: float) -> Corrected:
        """The corrected estimate of a configuration estimated at `estimate`."""
        x = features(keep)
        gap_var = float(x @ self.covariance @ x)
        return Corrected(
            estimate + float(x @ self.weights), float(np.sqrt(gap_var + self.noise_sd**2))
        )


def _posterior(x: Vector, y: Vector, noise_sd: float, weight_sd: float) -> tuple[Vector, Vector]:
    """Mean and covariance of the weights under a zero-mean Gaussian prior."""
    precision = x.T @ x / noise_sd**2 + np.eye(x.shape[1]) / weight_sd**2
    cov: Vector = np.linalg.inv(precision).astype(np.float64)
    return cov @ x.T @ y / noise_sd**2, cov
