"""Several processes on one SQLite file at once: WAL, the busy timeout and re-runs on lost
races must leave every row written exactly once and no worker failing."""

from __future__ import annotations

import multiprocessing as mp
import sqlite3
import traceback

from factories import best_plan, populate, spec, trial

from cnnpc.records import Origin
from cnnpc.storage import CacheEntry, Storage

WORKERS = 4
TRIALS_PER_WORKER = 12
SHARED_CONFIGS = 8


def _worker(url: str, worker: int, barrier, errors) -> None:
    try:
        barrier.wait(timeout=30)
        with Storage(url) as storage:  # all start on an empty file: one migrates, all succeed
            search = storage.get_or_create_search(spec())
            for i in range(TRIALS_PER_WORKER):
                number = worker * 100 + i
                keep = {"block1": 1.0 - i / 100}
                running = trial(number, 30.0 + i, None, state="running", keep=keep)
                storage.record_trial(search.id, running)
                storage.record_trial(search.id, trial(number, 30.0 + i, 0.9, keep=keep))
                key = f"config-{i % SHARED_CONFIGS}"
                origin = Origin.table(f"worker-{worker}.csv", i)
                storage.put_cached_accuracy(
                    CacheEntry("m", "w", "b", key, 0.8, 0.8, 1.0, 1, 1, origin)
                )
                storage.set_best_plan(search.id, best_plan(number, 30.0 + i))
    except BaseException:
        errors.put(f"worker {worker}: {traceback.format_exc()}")


def test_workers_share_one_sqlite_file(tmp_path):
    path = tmp_path / "shared.db"
    url = f"sqlite:///{path}"
    ctx = mp.get_context("fork")
    barrier, errors = ctx.Barrier(WORKERS), ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(url, w, barrier, errors)) for w in range(WORKERS)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    failures = []
    while not errors.empty():
        failures.append(errors.get())
    assert failures == []
    assert [p.exitcode for p in procs] == [0] * WORKERS

    with Storage(url) as storage:
        [search] = storage.list_searches()
        trials = storage.list_trials(search.id)
        assert len(trials) == WORKERS * TRIALS_PER_WORKER
        assert {t.state for t in trials} == {"complete"}
        expected = {w * 100 + i for w in range(WORKERS) for i in range(TRIALS_PER_WORKER)}
        assert {t.optuna_number for t in trials} == expected
        cache = storage.cached_accuracies("m", "w", "b")
        assert sorted(c.config_key for c in cache) == [f"config-{i}" for i in range(8)]
        assert storage.get_best_plan(search.id) is not None
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT COUNT(*) FROM cnnpc_alembic_version").fetchone() == (1,)


def test_a_reader_is_not_blocked_by_a_writer(tmp_path):
    """WAL: `cnnpc searches` can read while a search holds the write lock."""
    path = tmp_path / "wal.db"
    url = f"sqlite:///{path}"
    with Storage(url) as storage:
        populate(storage)
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE cnnpc_searches SET message = 'writing'")
    try:
        with Storage(url) as reader:
            assert reader.summaries()[0].n_trials == 8
            assert reader.get_search(1).message is None  # uncommitted write invisible
    finally:
        writer.execute("ROLLBACK")
        writer.close()
