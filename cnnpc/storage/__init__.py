"""Where searches live: SQLAlchemy tables (Alembic-migrated) beside Optuna's, in one database.

    storage = Storage(resolve_url(args.storage))
    search = storage.get_or_create_search(spec)         # resumes an equal spec
    optuna.create_study(study_name=search.study_name, storage=RDBStorage(storage.url, ...))

Records going in and out are frozen dataclasses; every failure is a one-line StorageError.
"""

from __future__ import annotations

from cnnpc.storage._cache_io import CacheEntry, ImportCount
from cnnpc.storage._claims import Claim
from cnnpc.storage._errors import (
    NoDatabaseError,
    StorageBusyError,
    StorageConflictError,
    StorageError,
)
from cnnpc.storage._front import study_front
from cnnpc.storage._open import existing_storage, open_around
from cnnpc.storage._plan import Baselines, BestPlan, Tiers, breakdown_from
from cnnpc.storage._queries import objective_value
from cnnpc.storage._records import (
    BestPlanRecord,
    CachedAccuracy,
    SearchRecord,
    SearchSpec,
    SearchSummary,
    TrialInput,
    TrialRecord,
)
from cnnpc.storage._schema import VERSION_TABLE
from cnnpc.storage._storage import TRIAL_SORTS, Storage
from cnnpc.storage._url import DEFAULT_URL, ENV_VAR, display_url, optuna_engine_kwargs, resolve_url

__all__ = [
    "DEFAULT_URL",
    "ENV_VAR",
    "TRIAL_SORTS",
    "VERSION_TABLE",
    "Baselines",
    "BestPlan",
    "BestPlanRecord",
    "CacheEntry",
    "CachedAccuracy",
    "Claim",
    "ImportCount",
    "NoDatabaseError",
    "SearchRecord",
    "SearchSpec",
    "SearchSummary",
    "Storage",
    "StorageBusyError",
    "StorageConflictError",
    "StorageError",
    "Tiers",
    "TrialInput",
    "TrialRecord",
    "breakdown_from",
    "display_url",
    "existing_storage",
    "objective_value",
    "open_around",
    "optuna_engine_kwargs",
    "resolve_url",
    "study_front",
]
