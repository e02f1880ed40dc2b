"""Live re-partitioning: a plan set on shaped loopback links whose edge->cloud rate changes.

The plan set is `deploy.folders`' (P1 end -> edge -> cloud, P2 end -> edge): at FAST Mbps P1
wins, at SLOW P2.
"""

from __future__ import annotations

import dataclasses
import json
import time

import numpy as np
import pytest
from deploy.folders import FAST, SLOW, coded_set_folder
from test_hostile_server import _abort, _fake_edge, _reply

from cnnpc.codec import Codec
from cnnpc.runtime import AdaptiveClient, RequestError, running_set_servers

pytestmark = pytest.mark.slow


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


def test_switches_the_codec_as_the_rate_changes(three_tier, data, tmp_path):
    """deploy --adaptive --bits: two plans that differ only in their edge->cloud codec, the
    same parts; the runtime codes with the active plan's codec, the servers decode each."""
    table, plans = coded_set_folder(three_tier, tmp_path / "coded")
    assert [(p.label, p.codecs) for p in table.plans] == [
        ("P1", {"edge->cloud": Codec(2)}),
        ("P2", {}),
    ]
    assert plans["P1"].part_path("edge") == plans["P2"].part_path("edge")
    images = data.test.x[:20]
    log: list[tuple[str, bool, float]] = []
    with running_set_servers(table, plans, shape=True) as (edge, servers):
        link = servers[-1].forwarder.bucket
        link.set_rate(FAST * 1e6 / 8)
        with AdaptiveClient(table, plans, edge, shape=True, probe_every=8) as client:
            _run(client, images, 8, log)
            assert client.current == "P2"
            int8 = client.run("P2", images[0]).sent_bytes
            link.set_rate(SLOW * 1e6 / 8)
            _until(client, images, "P1", 8, log)
            coded = client.infer(images[0])
            assert coded.plan == "P1"
            link.set_rate(FAST * 1e6 / 8)
            _until(client, images, "P2", 8 + 5 + 8, log)
            assert [(s.from_plan, s.to_plan) for s in client.switches] == [
                (None, "P2"),
                ("P2", "P1"),
                ("P1", "P2"),
            ]
    down = plans["P1"].link("edge")
    assert down is not None and int8 == {}  # int8: the raw tensor, no codec
    assert coded.result.sent_bytes == {"edge->cloud": down.coded_bytes}  # 2 bits, packed
    assert coded.result.scores.shape == (10,)


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
