"""A worker killed (SIGKILL, by itself, at an exact point) anywhere in a trial: the next worker
takes its work over within the grace period, the study ends at exactly the asked total, and no
finished trial is lost or left running; on SQLite and on PostgreSQL.

The victim is a real process running `run_search` with the synthetic source; it looks remote
(another worker name, CNNPC_WORKER) so that nothing but the heartbeat can tell it is dead. It
wraps Optuna's public Study.ask / Study.tell, the source's fine-tune or the storage's claim to
send itself SIGKILL right there. The survivor is started once the victim is dead.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import pytest

from cnnpc.storage import Storage

HEARTBEAT_S, GRACE_S = 1, 3
TRIALS = 8

SCRIPT = textwrap.dedent(
    """
    import os, signal, sys, time
    sys.path.insert(0, {here!r})
    import optuna
    from synthetic_source import SyntheticSource
    from cnnpc.search import Liveness, SearchSettings, run_search
    from cnnpc.storage import Storage

    POINT = {point!r}

    def die():
        os.kill(os.getpid(), signal.SIGKILL)

    class Slow(SyntheticSource):
        def measure(self, config):
            if POINT == "in_finetune" and self.calls:  # the fine-tune after trial 0's
                die()
            if POINT == "first_finetune":
                die()
            time.sleep(0.1)
            return super().measure(config)

    if POINT == "after_ask":
        real_ask, asks = optuna.Study.ask, []

        def ask(self, *args, **kwargs):
            trial = real_ask(self, *args, **kwargs)
            asks.append(trial.number)
            if len(asks) == {asks}:  # the trials before are done: this ask, before anything else
                die()
            return trial

        optuna.Study.ask = ask
    if POINT == "after_tell":
        real_tell, told = optuna.Study.tell, []

        def tell(self, *args, **kwargs):
            frozen = real_tell(self, *args, **kwargs)
            if frozen.state == optuna.trial.TrialState.COMPLETE:
                told.append(frozen.number)
                if len(told) == 2:  # Optuna knows the second completed trial, cnnpc does not
                    die()
            return frozen

        optuna.Study.tell = tell
    if POINT == "holding_claim":
        real_claim = Storage.try_claim

        def try_claim(self, name, owner, **kwargs):
            got = real_claim(self, name, owner, **kwargs)
            if got and name.endswith(":baseline-trial"):  # the mutex over trial 0
                die()
            return got

        Storage.try_claim = try_claim

    settings = SearchSettings(model="mobilenet", device="MI8", bandwidth_mbps=10.0,
                              acc_floor=0.93, strategy="random", trials={trials}, seed=3)
    result = run_search(settings, Slow(), Storage({url!r}),
                        liveness=Liveness({heartbeat}, {grace}))
    print("DONE", result.search_id, result.trials)
    """
)


def _worker(url: str, point: str, name: str | None, asks: int = 3) -> subprocess.Popen[str]:
    script = SCRIPT.format(
        here=str(Path(__file__).parent),
        point=point,
        asks=asks,
        trials=TRIALS,
        url=url,
        heartbeat=HEARTBEAT_S,
        grace=GRACE_S,
    )
    env = dict(os.environ)
    env.pop("CNNPC_WORKER", None)
    if name is not None:
        env["CNNPC_WORKER"] = name
    return subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _exact_and_agreeing(storage: Storage, url: str, study_name: str, search_id: int):
    """The study ended at exactly TRIALS, nothing is left running, Optuna and cnnpc agree."""
    import optuna

    trials = {t.optuna_number: t for t in storage.list_trials(search_id)}
    states = Counter(t.state for t in trials.values())
    assert states["running"] == 0
    assert states["complete"] + states["pruned"] == TRIALS
    study = optuna.load_study(study_name=study_name, storage=url)
    optuna_states = Counter(t.state.name for t in study.get_trials())
    assert optuna_states["COMPLETE"] + optuna_states["PRUNED"] == TRIALS  # exactly the total
    assert optuna_states["RUNNING"] == optuna_states["WAITING"] == 0
    for t in study.get_trials():  # Optuna and cnnpc agree on every trial either recorded
        if t.state.name in ("COMPLETE", "PRUNED"):
            assert trials[t.number].state == t.state.name.lower()
        if t.state.name == "COMPLETE":
            assert trials[t.number].latency_ms == pytest.approx(t.value)
    return trials, study


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'shared.db'}"
    return request.getfixturevalue("postgres_url_factory")()


@pytest.mark.parametrize("point", ["after_ask", "in_finetune", "after_tell", "holding_claim"])
def test_a_worker_killed_anywhere_is_taken_over(url, point):
    Storage(url).close()
    victim = _worker(url, point, "remote-host")
    _, err = victim.communicate(timeout=120)
    died = time.time()
    assert victim.returncode == -signal.SIGKILL, err
    storage = Storage(url)
    searches = storage.list_searches()
    before = {}
    if searches:
        before = {
            t.optuna_number: t for t in storage.list_trials(searches[0].id) if t.state != "running"
        }
        if point == "after_tell":  # the kill fell between Optuna's tell and cnnpc's record
            (gap,) = [t for t in storage.list_trials(searches[0].id) if t.state == "running"]

    survivor = _worker(url, "none", None)
    out, err = survivor.communicate(timeout=180)
    assert survivor.returncode == 0, err
    (search,) = storage.list_searches()
    assert f"DONE {search.id} {TRIALS}" in out

    trials, study = _exact_and_agreeing(storage, url, search.study_name, search.id)
    for number, trial in before.items():  # nothing the victim finished was lost or changed
        assert trials[number].state == trial.state
        assert trials[number].val_accuracy == trial.val_accuracy

    failed = [t for t in trials.values() if t.state == "failed"]
    if point in ("after_ask", "in_finetune"):  # the victim's running trial was taken over
        (dead,) = failed
        delay = dead.finished_at.timestamp() - died
        print(f"\n{point}: trial {dead.optuna_number} taken over {delay:.2f} s after the kill")
        assert GRACE_S - HEARTBEAT_S - 0.5 <= delay <= GRACE_S + 6, delay
        attrs = study.get_trials()[dead.optuna_number].user_attrs
        if point == "after_ask":
            assert "worker" not in attrs  # killed before it had an owner
        else:
            assert attrs["worker"].startswith("remote-host:")
    else:
        assert failed == []
    if point == "after_tell":
        fixed = trials[gap.optuna_number]
        assert fixed.state == "complete" and fixed.val_accuracy is not None  # from the cache
        assert fixed.finetuned  # its fine-tune is counted once, where it was spent
    if point == "holding_claim":  # nothing ran until the dead holder's claim went stale
        first = min(t.started_at.timestamp() for t in trials.values())
        print(f"\n{point}: trial 0 started {first - died:.2f} s after the kill")
        assert GRACE_S - 0.5 <= first - died <= GRACE_S + 6
    storage.close()


@pytest.mark.parametrize("point", ["after_ask", "first_finetune"])
def test_a_worker_running_beside_the_dead_one_takes_over(url, point):
    """Both workers run; the victim (started first, so it takes trial 0) dies after asking its
    second trial, or inside its first fine-tune while it holds trial 0's claims. The survivor
    fails the dead trial and takes the claims over once their heartbeat is GRACE_S old (an
    ownerless trial: GRACE_S after the survivor first sees it, which it looks for once a
    heartbeat between its own trials, so the bound allows a beat and a trial on either side)."""
    Storage(url).close()
    victim = _worker(url, point, "remote-host", asks=2)
    time.sleep(0.5)
    survivor = _worker(url, "none", None)
    while victim.poll() is None:
        time.sleep(0.02)
    died = time.time()
    assert victim.returncode == -signal.SIGKILL, victim.communicate()[1]
    out, err = survivor.communicate(timeout=180)
    assert survivor.returncode == 0, err
    storage = Storage(url)
    (search,) = storage.list_searches()
    assert f"DONE {search.id} {TRIALS}" in out
    trials, study = _exact_and_agreeing(storage, url, search.study_name, search.id)
    (dead,) = [t for t in trials.values() if t.state == "failed"]
    delay = dead.finished_at.timestamp() - died
    print(f"\nbeside, {point}: trial {dead.optuna_number} taken over {delay:.2f} s after the kill")
    assert GRACE_S - HEARTBEAT_S - 0.5 <= delay <= GRACE_S + 3 * HEARTBEAT_S + 2, delay
    workers = {t.user_attrs.get("worker", "").split(":")[0] for t in study.get_trials()}
    assert "remote-host" in workers  # the victim did own trials: it looked remote
    storage.close()
