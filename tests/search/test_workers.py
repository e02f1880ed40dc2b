"""Several `cnnpc search` processes on one search share the work: no trial lost or run twice,
no configuration fine-tuned twice, exactly the asked total, on SQLite and on PostgreSQL.

Each worker is a real process running the CLI entry point; only the fine-tune is replaced by
the synthetic source (with a delay, so that the workers overlap).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import pytest

from cnnpc.records import keep_key
from cnnpc.storage import Storage

WORKER = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, {here!r})
    from synthetic_source import SyntheticSource
    import cnnpc.search as mod
    from cnnpc.cli import main

    class Slow(SyntheticSource):
        def measure(self, config):
            time.sleep({delay})
            return super().measure(config)

    source = Slow()
    mod.oracle_source = lambda *a, **k: source
    code = main({args!r})
    print("FINETUNES", len(source.calls))
    sys.exit(code)
    """
)

TRIALS = 14


def _run_workers(url: str, workers: int, strategy: str = "random") -> list[str]:
    args = [
        "search", "--model", "mobilenet", "--device", "MI8", "--bandwidth", "10",
        "--acc-floor", "0.93", "--strategy", strategy, "--trials", str(TRIALS),
        "--seed", "3", "--storage", url, "--json",
    ]  # fmt: skip
    script = WORKER.format(here=str(Path(__file__).parent), delay=0.3, args=args)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(workers)
    ]
    outputs = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        outputs.append(out)
    return outputs


def _check_shared(url: str, outputs: list[str], workers: int) -> None:
    import optuna

    storage = Storage(url)
    (search,) = storage.list_searches()
    trials = storage.list_trials(search.id)
    numbers = [t.optuna_number for t in trials]
    assert len(numbers) == len(set(numbers))  # no trial recorded twice
    assert sum(t.state in ("complete", "pruned") for t in trials) == TRIALS
    assert all(t.state != "running" for t in trials)
    assert not any(t.state == "failed" for t in trials)  # nobody died
    # every fine-tune was of a new configuration, and the cache has exactly those rows
    tuned = [keep_key(t.keep) for t in trials if t.finetuned]
    assert len(tuned) == len(set(tuned))
    spent = sum(int(o.split("FINETUNES")[1]) for o in outputs)
    rows = storage.cached_accuracies("mobilenet", "synthetic", "synthetic-v1")
    assert spent == len(rows) == len(tuned)  # trial 0's measurement is trial 0's too
    # Optuna agrees: exactly the asked total finished; any other trial lost the last-slot race
    study = optuna.load_study(study_name=search.study_name, storage=url)
    states = Counter(t.state.name for t in study.get_trials())
    assert states["COMPLETE"] + states["PRUNED"] == TRIALS
    assert all(t.user_attrs.get("surplus") for t in study.get_trials() if t.state.name == "FAIL")
    assert states["FAIL"] <= workers - 1
    who = Counter(t.user_attrs["worker"] for t in study.get_trials() if "worker" in t.user_attrs)
    assert len(who) == workers, f"the work was not shared: {who}"
    baseline = [t for t in trials if t.keep == {}]
    assert [t.optuna_number for t in baseline][:1] == [0]  # trial 0 is the unpruned model
    storage.close()


def test_two_workers_share_a_sqlite_search(tmp_path):
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    outputs = _run_workers(url, 2)
    _check_shared(url, outputs, 2)


@pytest.mark.parametrize("strategy", ["tpe", "exhaustive"])
def test_three_workers_share_a_postgresql_search(postgres_url_factory, strategy):
    url = postgres_url_factory()
    outputs = _run_workers(url, 3, strategy)
    _check_shared(url, outputs, 3)
