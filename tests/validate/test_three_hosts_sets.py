"""A plan set and an empty edge on three network namespaces as three hosts, with mutual TLS.

As `test_three_hosts` (the README's single plan): each tier in a namespace of its own with its
own address on a /24 the host does not use, `cnnpc certs` makes the CA and every host's key and
certificate, the servers run as `ip netns exec NS cnnpc serve ...` on their namespace address
with `--tls-ca` (mutual TLS: the edge's certificate also authenticates it to the cloud, the end
device shows the client's), and the end device's `cnnpc infer` runs in the end's namespace.
The folders are `deploy.folders`' (no search): the runtime tests' plan set and upload folder.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import shutil
import subprocess
from collections.abc import Iterator
from ipaddress import IPv4Network
from pathlib import Path

import numpy as np
import pytest
from deploy.folders import SLOW, local_scores, reused_segments, upload_folder
from test_three_hosts import _cnnpc, _first_line, stop

from cnnpc.records import DeployedPlan, load_upload
from cnnpc.runtime import AdaptiveClient, running_set_servers
from cnnpc.validate import _netns, netns_unavailable_reason

pytestmark = pytest.mark.slow
START_S = 60.0
"""Bound on a server's start (its parts are verified in a child first)."""
RUN_S = 120.0
"""Bound on any other command."""
EDGE_PORT, CLOUD_PORT = 7001, 7002


