from __future__ import annotations

import json

import pytest
from storage.factories import plan, populate, spec

from cnnpc.export import SCHEMA_VERSION, ExportError, export_json
from cnnpc.storage import Storage, StorageError


@pytest.fixture
def storage(tmp_path):
    with Storage(f"sqlite:///{tmp_path / 'cnnpc.db'}") as s:
        yield s


def test_deployment_plan_document(storage, tmp_path):
    search = populate(storage)
    path = tmp_path / "plan.json"
    returned = export_json(storage, search.id, path)
    written = json.loads(path.read_text())
    assert written == returned
    assert written["schema_version"] == SCHEMA_VERSION == 1
    assert written["kind"] == "cnnpc.deployment_plan"
    assert written["search"]["id"] == search.id
    assert written["search"]["study_name"] == "cnnpc-1"
    assert written["search"]["bandwidth_mbps"] == 10.0
    assert written["storage"] == f"sqlite:///{tmp_path / 'cnnpc.db'}"
    best = written["plan"]
    assert best == {
        "trial_number": 1,
        "mode": "end_edge",
        "splits": ["block10"],
        "keep": {"block1": 0.5},
        "latency_ms": 40.0,
        "breakdown": plan(40.0)["breakdown"],
        "traffic_bytes": 40 * 1024.0,
        "val_accuracy": 0.90,
        "test_accuracy": pytest.approx(0.89),
    }
    assert written["report"]["speedup_vs_best_single_tier"] == 2.0
    assert written["spend"] == {
        "trials": 8,
        "complete": 5,
        "pruned": 1,
        "failed": 1,
        "running": 1,
        "finetunes": 3,
        "finetune_seconds": 7.5,
    }
    assert [p["trial_number"] for p in written["pareto"]] == [2, 1, 4]


def test_best_feasible_trial_is_used_without_a_stored_best_plan(storage, tmp_path):
    from storage.factories import trial

    search = storage.get_or_create_search(spec())
    storage.record_trial(search.id, trial(0, 60.0, 0.95, feasible=True, finetune_seconds=1))
    storage.record_trial(search.id, trial(1, 55.0, 0.91, feasible=True, finetune_seconds=1))
    written = export_json(storage, search.id, tmp_path / "plan.json")
    assert written["plan"]["trial_number"] == 1 and written["report"] is None


def test_nothing_feasible_is_an_error_and_writes_nothing(storage, tmp_path):
    search = storage.get_or_create_search(spec())
    storage.set_search_status(search.id, "infeasible", "floor 0.99 is above the baseline 0.93")
    path = tmp_path / "plan.json"
    with pytest.raises(ExportError) as info:
        export_json(storage, search.id, path)
    assert str(info.value) == (
        "search 1 has no feasible plan to export "
        "(status: infeasible: floor 0.99 is above the baseline 0.93)"
    )
    assert not path.exists()
    with pytest.raises(StorageError, match="no search with id 7"):
        export_json(storage, 7, path)
    assert not path.exists()
