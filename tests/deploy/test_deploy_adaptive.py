"""deploy --adaptive: every plan best somewhere in a range, parts shared, each plan runnable."""

from __future__ import annotations

import json

import numpy as np
import pytest
from deploy.plans import SPACE, compose
from storage.factories import spec

from cnnpc.compression import FinetuneBudget
from cnnpc.deploy import DeployError, DeployInputs, deploy_adaptive
from cnnpc.oracle import AccuracyOracle, MemoryCache, ModelStore, trained_baseline
from cnnpc.records import PLAN_FILE, PLANSET_FILE, PlanError, keep_key, load_plan_set
from cnnpc.search._oracle_source import OracleSource
from cnnpc.storage import CacheEntry, Storage

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def setup(data, tmp_path_factory, shared_cache, tiny_recipe):
    root = tmp_path_factory.mktemp("oracle")
    baseline = trained_baseline("mobilenet", data, 0, shared_cache, tiny_recipe)
    budget = FinetuneBudget(epochs=1, steps_per_epoch=2)
    oracle = AccuracyOracle(
        baseline, data, SPACE, budget, 0, MemoryCache(), models=ModelStore(root / "models")
    )
    source = OracleSource(oracle)
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'r.db'}"
    with Storage(url) as storage:
        floor = storage.get_or_create_search(spec(budget_key=source.budget_key, target=0.5))
        budget_search = storage.get_or_create_search(
            spec(budget_key=source.budget_key, mode="latency_budget", target=40.0, seed=1)
        )
        # the accuracy a search measured (made up here: the unpruned model meets the floor)
        storage.put_cached_accuracy(
            CacheEntry(
                "mobilenet", source.workload, source.budget_key, keep_key({}), 0.9, 0.9, 1, 1, 1
            )
        )
    return oracle, url, floor.id, budget_search.id


def test_plan_set_shares_parts_and_every_plan_runs(setup, data, tmp_path):
    oracle, url, search, _ = setup
    out = tmp_path / "set"
    result = deploy_adaptive(
        search,
        out,
        low_mbps=2.0,
        high_mbps=16.0,
        inputs=DeployInputs(storage_url=url, oracle=oracle),
    )
    table, plans = load_plan_set(out)
    # MI8 profile, unpruned: block10 goes to the edge up to 15.6 Mbps, then block16 to the cloud
    assert [(p.label, p.mode, p.splits) for p in table.plans] == [
        ("P1", "end_edge", ("block10",)),
        ("P2", "end_edge_cloud", ("block10", "block16")),
    ]
    (switch,) = table.switches
    assert 15.0 < switch.crossover_mbps < 16.0
    assert switch.down_mbps < switch.crossover_mbps
    raw = json.loads((out / PLANSET_FILE).read_text())
    assert raw["design_plan"] == "P1" and result.plan.design_plan == "P1"
    design = json.loads((out / PLAN_FILE).read_text())
    assert design == json.loads((out / "plan-P1.json").read_text())
    # the end part [0, 5) is the same in both plans: 4 files for 5 parts
    assert len(list(out.glob("*.tflite"))) == 4
    assert plans["P1"].part_path("end") == plans["P2"].part_path("end")
    assert plans["P1"].part_path("edge") != plans["P2"].part_path("edge")
    images = data.test.x[:40]
    tuned = oracle.tuned_model({}).predict(images, verbose=0).argmax(1)
    for plan in plans.values():
        assert np.mean(compose(plan, images).argmax(1) == tuned) >= 0.95


def test_bad_requests(setup, tmp_path):
    _, url, _, budget_search = setup
    with pytest.raises(DeployError, match="needs a search with --acc-floor"):
        deploy_adaptive(
            budget_search,
            tmp_path / "a",
            low_mbps=2,
            high_mbps=9,
            inputs=DeployInputs(storage_url=url),
        )
    (tmp_path / "b").mkdir()
    with pytest.raises(PlanError, match=r"no planset\.json"):
        load_plan_set(tmp_path / "b")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b"]
