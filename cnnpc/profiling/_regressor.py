"""Per-tier regressors that price a segment from its size: FLOPs, params, input and output bytes.

Only a few widths of each segment are timed; a plan may prune a candidate to any width of the
grid, so the rest is predicted. Four families are tried and the one with the lower mean error on
*held-out keep fractions* (whole widths never seen in fitting, the situation the model is used
in) is kept per tier:

- ``linear``: ms = b + w . features with w >= 0 (time grows with work and traffic, never falls);
- ``loglinear``: a power law, log ms linear in log features;
- ``gbr``: gradient-boosted trees on log features (flexible, but cannot interpolate between the
  widths it saw, only step between them);
- ``anchored``: the segment's own measured unpruned time, scaled by a power law of how much its
  features shrank (log ratio linear in log feature ratios, no intercept). Segments differ in
  ways four numbers do not capture (operator count, internal activations, cache fit); the
  unpruned time carries all of that, so only the effect of pruning is learnt across segments.

Nothing is pickled: regressors are refitted from the measurements CSV when a profile is loaded.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from cnnpc.errors import ProfileError
from cnnpc.profiles import TIERS
from cnnpc.profiling._store import Measurement

FEATURES = ("flops", "params", "in_bytes", "out_bytes")
KINDS = ("linear", "loglinear", "gbr", "anchored")
Matrix = npt.NDArray[np.float64]


def feature_matrix(rows: Sequence[Mapping[str, float]] | Sequence[Measurement]) -> Matrix:
    """Rows x FEATURES as floats (accepts Measurements or plain mappings)."""
    table = [
        [float(r[f] if isinstance(r, Mapping) else getattr(r, f)) for f in FEATURES] for r in rows
    ]
    return np.asarray(table, dtype=np.float64).reshape(len(table), len(FEATURES))


@dataclass
class SegmentRegressor:
    """A fitted model ms = f(FLOPs, params, in bytes, out bytes[, segment]) for one tier."""

    kind: str
    estimator: Any
    scale: Matrix
    anchors: dict[int, tuple[Matrix, float]]
    """Per segment: features and median ms at keep 1 (used by ``anchored``)."""

    def predict(self, x: Matrix, segments: Sequence[int]) -> npt.NDArray[np.float64]:
        """Predicted ms of rows `x`, which are segments `segments` of the model."""
        if self.kind == "linear":
            out = self.estimator.predict(x / self.scale)
        elif self.kind == "anchored":
            base_x, base_ms = self._anchor(segments)
            out = base_ms * np.exp(self.estimator.predict(np.log1p(x) - np.log1p(base_x)))
        else:
            out = np.exp(self.estimator.predict(np.log1p(x)))
        return np.maximum(np.asarray(out, dtype=np.float64), 1e-6)

    def _anchor(self, segments: Sequence[int]) -> tuple[Matrix, npt.NDArray[np.float64]]:
        missing = [s for s in segments if s not in self.anchors]
        if missing:
            raise ProfileError(f"segment {missing[0]} has no unpruned measurement to scale from")
        base_x = np.vstack([self.anchors[s][0] for s in segments])
        return base_x, np.asarray([self.anchors[s][1] for s in segments], dtype=np.float64)


def fit_regressor(rows: Sequence[Measurement], kind: str) -> SegmentRegressor:
    """Fit one family on the measurements `rows` (one tier)."""
    from sklearn.ensemble import GradientBoostingRegressor
    from sklearn.linear_model import LinearRegression

    x = feature_matrix(rows)
    y = np.asarray([r.median_ms for r in rows], dtype=np.float64)
    if len(y) < 2:
        raise ProfileError(f"need at least 2 measurements to fit a regressor, got {len(y)}")
    scale = np.maximum(x.max(axis=0), 1.0)
    anchors = {
        r.segment: (feature_matrix([r]), r.median_ms)
        for r in rows
        if r.keep_in == 1.0 and r.keep_out == 1.0
    }
    if kind == "linear":
        estimator: Any = LinearRegression(positive=True).fit(x / scale, y)
    elif kind == "anchored":
        fit = SegmentRegressor(kind, None, scale, anchors)
        base_x, base_ms = fit._anchor([r.segment for r in rows])
        estimator = LinearRegression(fit_intercept=False).fit(
            np.log1p(x) - np.log1p(base_x), np.log(y) - np.log(base_ms)
        )
    elif kind == "loglinear":
        estimator = LinearRegression().fit(np.log1p(x), np.log(y))
    elif kind == "gbr":
        estimator = GradientBoostingRegressor(
            n_estimators=300, max_depth=2, learning_rate=0.05, subsample=1.0, random_state=0
        ).fit(np.log1p(x), np.log(y))
    else:
        raise ProfileError(f"unknown regressor {kind!r} (valid: {', '.join(KINDS)})")
    return SegmentRegressor(kind=kind, estimator=estimator, scale=scale, anchors=anchors)


def heldout_keeps(keeps: Sequence[float]) -> tuple[float, ...]:
    """Keep fractions to hold out: every other one strictly inside the measured range.

    From 1, 0.75, 0.5, 0.25, 0.125 it holds out 0.75 and 0.25, so the fit sees the extremes and
    the test is interpolation, as when a plan asks for an unmeasured width inside the grid.
    """
    ordered = sorted(set(keeps), reverse=True)
    return tuple(ordered[1:-1:2])


def _errors_pct(predicted: npt.NDArray[np.float64], measured: Sequence[float]) -> list[float]:
    return [abs(p - m) / m * 100.0 for p, m in zip(predicted.tolist(), measured, strict=True)]


def evaluate(
    rows: Sequence[Measurement], test_keeps: Sequence[float] | None = None
) -> dict[str, Any]:
    """Held-out error of every family per tier, and the family chosen for each tier.

    Returns ``{"heldout_keeps": [...], "tiers": {tier: {"chosen": kind, "kinds": {kind:
    {"median_pct", "mean_pct", "max_pct", "n_train", "n_test"}}}}}``; the family with the
    lowest mean error is chosen (the mean, not the median, so a family that is good on most
    segments but far off on some loses). With fewer than three keep fractions nothing can be
    held out and every tier falls back to ``anchored``.
    """
    keeps = sorted({r.keep for r in rows}, reverse=True)
    test = tuple(heldout_keeps(keeps) if test_keeps is None else test_keeps)
    report: dict[str, Any] = {"heldout_keeps": list(test), "tiers": {}}
    for tier in TIERS:
        tier_rows = [r for r in rows if r.tier == tier]
        if not tier_rows:
            continue
        train = [r for r in tier_rows if not any(math.isclose(r.keep, k) for k in test)]
        held = [r for r in tier_rows if any(math.isclose(r.keep, k) for k in test)]
        kinds: dict[str, dict[str, float | int]] = {}
        if held and len(train) >= 2:
            for kind in KINDS:
                fitted = fit_regressor(train, kind)
                predicted = fitted.predict(feature_matrix(held), [r.segment for r in held])
                errors = _errors_pct(predicted, [r.median_ms for r in held])
                kinds[kind] = {
                    "median_pct": statistics.median(errors),
                    "mean_pct": statistics.fmean(errors),
                    "max_pct": max(errors),
                    "n_train": len(train),
                    "n_test": len(held),
                }
        chosen = (
            min(kinds, key=lambda k: (kinds[k]["mean_pct"], kinds[k]["max_pct"]))
            if kinds
            else "anchored"
        )
        report["tiers"][tier] = {"chosen": chosen, "kinds": kinds}
    return report


def fit_tiers(
    rows: Sequence[Measurement], chosen: Mapping[str, str]
) -> dict[str, SegmentRegressor]:
    """One regressor per tier on all its measurements, of the family `chosen` for that tier."""
    fitted: dict[str, SegmentRegressor] = {}
    for tier in TIERS:
        tier_rows = [r for r in rows if r.tier == tier]
        if tier_rows:
            fitted[tier] = fit_regressor(tier_rows, chosen.get(tier, "anchored"))
    return fitted
