from __future__ import annotations

import dataclasses
import math
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import numpy as np
import pytest
from factories import best_plan, plan, populate, spec, trial

import cnnpc.storage._storage as storage_module
from cnnpc.errors import InputError
from cnnpc.records import Origin
from cnnpc.storage import BestPlan, CacheEntry, Storage, StorageError, TrialInput


@pytest.fixture
def storage(tmp_path):
    with Storage(f"sqlite:///{tmp_path / 'cnnpc.db'}") as s:
        yield s


def test_same_spec_resumes_the_same_search(storage):
    first = storage.get_or_create_search(spec())
    assert first.id == 1 and first.study_name == "cnnpc-1"
    assert first.status == "running" and first.message is None
    assert first.extra == {"conventions": "si"}
    # code_version is not part of the identity; ints equal to floats are the same spec
    again = storage.get_or_create_search(spec(code_version="0.2.0", bandwidth_mbps=10, seed=0))
    assert again.id == first.id and again.code_version == "0.1.0"
    other = storage.get_or_create_search(spec(bandwidth_mbps=5.0))
    assert other.id == 2 and other.study_name == "cnnpc-2"
    assert storage.get_or_create_search(spec(extra={"conventions": "cnnpc"})).id == 3
    assert [s.id for s in storage.list_searches()] == [1, 2, 3]
    assert storage.get_search(2).links.bandwidth_mbps == 5.0


def test_records_are_frozen_and_times_are_utc(storage):
    search = storage.get_or_create_search(spec())
    with pytest.raises(dataclasses.FrozenInstanceError):
        search.status = "finished"  # type: ignore[misc]
    assert search.created_at.tzinfo is UTC
    # a naive time is taken as UTC; an aware one is converted
    naive = datetime(2025, 1, 2, 3, 4, 5)
    plus_two = datetime(2025, 1, 2, 5, 4, 5, tzinfo=timezone(timedelta(hours=2)))
    record = storage.record_trial(
        search.id,
        TrialInput(0, {}, None, "complete", started_at=naive, finished_at=plus_two),
    )
    assert record.started_at == datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert record.finished_at == record.started_at
    assert record.duration_s == 0.0


def test_a_stored_search_is_its_spec_and_prints_every_field_in_the_old_order(storage):
    search = storage.get_or_create_search(spec())
    assert search.key() == spec().key()  # a record is the spec it was asked as
    names = set(dataclasses.asdict(search)) - {"links"} | {"uplink_mbps", "bandwidth_mbps"}
    shown = search.as_dict()
    assert set(shown) == names
    assert list(shown) == [
        *("id", "study_name", "model", "device", "workload", "uplink_mbps", "bandwidth_mbps"),
        *("mode", "target", "strategy", "seed", "budget_key", "epochs", "code_version", "extra"),
        *("status", "message", "created_at", "updated_at"),
    ]


def test_set_search_status(storage):
    search = storage.get_or_create_search(spec())
    updated = storage.set_search_status(search.id, "infeasible", "floor 0.99 > baseline 0.93")
    assert updated.status == "infeasible" and updated.message == "floor 0.99 > baseline 0.93"
    assert storage.get_search(search.id).status == "infeasible"
    assert updated.updated_at >= search.updated_at
    with pytest.raises(InputError, match="search status must be one of"):
        storage.set_search_status(search.id, "done")


def test_unknown_search_id_is_a_one_line_error(storage):
    message = "no search with id 42 (see 'cnnpc searches')"
    for call in (
        lambda: storage.get_search(42),
        lambda: storage.list_trials(42),
        lambda: storage.pareto_front(42),
        lambda: storage.summary(42),
        lambda: storage.get_best_plan(42),
        lambda: storage.set_best_plan(42, best_plan(0, 10.0)),
        lambda: storage.record_trial(42, trial(0, 10.0, 0.9)),
    ):
        with pytest.raises(StorageError) as info:
            call()
        assert str(info.value) == message


def test_record_trial_upserts_by_optuna_number(storage):
    search = storage.get_or_create_search(spec())
    running = storage.record_trial(search.id, trial(3, 30.0, None, state="running"))
    assert running.state == "running" and running.finished_at is None
    done = storage.record_trial(search.id, trial(3, 30.0, 0.9, feasible=True, finetune_seconds=4))
    assert done.id == running.id
    assert done.state == "complete" and done.val_accuracy == 0.9 and done.feasible is True
    assert done.finetuned is True and done.finetune_seconds == 4.0
    assert done.mode == "end_edge" and done.splits == ("block10",)
    assert done.latency_ms == 30.0 and done.traffic_bytes == 30 * 1024.0
    assert done.breakdown["overhead_ms"] == 1.66
    assert done.duration_s == 30.0
    assert done.plan == plan(30.0)
    assert len(storage.list_trials(search.id)) == 1
    failed = storage.record_trial(search.id, trial(4, None, None, state="failed"))
    assert failed.plan is None and failed.latency_ms is None and failed.splits == ()
    empty = dataclasses.replace(trial(5, None, None, state="failed"), plan={})
    assert storage.record_trial(search.id, empty).plan is None


