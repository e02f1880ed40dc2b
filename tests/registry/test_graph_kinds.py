"""Every graph kind goes through models add, profile import, plan (block and layer), pruning as
priced, deployment and inference over loopback."""

from __future__ import annotations

import json

import numpy as np
import pytest
from deploy.plans import compose
from registry.graph_kinds import CLASSES, KINDS, SIZE

from cnnpc.cli._main import main
from cnnpc.compression import prune_channels
from cnnpc.deploy import Layout, build_deployment, plan_document, write_plan_folder
from cnnpc.models import build_model
from cnnpc.models._measure import tensor_hwc
from cnnpc.profiles import load_profile
from cnnpc.records import KeepConfig, LinkSetting, PlanHead, load_plan
from cnnpc.runtime import PlanClient, running_servers
from cnnpc.spaces import load_space

pytestmark = pytest.mark.slow

EXPECTED = {
    # kind: (candidates that must exist, layers that must not be candidates)
    "seq": ({"c1_relu", "pool1", "flat", "fc"}, {"c1", "c1_bn"}),
    "res": ({"stem_relu", "r0_out", "r1_out", "p_out", "gap"}, {"r0a_relu", "r0_add", "p_a"}),
    "inv": ({"stem_relu", "b0_add", "b1_expand_relu", "b1_dw_relu", "b2_add"}, {"b0_dw_relu"}),
    "dense": ({"stem_relu", "d0_cat", "d1_cat", "d2_cat", "trans_pool"}, {"d0_conv"}),
    "incep": ({"stem_relu", "mix", "after_relu"}, {"br1_relu", "br3a_relu", "brp_pool"}),
}


@pytest.fixture(scope="module")
def roots(tmp_path_factory):
    root = tmp_path_factory.mktemp("registry")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CNNPC_MODELS", str(root / "models"))
        mp.setenv("CNNPC_PROFILES", str(root / "profiles"))
        yield root


def _cli_json(capsys, *argv: str) -> dict:
    capsys.readouterr()
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def _add_and_profile(roots, capsys, kind: str) -> dict:
    path = roots / f"{kind}.keras"
    KINDS[kind]().save(path)
    report = _cli_json(capsys, "models", "add", kind, "--keras", str(path))
    n = len(report["candidates"]) + 1
    times = roots / f"{kind}.csv"
    rows = [f"{k},{0.5 + k},{0.2 + 0.1 * k},{0.05}" for k in range(n)]
    times.write_text("segment,end_ms,edge_ms,cloud_ms\n" + "\n".join(rows) + "\n")
    assert main(["profile", "import", "--model", kind, "--device", "dev", "--csv", str(times)]) == 0
    return report


@pytest.mark.parametrize("kind", list(KINDS))
def test_graph_kind_end_to_end(roots, capsys, tmp_path, kind):
    report = _add_and_profile(roots, capsys, kind)
    names = {c["name"] for c in report["candidates"]}
    must, must_not = EXPECTED[kind]
    assert must <= names, must - names
    assert not (must_not & names)

    block = _cli_json(capsys, "plan", "--model", kind, "--device", "dev", "--bandwidth", "10")
    layer = _cli_json(
        capsys,
        "plan",
        "--model",
        kind,
        "--device",
        "dev",
        "--bandwidth",
        "10",
        "--granularity",
        "layer",
    )
    assert layer["best"]["latency_ms"] <= block["best"]["latency_ms"] + 1e-6

    space = load_space(kind)
    profile = load_profile(kind, "dev")
    prunable = [c for c in space.candidates if c.prunable]
    assert prunable, "every kind has something to prune"
    target = max(prunable, key=lambda c: len(space.group_of(c.name)) * 1000 + c.channels)
    keep = dict.fromkeys(space.group_of(target.name), 0.5)
    model = build_model(kind, CLASSES, SIZE)
    pruned = prune_channels(model, space, keep)
    priced = KeepConfig.from_fractions(profile.space, keep).channels
    tensors = {t.name: t for t in profile.candidates}
    for name in keep:
        cand = space.candidates[space.index(name)]
        h, w, c = tensor_hwc(pruned.model.get_layer(cand.layers[-1]))
        assert c == priced[name] == len(pruned.kept[name]), name
        assert h * w * c == tensors[name].elements * priced[name] // cand.channels
    images = np.random.default_rng(0).uniform(0, 1, (6, SIZE, SIZE, 3)).astype(np.float32)
    assert pruned.model.predict(images, verbose=0).shape == (6, CLASSES)

    n = len(space.candidates) + 1
    a = space.index(target.name) + 1
    layout = Layout(a, min(a + 1, n - 1) if a < n - 1 else a, n)
    parts, links, files = build_deployment(
        pruned.model, space, layout, images, LinkSetting(uplink_mbps=20.0, bandwidth_mbps=10.0)
    )
    meta = {
        "model": kind,
        "workload": {"name": "random", "image_size": SIZE, "classes": list(range(CLASSES))},
        "search": {"id": 1},
        "plan": {"channels": {k: len(v) for k, v in pruned.kept.items()}},
        "predicted": {"latency_ms": 1.0, "breakdown": {"total_ms": 1.0}},
    }
    head = PlanHead.parse(meta, "test")
    write_plan_folder(tmp_path / "plan", plan_document(head, SIZE, parts, links, files), files)
    plan = load_plan(tmp_path / "plan")
    with running_servers(plan, shape=True) as edge, PlanClient(plan, edge, shape=True) as client:
        labels = [client.infer(x).label for x in images[:3]]
    assert labels == list(compose(plan, images[:3]).argmax(1))


def test_shipped_models_are_registry_entries_derived_by_the_same_analysis():
    from cnnpc.layergraph.generate import to_csv
    from cnnpc.registry._add import tensors_csv
    from cnnpc.registry._analyse import analyse
    from cnnpc.upload._params import load_params

    for name in ("mobilenet", "resnet"):
        space = load_space(name)
        model = build_model(name, 1000, input_size=224)
        found = analyse(model, {c.name: c.layers[-1] for c in space.candidates})
        assert found.candidates == space.candidates
        assert found.ties == space.groups
        folder = f"model_profiles/{name}"
        profile = load_profile(name, "MI8")
        assert found.params == load_params(profile)
        from cnnpc._resources import data_root

        root = data_root("model_profiles") / name
        assert tensors_csv(found) == root.joinpath("tensors.csv").read_text(), folder
        assert to_csv(found.layer_rows) == root.joinpath("layers.csv").read_text(), folder