@dataclasses.dataclass(frozen=True)
class Hosts:
    """Three namespaces with their addresses, and where the commands run (certs/ beside)."""

    topology: _netns.Topology
    cwd: Path

    def tls(self, tier: str) -> list[str]:
        """A tier's own key and certificate and the CA (the end device's are the client's)."""
        who = "client" if tier == "end" else tier
        return [
            *("--tls-cert", f"certs/{who}.crt", "--tls-key", f"certs/{who}.key"),
            *("--tls-ca", "certs/ca.crt"),
        ]

    def command(self, tier: str, argv: list[str]) -> list[str]:
        return ["ip", "netns", "exec", self.topology.namespaces[tier], *_cnnpc(), *argv]

    def serve(self, servers: contextlib.ExitStack, tier: str, argv: list[str]) -> str:
        """`cnnpc serve` in `tier`'s namespace, in the background until it prints where it
        serves (stopped with SIGTERM when `servers` closes); its HOST:PORT."""
        command = self.command(tier, ["serve", "--role", tier, *argv, *self.tls(tier)])
        process = subprocess.Popen(command, cwd=self.cwd, stdout=subprocess.PIPE)
        servers.callback(stop, process)
        line = _first_line(process, START_S)
        assert f"{tier} serving" in line and "with TLS on" in line, line
        return line.split(" on ", 1)[1].split(",", 1)[0].strip()

    def run(self, tier: str, argv: list[str]) -> str:
        """A command in `tier`'s namespace to its end (bounded); its output."""
        done = subprocess.run(
            self.command(tier, [*argv, *self.tls(tier)]),
            cwd=self.cwd,
            capture_output=True,
            text=True,
            timeout=RUN_S,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout


@pytest.fixture(scope="session", autouse=True)
def network():
    """A /24 the host does not use; first of all (before any plan is built), skips saying why
    where namespaces cannot be made or no network is free."""
    reason = netns_unavailable_reason()
    if reason is not None:
        print(f"\nSKIP three hosts: {reason}")
        pytest.skip(reason)
    try:
        return _netns.free_network()
    except _netns.NetnsUnavailable as exc:
        pytest.skip(str(exc))


@contextlib.contextmanager
def three_hosts(plan: DeployedPlan, network: IPv4Network, cwd: Path) -> Iterator[Hosts]:
    """The namespaces for `plan`'s links on `network` (deleted on the way out, also on a
    failure) and the certificates `cnnpc certs` makes for their addresses."""
    with _netns.kernel_links(plan, network=network) as topology:
        hosts = f"edge={topology.edge_address},cloud={topology.cloud_address}"
        certs = [*_cnnpc(), "certs", "--out", "certs", "--hosts", hosts]
        done = subprocess.run(certs, cwd=cwd, capture_output=True, text=True, timeout=RUN_S)
        assert done.returncode == 0, done.stderr
        yield Hosts(topology, cwd)


def _listens(hosts: Hosts, tier: str, address: str) -> None:
    """The server's only listening socket is on its namespace address, at the port it said."""
    ns = hosts.topology.namespaces[tier]
    assert _netns.listening(ns) == [address]


def _plan_of_each_request(switches: list[dict[str, object]], n: int) -> list[str]:
    """The plan each request ran, from the switch log (no probes)."""
    plans, current = [], None
    by_request = {int(str(s["request"])): str(s["to_plan"]) for s in switches}
    for i in range(n):
        current = by_request.get(i, current)
        assert current is not None
        plans.append(current)
    return plans


def test_a_plan_set_on_three_hosts(network, plan_set, data, tmp_path):
    """The edge->cloud link shaped by tc to the set's SLOW rate: the client starts on P1 (the
    design rate's plan) and moves to P2 once it has measured the link; every label and score is
    what that plan gives on loopback."""
    table, plans = plan_set
    shutil.copytree(plans["P1"].folder, tmp_path / "set")
    one = plans["P1"]
    slow = tuple(
        dataclasses.replace(link, bandwidth_mbps=SLOW) if link.source == "edge" else link
        for link in one.links
    )
    n = 16
    with three_hosts(dataclasses.replace(one, links=slow), network, tmp_path) as hosts:
        top = hosts.topology
        with contextlib.ExitStack() as servers:
            argv = ["--plan", "set", "--adaptive", "--host", top.cloud_address]
            cloud = hosts.serve(servers, "cloud", [*argv, "--port", str(CLOUD_PORT)])
            assert cloud == f"{top.cloud_address}:{CLOUD_PORT}"
            argv = ["--plan", "set", "--adaptive", "--host", top.edge_address]
            edge = hosts.serve(servers, "edge", [*argv, "--port", str(EDGE_PORT), "--next", cloud])
            assert edge == f"{top.edge_address}:{EDGE_PORT}"
            _listens(hosts, "cloud", cloud)
            _listens(hosts, "edge", edge)
            argv = ["infer", "--plan", "set", "--adaptive", "--edge", edge, "--limit", str(n)]
            out = json.loads(hosts.run("end", [*argv, "--probe-every", "1000", "--json"]))
    print(f"\nplan set: requests per plan {out['plans_used']}; switches {out['switches']}")
    assert out["probes"] == 0 and len(out["results"]) == n
    moves = [(s["from_plan"], s["to_plan"]) for s in out["switches"]]
    assert moves[:2] == [(None, "P1"), ("P1", "P2")], out["switches"]
    ran = _plan_of_each_request(out["switches"], n)
    assert out["plans_used"] == {label: ran.count(label) for label in ("P1", "P2")}
    images = data.test.x[:n]
    with (
        running_set_servers(table, plans, shape=False) as (address, _),
        AdaptiveClient(table, plans, address) as client,
    ):
        local = [client.run(label, x) for label, x in zip(ran, images, strict=True)]
    got = [(r["label"], r["score"]) for r in out["results"]]
    assert got == [(r.label, float(r.scores[r.label])) for r in local]


def _accuracy(scores, labels):
    return float(np.mean(np.argmax(scores, axis=1) == labels))


def test_an_empty_edge_receives_the_parts_on_three_hosts(
    network, three_tier, qat_model, data, tmp_path
):
    """`serve --empty` on the edge's address, `infer --upload` from the end device with the
    client's certificate: the parts arrive in the folder's order, each installed once (the edge
    installs a part only when its sha256 is the folder's); a second session reads what the edge
    holds (GetHoldings), has every part there and queries the edge; every result is the
    model's."""
    built = reused_segments(three_tier, qat_model, data)
    folder, order = upload_folder(built, data, tmp_path / "up")
    plan = load_upload(folder)
    expected = [k for step in plan.steps for k in step]
    n, m = 16, 6
    scores = local_scores(plan, data.test.x[:n])
    # the upload folder has no cloud part: the cloud's namespace stays idle
    with three_hosts(three_tier, network, tmp_path) as hosts, contextlib.ExitStack() as servers:
        top = hosts.topology
        argv = ["--plan", "up", "--empty", "--host", top.edge_address, "--port", str(EDGE_PORT)]
        edge = hosts.serve(servers, "edge", argv)
        _listens(hosts, "edge", edge)
        argv = ["infer", "--plan", "up", "--upload", "--edge", edge, "--json"]
        # 8 s of queries: the empty edge loads its interpreter at its first install (5-7 s);
        # the second session's 2 s finish an upload the first one left short
        first = json.loads(hosts.run("end", [*argv, "--limit", str(n), "--query-rate", "2"]))
        again = json.loads(hosts.run("end", [*argv, "--limit", str(m), "--query-rate", "3"]))
    print(f"\nfirst session: upload finished after {first['uploaded_s']} s; {first['events']}")
    assert first["error"] is None and first["queries"] == n and first["fallbacks"] == 0
    installed = [e["segment"] for e in first["events"] if e["kind"] == "installed"]
    assert installed == expected[: len(installed)]  # the folder's order, each part once
    assert first["accuracy"] == _accuracy(scores, data.test.y[:n])
    held = [e for e in again["events"] if e["kind"] == "installed"]
    assert sorted(e["segment"] for e in held) == sorted(expected), again["events"]
    assert again["error"] is None and again["uploaded_s"] is not None
    if first["uploaded_s"] is not None:  # all held already: nothing sent, no resume
        assert {e["kind"] for e in again["events"]} == {"installed"}
    assert again["queries_per_split"].get(str(order.full.a), 0) >= 1 and order.full.a < 3
    assert again["fallbacks"] == 0
    assert again["accuracy"] == _accuracy(scores[:m], data.test.y[:m])