def test_summary_pareto_and_sorting(storage):
    search = populate(storage)
    summary = storage.summary(search.id)
    assert (summary.n_trials, summary.n_complete, summary.n_pruned) == (8, 5, 1)
    assert (summary.n_failed, summary.n_running) == (1, 1)
    assert summary.finetunes == 3 and summary.finetune_seconds == pytest.approx(7.5)
    assert summary.best is not None and summary.best.optuna_number == 1
    assert storage.best_trial(search.id) == summary.best
    assert [t.optuna_number for t in storage.pareto_front(search.id)] == [2, 1, 4]

    numbers = [t.optuna_number for t in storage.list_trials(search.id)]
    assert numbers == list(range(8))
    by_latency = [t.optuna_number for t in storage.list_trials(search.id, sort="latency")]
    assert by_latency == [7, 2, 3, 1, 6, 4, 0, 5]  # no latency last; same latency: better acc
    by_acc = [t.optuna_number for t in storage.list_trials(search.id, sort="accuracy")]
    assert by_acc == [4, 0, 1, 6, 2, 7, 3, 5]  # unmeasured last, by latency
    feasible = storage.list_trials(search.id, feasible_only=True, sort="latency", limit=2)
    assert [t.optuna_number for t in feasible] == [1, 6]
    with pytest.raises(InputError, match="sort must be one of"):
        storage.list_trials(search.id, sort="speed")
    with pytest.raises(InputError, match="limit must be >= 1"):
        storage.list_trials(search.id, limit=0)


def test_best_follows_the_objective_and_summaries_cover_every_search(storage):
    floor = populate(storage)
    budget = populate(storage, mode="latency_budget", target=45.0)
    empty = storage.get_or_create_search(spec(seed=1))
    by_id = {s.search.id: s for s in storage.summaries()}
    assert by_id[floor.id].best.optuna_number == 1  # fastest feasible
    assert by_id[budget.id].best.optuna_number == 4  # most accurate feasible
    assert by_id[empty.id].best is None and by_id[empty.id].n_trials == 0
    assert by_id[empty.id].finetune_seconds == 0.0
    assert storage.best_trial(budget.id) == by_id[budget.id].best  # the same one query
    assert storage.best_trial(empty.id) is None


def test_a_search_stores_its_fine_tune_epochs(storage):
    """Deploy reopens the oracle with them: a column, not parsed back out of the budget key."""
    assert storage.get_or_create_search(spec()).epochs == 2
    assert storage.get_or_create_search(spec(seed=5, epochs=None)).epochs is None
    with pytest.raises(InputError, match="epochs must be an integer >= 1"):
        storage.get_or_create_search(spec(seed=6, epochs=0))


def test_get_trial(storage):
    search = populate(storage)
    storage.record_trial(search.id, trial(8, 25.0, None, state="running"))
    assert storage.get_trial(search.id, 8).state == "running"
    assert storage.get_trial(search.id, 99) is None


def test_accuracy_cache_is_shared_and_first_write_wins(storage):
    first = storage.put_cached_accuracy(
        CacheEntry(
            "mobilenet",
            "digits",
            "epochs=2",
            "block1=0.5",
            0.9,
            0.89,
            12.5,
            1000,
            2_000_000_000_0,
            Origin.table("acc.csv", 3),
        )
    )
    assert first.flops == 20_000_000_000 and first.origin == Origin.table("acc.csv", 3)
    again = storage.put_cached_accuracy(
        CacheEntry("mobilenet", "digits", "epochs=2", "block1=0.5", 0.5, None, None, None, None)
    )
    assert again == first
    got = storage.get_cached_accuracy("mobilenet", "digits", "epochs=2", "block1=0.5")
    assert got == first
    assert storage.get_cached_accuracy("mobilenet", "digits", "epochs=3", "block1=0.5") is None
    storage.put_cached_accuracy(
        CacheEntry("mobilenet", "digits", "epochs=2", "", 0.93, 0.92, 10, 2, 3)
    )
    storage.put_cached_accuracy(
        CacheEntry("mobilenet", "digits", "epochs=3", "", 0.94, 0.93, 20, 2, 3)
    )
    cell = storage.cached_accuracies("mobilenet", "digits", "epochs=2")
    assert [(c.config_key, c.val_accuracy) for c in cell] == [("block1=0.5", 0.9), ("", 0.93)]


def test_accuracy_cache_race_returns_the_winner(tmp_path, monkeypatch):
    """The row appears between our read and our insert: the insert's conflict is absorbed."""
    url = f"sqlite:///{tmp_path / 'race.db'}"
    ours, theirs = Storage(url), Storage(url)
    real = storage_module.cache_query
    calls = []

    def racing_query(*args):
        calls.append(args)
        if len(calls) == 1:  # our first read misses; meanwhile the other worker inserts
            theirs.put_cached_accuracy(
                CacheEntry(*args, "k", 0.7, 0.6, 1.0, 1, 1, Origin.table("them.csv", 1))
            )
            return real(*args).where(storage_module.AccuracyCacheModel.id < 0)
        return real(*args)

    monkeypatch.setattr(storage_module, "cache_query", racing_query)
    result = ours.put_cached_accuracy(
        CacheEntry("m", "w", "b", "k", 0.9, 0.9, 1.0, 1, 1, Origin.table("us.csv", 1))
    )
    assert result.origin == Origin.table("them.csv", 1) and result.val_accuracy == 0.7
    assert len(calls) == 3  # our read, their read (same module), our re-run after the conflict
    monkeypatch.setattr(storage_module, "cache_query", real)
    assert len(ours.cached_accuracies("m", "w", "b")) == 1


