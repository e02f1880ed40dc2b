"""Durability: a search killed with SIGKILL mid-trial loses no finished trial and resumes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from cnnpc.storage import Storage

SCRIPT = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, {here!r})
    from synthetic_source import SyntheticSource
    from cnnpc.search import Liveness, SearchSettings, run_search
    from cnnpc.storage import Storage

    class Slow(SyntheticSource):
        def measure(self, config):
            time.sleep({delay})
            return super().measure(config)

    settings = SearchSettings(model="mobilenet", device="MI8", bandwidth_mbps=10.0,
                              acc_floor=0.93, strategy="random", trials={trials}, seed=3)
    result = run_search(settings, Slow(), Storage({url!r}), liveness=Liveness(1, 3))
    print("DONE", result.search_id, result.trials)
    """
)


def _script(url: str, trials: int, delay: float) -> str:
    return SCRIPT.format(here=str(Path(__file__).parent), url=url, trials=trials, delay=delay)


def test_kill_9_loses_no_finished_trial_and_resume_completes(tmp_path):
    url = f"sqlite:///{tmp_path / 'cnnpc.db'}"
    Storage(url).close()
    proc = subprocess.Popen([sys.executable, "-c", _script(url, 12, 0.4)])
    storage = Storage(url)
    deadline = time.monotonic() + 120
    finished = []
    while time.monotonic() < deadline:
        searches = storage.list_searches()
        if searches:
            finished = [t for t in storage.list_trials(searches[0].id) if t.state != "running"]
            running = [t for t in storage.list_trials(searches[0].id) if t.state == "running"]
            if len(finished) >= 3 and running:
                break
        time.sleep(0.05)
    assert proc.poll() is None, "the search ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    search_id = storage.list_searches()[0].id
    before = {t.optuna_number: t for t in storage.list_trials(search_id) if t.state != "running"}
    assert len(before) >= 3
    assert any(t.state == "running" for t in storage.list_trials(search_id))

    done = subprocess.run(
        [sys.executable, "-c", _script(url, 12, 0.0)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert f"DONE {search_id} 12" in done.stdout
    after = {t.optuna_number: t for t in storage.list_trials(search_id)}
    for number, trial in before.items():  # nothing finished was lost or changed
        assert after[number].state == trial.state
        assert after[number].val_accuracy == trial.val_accuracy
    states = [t.state for t in after.values()]
    assert "running" not in states
    assert states.count("failed") == 1  # the trial the kill interrupted
    assert sum(s in ("complete", "pruned") for s in states) == 12
