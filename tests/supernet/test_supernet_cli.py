"""`cnnpc search --accuracy supernet` end to end with synthetic sources (the supernet's
estimates, then fine-tunes): two searches, the answer is the confirming one's."""

from __future__ import annotations

import json

from test_supernet_confirm import Estimates, SyntheticSource

import cnnpc.search
import cnnpc.supernet
from cnnpc.cli._main import main


def test_search_on_estimates_answers_with_a_fine_tuned_plan(tmp_path, monkeypatch, capsys):
    estimates = Estimates(budget_key="supernet:cli")
    truth = estimates.confirms_with = SyntheticSource(budget_key="finetune:cli")
    estimates.estimates = 0
    monkeypatch.setattr(cnnpc.supernet, "check_supernet", lambda model: None)
    monkeypatch.setattr(cnnpc.search, "oracle_source", lambda *a, **k: truth)
    monkeypatch.setattr(cnnpc.supernet, "supernet_source", lambda *a, **k: estimates)
    argv = ["search", "--model", "mobilenet", "--device", "MI8SE", "--bandwidth", "10"]
    argv += ["--acc-floor", "0.93", "--strategy", "cnnpc", "--trials", "40"]
    argv += ["--accuracy", "supernet", "--storage", f"sqlite:///{tmp_path / 'c.db'}"]
    assert main([*argv, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    found = report["supernet"]
    assert found["confirmed"] and found["tried"] == found["finetunes"] >= 1
    assert report["search_id"] != found["estimate_search_id"]
    assert report["finetunes"] == found["finetunes"] == len(truth.calls)
    assert report["best"]["val_accuracy"] >= 0.93
    assert main(argv) == 0  # again: everything from the caches, printed as text
    out = capsys.readouterr().out
    assert f"supernet: search {found['estimate_search_id']} ranked" in out
    assert f"the answer is search {report['search_id']}" in out
    assert len(truth.calls) == found["finetunes"]
