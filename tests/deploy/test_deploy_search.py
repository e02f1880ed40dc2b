"""deploy(): a stored search's best plan, from the model the oracle fine-tuned, written at once."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from deploy.plans import SPACE, compose
from storage.factories import best_plan, spec

from cnnpc._files import WriteError
from cnnpc.compression import FinetuneBudget
from cnnpc.deploy import DeployError, DeployInputs, deploy
from cnnpc.oracle import AccuracyOracle, MemoryCache, ModelStore, trained_baseline
from cnnpc.planner import planner_for
from cnnpc.records import PLAN_FILE, KeepConfig, load_plan
from cnnpc.search._oracle_source import OracleSource
from cnnpc.storage import BestPlan, Storage, StorageError, Tiers

pytestmark = pytest.mark.slow
KEEP = {"block1": 0.5, "block10": 0.25}


@pytest.fixture(scope="module")
def oracle(data, tmp_path_factory, shared_cache, tiny_recipe):
    root = tmp_path_factory.mktemp("oracle")
    baseline = trained_baseline("mobilenet", data, 0, shared_cache, tiny_recipe)
    budget = FinetuneBudget(epochs=1, steps_per_epoch=2)
    return AccuracyOracle(
        baseline, data, SPACE, budget, 0, MemoryCache(), models=ModelStore(root / "models")
    )


def _best(a: int, b: int) -> BestPlan:
    """Search 3's best plan: end runs segments [0, a), edge [a, b), cloud the rest."""
    names = [s.name for s in planner_for("mobilenet", "MI8", bandwidth_mbps=10).profile.segments]
    return dataclasses.replace(
        best_plan(3, 30.0, splits=("block1", "block10"), keep=KEEP),
        mode="end_edge_cloud",
        tiers=Tiers(tuple(names[:a]), tuple(names[a:b]), tuple(names[b:])),
    )


@pytest.fixture(scope="module")
def store(oracle, tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'r.db'}"
    with Storage(url) as storage:
        key = OracleSource(oracle).budget_key
        good = storage.get_or_create_search(spec(budget_key=key, seed=0))
        storage.set_best_plan(good.id, _best(2, 5))
        empty = storage.get_or_create_search(spec(budget_key=key, seed=1))
        other = storage.get_or_create_search(spec(budget_key="epochs=9,seed=0,id=x", seed=2))
        storage.set_best_plan(other.id, _best(2, 5))
    return url, good.id, empty.id, other.id


def test_deploy_writes_the_plan_from_the_tuned_model(oracle, store, data, tmp_path):
    url, good, _, _ = store
    result = deploy(good, tmp_path / "plan", DeployInputs(storage_url=url, oracle=oracle))
    assert result.finetuned  # the tiny search kept no weights: fine-tuned now, and stored
    plan = load_plan(tmp_path / "plan")
    raw = json.loads((tmp_path / "plan" / PLAN_FILE).read_text())
    assert raw["search"]["id"] == good and raw["model"] == "mobilenet"
    assert raw["plan"]["channels"]["block1"] == 8 and raw["plan"]["channels"]["block10"] == 16
    assert (
        raw["predicted"]["breakdown"]["total_ms"] == 30.0 and raw["predicted"]["latency_ms"] == 30
    )
    assert raw["workload"]["image_size"] == 32
    assert [p.span for p in plan.parts.values()] == [(0, 2), (2, 5), (5, 8)]
    up, down = plan.links
    assert up.spec.shape == (1, 16, 16, 8) and up.bytes == 16 * 16 * 8  # block1 keeps 8 of 16
    assert down.spec.shape == (1, 2, 2, 16) and down.bandwidth_mbps == 10.0
    assert up.bandwidth_mbps == 20.0 and up.mbit_bits == 1e6
    runs = oracle.finetunes
    tuned = oracle.tuned_model(KEEP)  # the same model, loaded from the store
    assert oracle.finetunes == runs
    images = data.test.x[:60]
    composed = compose(plan, images)
    agree = np.mean(composed.argmax(1) == tuned.predict(images, verbose=0).argmax(1))
    assert agree >= 0.95


