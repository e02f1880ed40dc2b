"""Live re-partitioning: a plan set on shaped loopback links whose edge->cloud rate changes.

P1 is the session's end [0, 2) / edge [2, 5) / cloud [5, 8) plan, P2 runs [2, 8) on the edge.
Their compute is set in planset.json (P1: 1 + 1 + 0 ms, P2: 1 + 4 + 0 ms) so that P1 wins
while the edge->cloud link carries its small tensor in under ~3 ms: at 1 Mbps P1, at 0.05 Mbps
P2 (what the plan set's own rule, the sweep's, predicts at those rates).
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import time

import numpy as np
import pytest
from deploy.plans import RATES, SIZE, SPACE
from test_hostile_server import _abort, _fake_edge, _reply

from cnnpc.deploy import Layout, build_deployment, plan_document, write_plan_folder
from cnnpc.records import (
    PLAN_FILE,
    PLANSET_FILE,
    PLANSET_KIND,
    LinkSetting,
    PlanDocument,
    PlanHead,
    PlanSet,
    SetPlan,
    load_plan,
    switches,
)
from cnnpc.runtime import AdaptiveClient, RequestError, running_set_servers

pytestmark = pytest.mark.slow
FAST, SLOW = 1.0, 0.05  # edge->cloud Mbps


def _set_plan(label, plan, compute):
    up, down = plan.link("end"), plan.link("edge")
    return SetPlan(
        label=label,
        file=f"plan-{label}.json",
        config_key="test",
        keep={},
        a=plan.parts["end"].span[1],
        b=8 if down is None else plan.parts["edge"].span[1],
        n_segments=8,
        mode="end_edge" if down is None else "end_edge_cloud",
        splits=(),
        val_accuracy=0.9,
        compute_ms=compute,
        overhead_ms=0.0,
        uplink_bytes=float(up.bytes),
        downlink_bytes=0.0 if down is None else float(down.bytes),
        best_mbps=(),
    )


@pytest.fixture(scope="module")
def plan_set(three_tier, qat_model, data, tmp_path_factory):
    root = tmp_path_factory.mktemp("set")
    files = {f"p1-{t}.tflite": three_tier.part_path(t).read_bytes() for t in three_tier.parts}
    one = PlanDocument.parse(json.loads((three_tier.folder / PLAN_FILE).read_text()), "one")
    one = dataclasses.replace(
        one, parts=tuple(dataclasses.replace(p, file=f"p1-{p.tier}.tflite") for p in one.parts)
    )
    parts, links, built = build_deployment(qat_model, SPACE, Layout(2, 8, 8), data.train.x, RATES)
    for part in parts:
        files[f"p2-{part.tier}.tflite"] = built[part.file]
    parts = [dataclasses.replace(p, file=f"p2-{p.tier}.tflite") for p in parts]
    two = plan_document(PlanHead(model="mobilenet"), SIZE, parts, links, files)
    folder = root / "set"
    files |= {
        n: json.dumps(d.as_dict()).encode()
        for n, d in (("plan-P1.json", one), ("plan-P2.json", two))
    }
    write_plan_folder(folder, one, files)
    plans = {"P1": load_plan(folder, "plan-P1.json"), "P2": load_plan(folder, "plan-P2.json")}
    rows = (
        _set_plan("P1", plans["P1"], (1.0, 1.0, 0.0)),
        _set_plan("P2", plans["P2"], (1.0, 4.0, 0.0)),
    )
    design = LinkSetting(uplink_mbps=20.0, bandwidth_mbps=FAST)
    table = PlanSet("mobilenet", "test", SLOW, FAST, 0.1, design, rows, switches(rows, design, 0.1))
    document = {"schema_version": 1, "kind": PLANSET_KIND, **table.as_dict()}
    (folder / PLANSET_FILE).write_text(json.dumps(document))
    yield table, plans
    shutil.rmtree(root, ignore_errors=True)


def _run(client, images, n, log):
    for i in range(n):
        start = time.perf_counter()
        out = client.infer(images[i % len(images)])
        log.append((out.plan, out.probe, (time.perf_counter() - start) * 1e3))


def _until(client, images, plan, limit, log):
    """Requests until the client has switched to `plan`: (requests, ms) it took."""
    start = time.perf_counter()
    for i in range(1, limit + 1):
        _run(client, images, 1, log)
        if client.current == plan:
            return i, (time.perf_counter() - start) * 1e3
    pytest.fail(f"no switch to {plan} within {limit} requests: {client.switches}")


def test_switches_when_the_rate_changes_and_holds_while_steady(plan_set, data):
    table, plans = plan_set
    images = data.test.x[:20]
    predicted = {
        x: table.best(dataclasses.replace(table.links, bandwidth_mbps=x)).label
        for x in (FAST, SLOW)
    }
    assert predicted == {FAST: "P1", SLOW: "P2"}
    with running_set_servers(table, plans, shape=True) as (edge, servers):
        link = servers[-1].forwarder.bucket  # the edge's shaped edge->cloud link
        link.set_rate(FAST * 1e6 / 8)
        log: list[tuple[str, bool, float]] = []
        with AdaptiveClient(table, plans, edge, shape=True, probe_every=8) as client:
            _run(client, images, 20, log)  # steady at 1 Mbps
            assert [(s.from_plan, s.to_plan) for s in client.switches] == [(None, "P1")]
            link.set_rate(SLOW * 1e6 / 8)
            down_requests, down_ms = _until(client, images, "P2", 8, log)
            switched = len(client.switches)
            _run(client, images, 24, log)  # steady at 0.05 Mbps: probes, but no switch
            assert len(client.switches) == switched and client.probes >= 2
            link.set_rate(FAST * 1e6 / 8)
            # the cloud link is probed every 8 requests; a probe that finds it over twice as
            # fast as believed is repeated, and the smoothed estimate (0.4 of each sample, in
            # log space) needs about 3 probes from 0.05 to P1's side of the hysteresis: a switch
            # within 8 + 1 + 3 + 1 requests on an idle host, 8 more for one on a loaded one
            up_requests, up_ms = _until(client, images, "P1", 8 + 5 + 8, log)
            _run(client, images, 20, log)
            assert [(s.from_plan, s.to_plan) for s in client.switches] == [
                (None, "P1"),
                ("P1", "P2"),
                ("P2", "P1"),
            ]
            adaptive = [ms for _, _, ms in log]
            # the same rate schedule with P1, the plan for the design rate, fixed
            fixed: list[float] = []
            for rate, count in ((FAST, 20), (SLOW, down_requests + 24), (FAST, up_requests + 20)):
                link.set_rate(rate * 1e6 / 8)
                for i in range(count):
                    start = time.perf_counter()
                    client.run("P1", images[i % len(images)])
                    fixed.append((time.perf_counter() - start) * 1e3)
        print(
            f"\nswitch to P2 after {down_requests} requests ({down_ms:.1f} ms), back to P1 after "
            f"{up_requests} ({up_ms:.1f} ms); {len(log)} requests, mean {np.mean(adaptive):.2f} "
            f"ms adaptive vs {np.mean(fixed):.2f} ms with P1 fixed ({client.probes} probes); "
            f"switches: {[s.as_dict() for s in client.switches]}"
        )
        assert np.mean(adaptive) < np.mean(fixed)


def test_a_plan_the_set_does_not_have_is_refused(plan_set, data):
    table, plans = plan_set
    with (
        running_set_servers(table, plans, shape=False) as (edge, _),
        AdaptiveClient(table, plans, edge) as client,
    ):
        x = np.zeros((1, 4, 4, 4), dtype=np.int8)
        with pytest.raises(RequestError, match="has no plan 9"):
            client.connection.request(x, plan=9)
        assert client.infer(data.test.x[0]).result.scores.shape == (10,)  # still serving


@pytest.mark.parametrize(
    ("answer", "match"),
    [
        (
            _reply(np.zeros((1, 7), np.int8)),
            r"the edge's result is int8\[1, 7\], the plan's output is int8\[1, 10\]",
        ),
        (
            _abort("\x1b]0;title\x07\nforged", "edge"),
            r"the edge answered: \\x1b\]0;title\\x07\\nforged$",
        ),
    ],
)
def test_a_hostile_edge_is_refused_by_the_adaptive_client(plan_set, data, answer, match):
    table, plans = plan_set
    fake, address = _fake_edge(answer)
    try:
        with (
            AdaptiveClient(table, plans, address) as client,
            pytest.raises(RequestError, match=match),
        ):
            client.run("P1", data.test.x[0])
    finally:
        fake.close()


def test_infer_adaptive_on_the_command_line(plan_set, capsys):
    from cnnpc.cli import main

    table, plans = plan_set
    folder = plans["P1"].folder
    with running_set_servers(table, plans, shape=False) as (edge, _):
        argv = ["infer", "--plan", str(folder), "--adaptive", "--edge", f"{edge[0]}:{edge[1]}"]
        assert main([*argv, "--limit", "12", "--json"]) == 0
        out = json.loads(capsys.readouterr().out)
        assert sum(out["plans_used"].values()) == 12 and len(out["results"]) == 12
        assert out["switches"][0]["from_plan"] is None
        assert main([*argv, "--limit", "3"]) == 0
        assert "requests per plan" in capsys.readouterr().out
