"""validate --netns: end, edge and cloud in network namespaces on tc-shaped veth links.

The runs need root and iproute2; where they cannot run they are skipped with the reason the CLI
would print (the same check).
"""

from __future__ import annotations

import ipaddress
import os
import signal
import subprocess
from pathlib import Path

import pytest
from test_validate import FakeCostModel

from cnnpc.cli import main
from cnnpc.validate import KERNEL, _netns, netns_unavailable_reason, validate


@pytest.fixture(scope="module")
def netns():
    reason = netns_unavailable_reason()
    if reason is not None:
        print(f"\nSKIP namespace tests: {reason}")
        pytest.skip(reason)


def _ours() -> list[str]:
    """This process's namespaces (left over would be a teardown bug)."""
    return [n for n in _netns.namespaces() if n.startswith(f"{_netns.PREFIX}{os.getpid()}-")]


@pytest.mark.slow
def test_servers_listen_in_their_namespaces_on_shaped_links(netns, three_tier):
    seen = {}

    def look(topology):
        ns = topology.namespaces
        seen["topology"] = topology
        seen["edge"] = _netns.listening(ns["edge"])
        seen["cloud"] = _netns.listening(ns["cloud"])
        seen["qdiscs"] = {tier: _netns.qdiscs(ns[tier]) for tier in ns}
        seen["host"] = Path("/proc/net/tcp").read_text()  # the main thread: the host's
        seen["host"] += Path("/proc/net/tcp6").read_text()  # (IPv4-mapped there: same word)
        seen["names"] = _ours()

    images = three_tier_images(three_tier)
    results, topology = _netns.measure_in_namespaces(three_tier, images, 4, warmup=1, on_ready=look)
    assert len(results) == 4 and all(r.timings["total_ms"] > 0 for r in results)
    assert sorted(seen["names"]) == sorted(topology.namespaces.values())
    assert [a.split(":")[0] for a in seen["edge"]] == [topology.edge_address]
    assert [a.split(":")[0] for a in seen["cloud"]] == [topology.cloud_address]
    for address in (topology.edge_address, topology.cloud_address):  # nothing on the host
        packed = ipaddress.IPv4Address(address).packed[::-1].hex().upper()
        assert packed not in seen["host"]
    up, down = three_tier.links
    end, edge, cloud = (seen["qdiscs"][t] for t in ("end", "edge", "cloud"))
    assert "tbf" in end and "dev up0" in end and f"{up.bandwidth_mbps:g}Mbit" in end
    assert "dev up1" in edge and "dev down0" in edge and f"{down.bandwidth_mbps:g}Mbit" in edge
    assert "tbf" in cloud and "dev down1" in cloud
    assert {s.direction for s in topology.shaping} == {
        "end->edge",
        "edge->end",
        "edge->cloud",
        "cloud->edge",
    }
    assert ipaddress.ip_address(topology.edge_address) in topology.network
    assert _ours() == []  # torn down


def three_tier_images(plan):
    from cnnpc.validate import request_images

    return request_images(plan, 8)[0]


@pytest.mark.slow
def test_validate_netns_reports_kernel_shaping_and_tears_down(netns, three_tier, tmp_path):
    cost = FakeCostModel()
    cost.folder = tmp_path
    report = validate(
        7,
        requests=5,
        plan_dir=three_tier.folder,
        cost_model=cost,
        netns=True,
        calibrate=True,
        rounds=2,
    )
    assert report.shaping == KERNEL and report.requests == 10  # two runs, each torn down
    assert any("tc tbf rate 20000000bit" in line for line in report.shaping_details)
    rows = {r.key: r for r in report.rows}
    assert rows["uplink_ms"].measured_ms > 0 and rows["total_ms"].measured_ms > 0
    assert report.fitted is not None and report.median_abs_error_pct >= 0
    assert (tmp_path / "host_netns_mtu1500_calibration.json").is_file()  # its own key
    assert not (tmp_path / "host_calibration.json").exists()
    assert _ours() == []
    again = validate(7, requests=2, plan_dir=three_tier.folder, cost_model=cost, netns=True)
    assert again.calibration == report.fitted
    assert _ours() == []


@pytest.mark.slow
def test_an_error_mid_run_still_deletes_the_namespaces(netns, three_tier, monkeypatch):
    from cnnpc.validate._nsprocs import TierProcess

    def broken(self, job, timeout_s):
        assert len(_ours()) == 3  # the namespaces exist while the client runs
        raise RuntimeError("injected")

    monkeypatch.setattr(TierProcess, "run", broken)
    with pytest.raises(RuntimeError, match="injected"):
        validate(7, requests=2, plan_dir=three_tier.folder, cost_model=FakeCostModel(), netns=True)
    assert _ours() == []


@pytest.mark.slow
def test_sigterm_mid_run_tears_down(netns, three_tier):
    def terminate(topology):
        os.kill(os.getpid(), signal.SIGTERM)

    images = three_tier_images(three_tier)
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt):
        _netns.measure_in_namespaces(three_tier, images, 2, on_ready=terminate)
    assert _ours() == []
    assert signal.getsignal(signal.SIGTERM) is before  # the handler is put back


def test_the_sweep_removes_namespaces_of_dead_runs_only(netns):
    dead = _dead_pid()
    stale = f"{_netns.PREFIX}{dead}-abc123-edge"
    live = f"{_netns.PREFIX}{os.getpid()}-abc123-edge"
    for name in (stale, live):
        subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        assert stale in _netns.sweep_leftovers()
        names = _netns.namespaces()
        assert stale not in names and live in names
    finally:
        for name in (stale, live):
            subprocess.run(["ip", "netns", "delete", name], capture_output=True)


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


@pytest.mark.parametrize(
    ("patch", "says"),
    [
        ("geteuid", "run as root"),
        ("which", "install iproute2"),
        ("add", "'ip netns add' failed"),
    ],
)
def test_without_root_or_iproute2_it_exits_2_with_one_line(monkeypatch, capsys, patch, says):
    monkeypatch.setattr(_netns.os, "geteuid", lambda: 1000 if patch == "geteuid" else 0)
    found = None if patch == "which" else "/usr/sbin/ip"
    monkeypatch.setattr(_netns.shutil, "which", lambda tool: found)
    if patch == "add":

        def refuse(*args):
            raise _netns.NetnsUnavailable("Operation not permitted")

        monkeypatch.setattr(_netns, "_ip", refuse)
    reason = _netns.unavailable_reason()
    assert reason is not None and says in reason
    assert main(["validate", "1", "--netns", "--storage", "sqlite:///nowhere.db"]) == 2
    err = capsys.readouterr().err.strip()
    assert says in err and len(err.splitlines()) == 1


def test_netns_options_are_checked(capsys):
    assert main(["validate", "1", "--mtu", "1000"]) == 2
    assert "use it with --netns" in capsys.readouterr().err
    assert main(["validate", "1", "--netns", "--no-shape"]) == 2
    assert "drop --no-shape" in capsys.readouterr().err