def test_bad_requests_are_one_line_errors(oracle, store, tmp_path):
    url, good, empty, other = store
    with pytest.raises(StorageError, match="no search with id 99"):
        deploy(99, tmp_path / "a", DeployInputs(storage_url=url, oracle=oracle))
    with pytest.raises(DeployError, match="no feasible best plan"):
        deploy(empty, tmp_path / "b", DeployInputs(storage_url=url, oracle=oracle))
    with pytest.raises(DeployError, match="cannot be rebuilt"):
        deploy(other, tmp_path / "c", DeployInputs(storage_url=url, oracle=oracle))
    (tmp_path / "exists").mkdir()
    (tmp_path / "exists" / "notes.txt").write_text("mine")
    with pytest.raises(WriteError, match="already exists"):
        deploy(good, tmp_path / "exists", DeployInputs(storage_url=url, oracle=oracle))
    with pytest.raises(WriteError, match="is not a cnnpc plan folder; refusing to replace it"):
        deploy(good, tmp_path / "exists", DeployInputs(storage_url=url, oracle=oracle, force=True))
    with pytest.raises(WriteError, match="does not exist"):
        deploy(good, tmp_path / "no" / "such", DeployInputs(storage_url=url, oracle=oracle))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exists"]
    assert [p.name for p in (tmp_path / "exists").iterdir()] == ["notes.txt"]


def test_deploy_with_codecs_writes_each_links_codec_by_price(oracle, store, data, tmp_path):
    """--bits 8,4,2 --entropy zstd: each link gets the codec the planner prices cheapest with
    zstd's ratio measured on the deployed parts, recorded in plan.json; the plan then serves
    them, sending about the bytes it predicts."""
    from cnnpc.codec import Codec, CodecChoice
    from cnnpc.runtime import PlanClient, running_servers

    url, good, _, _ = store
    choice = CodecChoice((8, 4, 2), "zstd")
    inputs = DeployInputs(storage_url=url, oracle=oracle, codecs=choice)
    result = deploy(good, tmp_path / "coded", inputs)
    plan = load_plan(tmp_path / "coded")
    raw = json.loads((tmp_path / "coded" / PLAN_FILE).read_text())
    assert [lk.codec for lk in plan.links] == [Codec(2, "zstd")] * 2  # no codec time priced yet
    assert raw["links"][0]["codec"] == {"bits": 2, "entropy": "zstd"}
    assert raw["links"][0]["entropy_ratio"] > 1 and plan.links[0].entropy_ratio is not None
    assert "links coded (bits 8/4/2, entropy zstd)" in raw["predicted"]["source"]
    from cnnpc.jobs._deploy import plan_text

    table = plan_text(result.plan, "x")
    assert "coded bytes" in table and table.count("2 bits + zstd") == 2
    plain = [dataclasses.replace(lk, codec=Codec(), entropy_ratio=None) for lk in plan.links]
    assert "coded bytes" not in plan_text(dataclasses.replace(result.plan, links=tuple(plain)), "y")
    predicted = result.plan.head.predicted
    assert predicted is not None
    planner = planner_for("mobilenet", "MI8", bandwidth_mbps=10)
    int8 = planner.plan(2, 5, KeepConfig.from_fractions(planner.profile.space, KEEP)).breakdown
    for key, link in zip(("uplink_bytes", "downlink_bytes"), plan.links, strict=True):
        # the profile's tensors (224x224 input) x 2 / 8 over the ratio measured at 32x32
        factor = 2 / 8 / (link.entropy_ratio or 1.0)
        assert predicted.breakdown[key] == pytest.approx(getattr(int8, key) * factor)
    with running_servers(plan, shape=False) as edge, PlanClient(plan, edge) as client:
        # the images the ratio was measured on: priced bytes are the bytes sent
        sent = [client.infer(x).sent_bytes["end->edge"] for x in data.val.x[:128]]
    assert np.mean(sent) == pytest.approx(plan.links[0].predicted_bytes, rel=0.01)


CODED_KEEP = {"block1": 0.5, "block1@bits": 2.0, "block10": 0.25}


