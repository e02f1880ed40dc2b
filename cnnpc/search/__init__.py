"""Joint search over compression (Optuna) with exact partition planning for each candidate."""

from __future__ import annotations

from cnnpc.search._configs import config_key, normalise, parameters, split_aware_grid
from cnnpc.search._measure import AccuracySource, CachedAccuracies, Measurement
from cnnpc.search._runner import SearchResult, SearchRunner, TrialEvent, run_search
from cnnpc.search._settings import SearchSettings
from cnnpc.search._strategies import STRATEGIES

__all__ = [
    "STRATEGIES",
    "AccuracySource",
    "CachedAccuracies",
    "Measurement",
    "SearchResult",
    "SearchRunner",
    "SearchSettings",
    "TrialEvent",
    "config_key",
    "normalise",
    "parameters",
    "run_search",
    "split_aware_grid",
]