def test_best_plan_is_replaced(storage):
    search = storage.get_or_create_search(spec())
    assert storage.get_best_plan(search.id) is None
    storage.set_best_plan(search.id, best_plan(3, 50.0))
    stored = best_plan(5, 40.0, splits=("a", "b"))
    best = storage.set_best_plan(search.id, dataclasses.replace(stored, latency_ms=np.float64(40)))
    assert best.plan == stored and isinstance(best.plan.latency_ms, float)  # plain JSON back
    assert storage.get_best_plan(search.id) == best


def test_best_plan_json_form_round_trips_with_its_keys():
    best = best_plan(2, 40.0)
    data = best.as_dict()
    assert BestPlan.from_dict(data) == best
    assert data["speedup_vs_best_single_tier"] == 2.0 and data["accuracy_split"] == "test"
    assert data["tiers"] == {
        "end": ["conv1", "block1", "block10"],
        "edge": ["block11"],
        "cloud": [],
    }
    assert data["traffic_reduction_vs_uncompressed"] == 0.5
    assert data["breakdown"]["total_ms"] == pytest.approx(40.0)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("tiers"), "tiers is missing or not an object"),
        (lambda d: d["tiers"].pop("edge"), "tiers.edge is missing or not a list of names"),
        (lambda d: d.update(latency_ms="fast"), "latency_ms is missing or not a number"),
        (lambda d: d["breakdown"].pop("cloud_ms"), "breakdown.cloud_ms is missing or not a"),
        (lambda d: d["keep"].update(block1=None), "keep.block1 is missing or not a number"),
        (lambda d: d.update(trial=1.5), "trial is missing or not an integer"),
    ],
)
def test_an_unreadable_stored_best_plan_is_one_line(storage, change, message):
    from cnnpc.storage._models import BestPlanModel

    search = storage.get_or_create_search(spec())
    storage.set_best_plan(search.id, best_plan(1, 40.0))
    with storage.session_scope() as session:  # as an older or damaged database would hold it
        row = session.query(BestPlanModel).one()
        payload = best_plan(1, 40.0).as_dict()
        change(payload)
        row.payload = payload
    with pytest.raises(StorageError, match=message) as info:
        storage.get_best_plan(search.id)
    assert str(info.value).startswith(f"search {search.id}'s stored best plan is not readable")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("record", "message"),
    [
        (trial(0, 10.0, 0.9, keep={"block1": 1.5}), "keep fraction of block1 must be in"),
        (trial(0, 10.0, math.nan), "val_accuracy must be finite"),
        (trial(0, 10.0, 0.9, keep={"block1": None}), "keep fraction of block1 is required"),
        (trial(0, 10.0, 1.2), "val_accuracy must be in"),
        (trial(0, 10.0, 0.9, state="done"), "trial state must be one of"),
        (dataclasses.replace(trial(0, 10.0, 0.9), optuna_number=-1), "optuna_number must be"),
        (dataclasses.replace(trial(0, 1.0, 0.9), plan={"mode": "x"}), "plan must have latency_ms"),
        (dataclasses.replace(trial(0, 1.0, 0.9), plan={"latency_ms": math.inf}), "NaN or inf"),
    ],
)
def test_bad_trial_input_is_refused_before_writing(storage, record, message):
    search = storage.get_or_create_search(spec())
    with pytest.raises(InputError, match=message):
        storage.record_trial(search.id, record)
    assert storage.list_trials(search.id) == []


def test_bad_json_and_spec_are_refused(storage):
    search = storage.get_or_create_search(spec())
    nan_message = "best plan payload cannot be stored as JSON: it holds NaN or infinity"
    with pytest.raises(InputError, match=nan_message):
        storage.set_best_plan(
            search.id, dataclasses.replace(best_plan(0, 10.0), val_accuracy=math.nan)
        )
    with pytest.raises(InputError, match="object is not JSON-serialisable"):
        odd: Any = object()
        storage.set_best_plan(search.id, best_plan(0, 10.0, keep={"block1": odd}))
    with pytest.raises(InputError, match="mode must be one of"):
        storage.get_or_create_search(spec(mode="fastest"))
    with pytest.raises(InputError, match="target is required"):
        storage.get_or_create_search(spec(target=None))
    with pytest.raises(InputError, match="bandwidth_mbps must be a finite number"):
        storage.get_or_create_search(spec(bandwidth_mbps="fast"))
    with pytest.raises(InputError, match="model must not be empty"):
        storage.get_or_create_search(spec(model=" "))
    assert storage.get_best_plan(search.id) is None
    assert len(storage.list_searches()) == 1
