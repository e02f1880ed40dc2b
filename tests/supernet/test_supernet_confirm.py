"""A search on (optimistic) estimates is confirmed by fine-tunes: runners-up until one meets
the floor; every stored trial says whether its accuracy is estimated or fine-tuned."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

from cnnpc.records import Origin, split_config
from cnnpc.search import Measurement, SearchSettings, confirm, run_search
from cnnpc.search._recording import ESTIMATED_REASON

sys.path.insert(0, str(Path(__file__).parents[1] / "search"))
from synthetic_source import SyntheticSource

FLOOR = 0.93
SETTINGS = SearchSettings(
    model="mobilenet",
    device="MI8SE",
    bandwidth_mbps=10.0,
    acc_floor=FLOOR,
    strategy="exhaustive",
    trials=300,
)


class Estimates(SyntheticSource):
    """Half the real loss: the estimates' fastest feasible plans fail on fine-tuning."""

    trains = False

    def accuracy(self, config: Mapping[str, float]) -> float:
        return self.baseline - (self.baseline - super().accuracy(config)) / 2

    def measure(self, config: Mapping[str, float]) -> Measurement:
        m = super().measure(config)
        estimate = Origin.estimate("test-supernet", {})
        return Measurement(m.val_accuracy, m.test_accuracy, 0.0, 0, 0, estimate)


@pytest.fixture
def storage(tmp_path):
    from cnnpc.storage import Storage

    store = Storage(f"sqlite:///{tmp_path / 'cnnpc.db'}")
    store.upgrade()
    return store


def test_confirmation_walks_runners_up_until_one_meets_the_floor(storage):
    estimates = Estimates(budget_key="supernet:test")
    truth = SyntheticSource(budget_key="finetune:test")
    estimated = run_search(SETTINGS, estimates, storage)
    rows = storage.list_trials(estimated.search_id)
    complete = [t for t in rows if t.state == "complete"]
    assert complete and all(not t.finetuned and t.reason == ESTIMATED_REASON for t in complete)
    assert estimated.finetunes == 0

    found, result = confirm(SETTINGS, estimated, storage, truth, max_finetunes=50)
    assert found.confirmed and found.tried >= 2  # the estimates' best failed the floor
    assert found.finetunes == found.tried == len(truth.calls)
    assert result.search_id != estimated.search_id
    assert result.best is not None and result.best.val_accuracy >= FLOOR
    assert result.best.latency_ms >= estimated.best.latency_ms
    tuned = storage.list_trials(result.search_id)
    assert len(tuned) == found.tried and all(t.finetuned for t in tuned)
    assert [t.feasible for t in tuned] == [False] * (found.tried - 1) + [True]
    by_latency = sorted(t.latency_ms for t in tuned)
    assert [t.latency_ms for t in tuned] == by_latency  # best estimate first

    again, same = confirm(SETTINGS, estimated, storage, truth, max_finetunes=50)
    assert again.finetunes == 0 and same.search_id == result.search_id
    assert same.best == result.best and len(truth.calls) == found.tried


def test_a_cap_stops_the_walk_unconfirmed(storage):
    estimated = run_search(SETTINGS, Estimates(budget_key="supernet:cap"), storage)
    truth = SyntheticSource(budget_key="finetune:cap")
    found, result = confirm(SETTINGS, estimated, storage, truth, max_finetunes=1)
    assert not found.confirmed and found.finetunes == 1
    assert result.best is None and "no plan confirmed" in (result.message or "")


class BitsTruth(SyntheticSource):
    """Fine-tuned accuracies that lose 0.01 per split tensor sent at 2 bits."""

    def accuracy(self, config: Mapping[str, float]) -> float:
        fractions, bits = split_config(config)
        return super().accuracy(fractions) - 0.01 * len(bits)


class BitsEstimates(Estimates, BitsTruth):
    """Half the real loss of `BitsTruth` (Estimates' halving over its accuracy)."""


def test_confirmation_fine_tunes_the_widths_the_estimates_chose(storage):
    """Estimates at 2 bits are confirmed by fine-tunes at 2 bits: each confirming trial keeps
    its configuration's widths (and completes)."""
    import dataclasses

    settings = dataclasses.replace(SETTINGS, bits=(8, 2), keep_grid=(0.25, 0.5, 1.0))
    estimated = run_search(settings, BitsEstimates(budget_key="supernet:bits"), storage)
    truth = BitsTruth(budget_key="finetune:bits")
    found, result = confirm(settings, estimated, storage, truth, max_finetunes=20)
    tuned = storage.list_trials(result.search_id)
    assert found.confirmed and tuned and all(t.state == "complete" for t in tuned)
    asked = [split_config(c)[1] for c in truth.calls]
    assert any(asked)  # a configuration below 8 bits was fine-tuned as such
    assert [t.bits for t in tuned] == asked
    assert result.best is not None and result.best.val_accuracy >= FLOOR
