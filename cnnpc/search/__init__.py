"""Joint search over compression (Optuna) with exact partition planning for each candidate."""

from __future__ import annotations

from cnnpc.search._configs import (
    distributions,
    normalise,
    parameters,
    split_aware_grid,
    to_params,
)
from cnnpc.search._confirm import DEFAULT_MAX_CONFIRM, Confirmation, confirm
from cnnpc.search._correction import Corrected, Correction, CorrectionPrior
from cnnpc.search._measure import AccuracySource, CachedAccuracies, Measurement
from cnnpc.search._objective import SEARCH_OBJECTIVES, SearchObjective
from cnnpc.search._oracle_source import OracleSource, oracle_source
from cnnpc.search._ranking import Candidate, Walk, candidates, confirm_walk, walk_state
from cnnpc.search._rows import TableRows, table_rows
from cnnpc.search._runner import SearchRunner, run_search
from cnnpc.search._settings import SearchSettings, with_keep_grid
from cnnpc.search._strategies import STRATEGIES
from cnnpc.search._summary import Exactness, ParetoPoint, SearchResult, TrialEvent
from cnnpc.search._surrogate import AccuracySurrogate, Prediction
from cnnpc.search._unmeasured import UNMEASURED, Unmeasured
from cnnpc.search._workers import DEFAULT_GRACE_S, DEFAULT_HEARTBEAT_S, WORKER_ENV, Liveness

__all__ = [
    "DEFAULT_GRACE_S",
    "DEFAULT_HEARTBEAT_S",
    "DEFAULT_MAX_CONFIRM",
    "SEARCH_OBJECTIVES",
    "STRATEGIES",
    "UNMEASURED",
    "WORKER_ENV",
    "AccuracySource",
    "AccuracySurrogate",
    "CachedAccuracies",
    "Candidate",
    "Confirmation",
    "Corrected",
    "Correction",
    "CorrectionPrior",
    "Exactness",
    "Liveness",
    "Measurement",
    "OracleSource",
    "ParetoPoint",
    "Prediction",
    "SearchObjective",
    "SearchResult",
    "SearchRunner",
    "SearchSettings",
    "TableRows",
    "TrialEvent",
    "Unmeasured",
    "Walk",
    "candidates",
    "confirm",
    "confirm_walk",
    "distributions",
    "normalise",
    "oracle_source",
    "parameters",
    "run_search",
    "split_aware_grid",
    "table_rows",
    "to_params",
    "walk_state",
    "with_keep_grid",
]