@pytest.fixture(scope="module")
def coded_search(oracle, store):
    """A search with --bits 8,4,2 --entropy zstd whose best plan sends block1 at 2 bits."""
    url = store[0]
    with Storage(url) as storage:
        key = OracleSource(oracle).budget_key
        extra = {"conventions": "si", "bits": [8, 4, 2], "entropy": "zstd"}
        coded = storage.get_or_create_search(spec(budget_key=key, seed=4, extra=extra))
        storage.set_best_plan(
            coded.id, dataclasses.replace(_best(2, 5), keep=dict(CODED_KEEP), trial=4)
        )
    return url, coded.id


def test_a_plan_fine_tuned_at_2_bits_deploys_serves_and_runs_as_measured(
    oracle, coded_search, data, tmp_path
):
    """The search's own codecs: block1's tensor at its 2 bits (the width it was fine-tuned
    through), block10's int8, both through the search's zstd; the parts are cut from the model
    without its split quantizer (the codec rounds instead), so the served plan answers as the
    fine-tuned model does and sends the bytes plan.json predicts."""
    from cnnpc.codec import Codec
    from cnnpc.compression._splitquant import has_split_quantizers
    from cnnpc.deploy._search import tuned_at_size
    from cnnpc.runtime import PlanClient, running_servers

    url, coded = coded_search
    result = deploy(coded, tmp_path / "bits", DeployInputs(storage_url=url, oracle=oracle))
    plan = load_plan(tmp_path / "bits")
    raw = json.loads((tmp_path / "bits" / PLAN_FILE).read_text())
    assert [lk.codec for lk in plan.links] == [Codec(2, "zstd"), Codec(8, "zstd")]
    assert raw["plan"]["keep"] == CODED_KEEP
    assert raw["plan"]["channels"]["block1"] == 8
    assert "the search's: block1 2 bits, entropy zstd" in raw["predicted"]["source"]
    predicted = result.plan.head.predicted
    assert predicted is not None and predicted.breakdown["uplink_bytes"] > 0
    tuned = oracle.tuned_model({"block1": 0.5, "block10": 0.25}, {"block1": 2})
    names = [layer.name for layer in tuned.layers]
    assert "quant_cnnpc_split_quantize_block1" in names  # what was measured had the quantizer
    deployed = tuned_at_size(oracle, CODED_KEEP, None)[0]  # what was cut: the codec rounds
    assert len(deployed.layers) == len(names) - 1 and not has_split_quantizers(deployed)
    images, labels = data.test.x[:96], data.test.y[:96]
    want = tuned.predict(images, verbose=0).argmax(1)
    with running_servers(plan, shape=False) as edge, PlanClient(plan, edge) as client:
        got = np.array([client.infer(x).label for x in images])
        sent = [client.infer(x).sent_bytes["end->edge"] for x in data.val.x[:128]]
    assert np.mean(got == want) >= 0.9
    assert abs(np.mean(got == labels) - np.mean(want == labels)) <= 0.05
    assert np.mean(sent) == pytest.approx(plan.links[0].predicted_bytes, rel=0.01)
    assert plan.links[0].predicted_bytes < plan.links[0].bytes * 2 / 8  # 2 bits, then zstd


def test_a_coded_search_keeps_its_codecs(oracle, coded_search, tmp_path):
    """--bits on a search that chose its widths, and the deployments not built for it yet
    (upload folders, plan sets), are one-line refusals before any model is built."""
    from cnnpc.codec import CodecChoice
    from cnnpc.deploy import deploy_adaptive, deploy_upload
    from cnnpc.errors import InputError

    url, coded = coded_search
    runs = oracle.finetunes
    inputs = DeployInputs(storage_url=url, oracle=oracle, codecs=CodecChoice((8, 4)))
    with pytest.raises(InputError, match="deploy it without --bits/--entropy"):
        deploy(coded, tmp_path / "a", inputs)
    plain = DeployInputs(storage_url=url, oracle=oracle)
    with pytest.raises(InputError, match="an upload folder of such a search is not built yet"):
        deploy_upload(coded, tmp_path / "b", inputs=plain)
    with pytest.raises(InputError, match="a plan set of such a search is not built yet"):
        deploy_adaptive(coded, tmp_path / "c", low_mbps=1, high_mbps=50, inputs=plain)
    assert oracle.finetunes == runs and not list(tmp_path.iterdir())
