"""A multi-objective search's front: Optuna's own `best_trials`, read from the study in our
database and returned as cnnpc's trial records (nothing else stores it: one truth)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cnnpc.storage._records import TrialRecord

if TYPE_CHECKING:
    from cnnpc.storage._storage import Storage


def study_front(storage: Storage, search_id: int) -> list[TrialRecord]:
    """The non-dominated feasible trials of a multi-objective search (`--objective pareto`),
    by latency, each point once; empty for a single-objective search or a study without
    a complete trial."""
    import optuna

    from cnnpc.storage._url import optuna_engine_kwargs

    search = storage.get_search(search_id)
    if search.extra.get("objective") != "pareto":
        return []
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    rdb = optuna.storages.RDBStorage(storage.url, engine_kwargs=optuna_engine_kwargs(storage.url))
    try:
        study = optuna.load_study(study_name=search.study_name, storage=rdb)
    except KeyError:  # the search row exists, its study not yet
        return []
    values = {t.number: tuple(t.values) for t in study.best_trials}
    front: dict[tuple[float, ...], TrialRecord] = {}
    for trial in storage.list_trials(search_id):  # by number: a re-suggested configuration
        point = values.get(trial.optuna_number)  # (the same three values) is listed once
        if point is not None:
            front.setdefault(point, trial)
    return sorted(front.values(), key=lambda t: (t.latency_ms or 0.0, t.optuna_number))
