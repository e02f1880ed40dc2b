"""Every finished Optuna trial carries cnnpc's numbers as user attributes (optuna-dashboard)."""

from __future__ import annotations

import optuna
import pytest

from cnnpc.export import layout_text
from cnnpc.search import SearchSettings, run_search

PLAN_ATTRS = {"latency_ms", "layout", "splits", "kept_channels", "traffic_kb"}


def test_every_finished_trial_has_the_attributes(source, storage):
    settings = SearchSettings(
        model="mobilenet", device="MI8", bandwidth_mbps=10.0, acc_floor=0.93, trials=20, seed=2
    )
    result = run_search(settings, source, storage)
    study = optuna.load_study(study_name=f"cnnpc-{result.search_id}", storage=storage.url)
    records = {t.optuna_number: t for t in storage.list_trials(result.search_id)}
    finished = [t for t in study.trials if t.state.is_finished()]
    assert len(finished) == 20
    states = {t.state for t in finished}
    assert optuna.trial.TrialState.PRUNED in states, "the search skips some candidates"
    for trial in finished:
        attrs, record = trial.user_attrs, records[trial.number]
        assert attrs.keys() >= PLAN_ATTRS
        assert attrs["latency_ms"] == pytest.approx(record.latency_ms, abs=1e-4)
        assert attrs["layout"] == layout_text(record.mode, record.splits)
        assert attrs["splits"] == (" ".join(record.splits) or "none")
        assert attrs["traffic_kb"] == pytest.approx(record.traffic_bytes / 1024.0, abs=1e-3)
        if trial.state == optuna.trial.TrialState.COMPLETE:
            assert attrs["val_accuracy"] == record.val_accuracy
            assert attrs["test_accuracy"] == record.test_accuracy
            assert attrs["accuracy_from"] == ("fine-tune" if record.finetuned else "cache")
            assert "skipped_reason" not in attrs
        else:
            assert attrs["skipped_reason"] == record.reason
            assert "val_accuracy" not in attrs
    baseline = study.trials[0].user_attrs
    assert baseline["kept_channels"] == "all" and baseline["accuracy_from"] == "fine-tune"
    pruned = [t for t in finished if t.user_attrs["kept_channels"] != "all"]
    assert pruned, "some trial prunes a candidate"
    for trial in pruned:  # 'block6 16/32': kept of all channels, for each pruned candidate
        for item in trial.user_attrs["kept_channels"].split(", "):
            name, fraction = item.split()
            kept, total = map(int, fraction.split("/"))
            assert 1 <= kept < total and name in records[trial.number].keep


def test_layout_text():
    assert layout_text("end_edge_cloud", ("block6", "block13")) == (
        "end: input..block6 \u2192 edge: ..block13 \u2192 cloud: rest"
    )
    assert layout_text("end_cloud", ("block10",)) == (
        "end: input..block10 \u2192 cloud: rest (relayed by the edge)"
    )
    assert layout_text("edge_only", ()) == "edge: everything"
    assert layout_text("cloud_only", ()) == "cloud: everything (input relayed by the edge)"
