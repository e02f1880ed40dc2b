"""Kernel-shaped links for ``validate --netns``: three network namespaces (end, edge, cloud)
joined by veth pairs, each direction shaped by a ``tc`` token bucket filter (tbf) at its link's
rate, so the bytes cross a real TCP/IP stack and a kernel qdisc instead of cnnpc's own token
bucket.

Everything lives inside the namespaces: the veth pairs are created directly in them (the host
never sees an interface), the addresses are private (a 10.231.k.0/24 the host does not use), and
each tier runs in a process that entered its namespace (``setns``, ``_nsprocs``), so its
sockets bind and connect only there. The namespaces are named ``cnnpc-<pid>-<token>-<tier>``;
they are deleted on the way out whatever happens (exception, Ctrl-C, SIGTERM), and a run first
deletes those of cnnpc processes that no longer exist. Every command has a timeout, every loop
a bound.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from cnnpc.errors import CnnpcError
from cnnpc.records import DeployedPlan

if TYPE_CHECKING:
    from cnnpc.runtime import InferResult

PREFIX = "cnnpc-"
TIERS = ("end", "edge", "cloud")
COMMAND_TIMEOUT_S = 15.0
MTU = 1500
"""The veths' default MTU (Ethernet's); --mtu changes it (68..65535)."""
MIN_MTU = 576
"""The smallest MTU --mtu accepts: IPv4's minimum datagram every host must take."""
FRAME_OVERHEAD = 14
"""Ethernet header: tbf counts it, so the bucket must hold one MTU plus it."""
QUEUE_BYTES = 4 << 20
"""tbf's queue: far above any tensor, so TCP never sees a drop on a shaped link."""
NETWORK_BASE = ipaddress.IPv4Network("10.231.0.0/16")
MAX_SWEEP = 64
TCP_LISTEN = "0A"
"""The LISTEN state in /proc/net/tcp."""
START_TIMEOUT_S = 30.0
RUN_TIMEOUT_S = 60.0
REQUEST_TIMEOUT_S = 2.0
"""The client's whole run is bounded by RUN_TIMEOUT_S + REQUEST_TIMEOUT_S per request."""
_NAME = re.compile(rf"^{PREFIX}(\d+)-[0-9a-f]+-(?:{'|'.join(TIERS)})$")


class NetnsUnavailable(CnnpcError):
    """Namespaces cannot be made here (not root, no iproute2, or the kernel refuses)."""


@dataclass(frozen=True)
class Shaping:
    """One tbf qdisc: the egress of `device` in `namespace`, carrying `direction`."""

    direction: str
    namespace: str
    device: str
    rate_bits: int
    burst: int

    def describe(self) -> str:
        return f"{self.direction}: tc tbf rate {self.rate_bits}bit burst {self.burst}b"


@dataclass(frozen=True)
class Topology:
    """The namespaces of one run, the tiers' addresses on their links, and the shaping."""

    namespaces: dict[str, str]
    end_address: str
    edge_address: str
    """The edge's address on the end<->edge link (where it listens)."""
    edge_next_address: str
    """The edge's address on the edge<->cloud link (where it connects from)."""
    cloud_address: str
    shaping: tuple[Shaping, ...]
    network: ipaddress.IPv4Network


def unavailable_reason() -> str | None:
    """Why namespaces cannot be made here (one line saying what to do), or None: the check
    the CLI and the tests share."""
    if os.name != "posix" or not hasattr(os, "geteuid"):
        return "--netns needs Linux network namespaces"
    if os.geteuid() != 0:
        return "--netns needs root (network namespaces and tc): run as root, or drop --netns"
    for tool in ("ip", "tc"):
        if shutil.which(tool) is None:
            return f"--netns needs the '{tool}' command: install iproute2"
    probe = f"{PREFIX}{os.getpid()}-{secrets.token_hex(3)}-end"
    try:
        _ip("netns", "add", probe)
    except NetnsUnavailable as exc:
        return f"--netns: 'ip netns add' failed ({exc}); namespaces are not allowed here"
    with contextlib.suppress(NetnsUnavailable):
        _ip("netns", "delete", probe)
    return None


def _run(argv: list[str]) -> str:
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise NetnsUnavailable(f"{' '.join(argv)}: {exc}") from None
    if done.returncode != 0:
        why = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[0]
        raise NetnsUnavailable(f"{' '.join(argv)}: {why}")
    return done.stdout


def _ip(*args: str) -> str:
    return _run(["ip", *args])


def _tc(*args: str) -> str:
    return _run(["tc", *args])


def namespaces() -> list[str]:
    """Every network namespace name ``ip netns`` knows."""
    return [line.split()[0] for line in _ip("netns", "list").splitlines() if line.strip()]


def sweep_leftovers() -> list[str]:
    """Delete namespaces this module made for a process that no longer exists (a run killed
    with SIGKILL); returns their names. Live runs' namespaces are left alone."""
    removed = []
    for name in namespaces()[:MAX_SWEEP]:
        match = _NAME.match(name)
        if match is None or _alive(int(match.group(1))):
            continue
        with contextlib.suppress(NetnsUnavailable):
            _ip("netns", "delete", name)
            removed.append(name)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def used_networks() -> list[ipaddress.IPv4Network]:
    """The host's IPv4 networks: its addresses' and its routes' (not the default route)."""
    used: list[ipaddress.IPv4Network] = []
    for entry in json.loads(_ip("-j", "-4", "addr", "show") or "[]"):
        for info in entry.get("addr_info", []):
            used.append(ipaddress.IPv4Network(f"{info['local']}/{info['prefixlen']}", False))
    for route in json.loads(_ip("-j", "-4", "route", "show", "table", "all") or "[]"):
        dst = route.get("dst", "")
        with contextlib.suppress(ValueError):
            if dst and dst != "default":
                used.append(ipaddress.IPv4Network(dst, strict=False))
    return used


def free_network(wanted: ipaddress.IPv4Network | None = None) -> ipaddress.IPv4Network:
    """A /24 of 10.231.0.0/16 (or `wanted`) that no host address or route overlaps (checked,
    not assumed: the namespaces are isolated, but a reader should never see a host network
    reused)."""
    used = used_networks()
    candidates = [wanted] if wanted is not None else NETWORK_BASE.subnets(new_prefix=24)
    for candidate in candidates:
        if not any(candidate.overlaps(net) for net in used):
            return candidate
    if wanted is not None:
        raise NetnsUnavailable(f"{wanted} is in use on this host")
    raise NetnsUnavailable(f"every /24 of {NETWORK_BASE} is in use on this host")


def _burst(mtu: int) -> int:
    """The smallest bucket tbf accepts: one full frame (a larger packet would be dropped). A
    message's first frame leaves at once on a rested link, so a message of up to a frame takes
    less than bytes / rate: the smaller the MTU, the closer tbf is to a link that serialises."""
    return mtu + FRAME_OVERHEAD


@contextlib.contextmanager
def kernel_links(
    plan: DeployedPlan, mtu: int = MTU, network: ipaddress.IPv4Network | None = None
) -> Iterator[Topology]:
    """Make the namespaces, veth pairs and tbf qdiscs for `plan`'s links; delete them on exit
    (also on an exception, Ctrl-C or SIGTERM, which is turned into KeyboardInterrupt here).
    `network`: a /24 to take the addresses from (the README's hosts), if the host does not use
    it; by default a free one of 10.231.0.0/16."""
    reason = unavailable_reason()
    if reason is not None:
        raise NetnsUnavailable(reason)
    sweep_leftovers()
    token = secrets.token_hex(3)
    names = {tier: f"{PREFIX}{os.getpid()}-{token}-{tier}" for tier in TIERS}
    created: list[str] = []
    with _sigterm_as_interrupt():
        try:
            network = free_network(network)
            hosts = list(network.hosts())
            up_end, up_edge, down_edge, down_cloud = (str(hosts[i]) for i in (0, 1, 4, 5))
            for tier in TIERS:
                _ip("netns", "add", names[tier])
                created.append(names[tier])
                _ip("-n", names[tier], "link", "set", "lo", "up")
            shaping: list[Shaping] = []
            uplink = plan.link("end")
            downlink = plan.link("edge")
            if uplink is not None:
                rate = uplink.rate_bytes_per_s * 8
                shaping += _veth(
                    names, ("end", "edge"), ("up0", "up1"), (up_end, up_edge), rate, mtu
                )
            if downlink is not None:
                rate = downlink.rate_bytes_per_s * 8
                shaping += _veth(
                    names, ("edge", "cloud"), ("down0", "down1"), (down_edge, down_cloud), rate, mtu
                )
            yield Topology(
                namespaces=dict(names),
                end_address=up_end,
                edge_address=up_edge,
                edge_next_address=down_edge,
                cloud_address=down_cloud,
                shaping=tuple(shaping),
                network=network,
            )
        finally:
            for name in reversed(created):
                with contextlib.suppress(NetnsUnavailable):
                    _ip("netns", "delete", name)


def _veth(
    names: dict[str, str],
    tiers: tuple[str, str],
    devices: tuple[str, str],
    addresses: tuple[str, str],
    rate_bits: float,
    mtu: int,
) -> list[Shaping]:
    """A veth pair between two tiers' namespaces, addressed as a /30, each egress shaped."""
    (a, b), (dev_a, dev_b) = tiers, devices
    _ip(
        "link", "add", dev_a, "netns", names[a], "mtu", str(mtu), "type", "veth",
        "peer", "name", dev_b, "netns", names[b], "mtu", str(mtu),
    )  # fmt: skip
    shaping = []
    for tier, dev, address, peer in ((a, dev_a, addresses[0], b), (b, dev_b, addresses[1], a)):
        ns = names[tier]
        _ip("-n", ns, "addr", "add", f"{address}/30", "dev", dev)
        _ip("-n", ns, "link", "set", dev, "up")
        burst = _burst(mtu)
        _tc(
            "-n", ns, "qdisc", "add", "dev", dev, "root", "tbf", "rate", f"{int(rate_bits)}bit",
            "burst", str(burst), "limit", str(QUEUE_BYTES),
        )  # fmt: skip
        shaping.append(Shaping(f"{tier}->{peer}", ns, dev, int(rate_bits), burst))
    return shaping


def measure_in_namespaces(
    plan: DeployedPlan,
    images: npt.NDArray[np.float32],
    requests: int,
    *,
    warmup: int = 3,
    threads: int = 1,
    mtu: int = MTU,
    on_ready: Callable[[Topology], None] | None = None,
) -> tuple[list[InferResult], Topology]:
    """`validate`'s measurement on kernel-shaped links: the cloud and edge servers listen in
    their namespaces, the client runs in the end's, the token bucket is off (tc shapes). Each
    tier is a process of its own inside its namespace (``_nsprocs``: gRPC connects from its own
    threads). `on_ready(topology)` runs once the servers listen (a test looks at them there)."""
    from cnnpc.certs import make_certs
    from cnnpc.runtime import TlsFiles
    from cnnpc.validate._nsprocs import Run, Serve, TierProcess

    with kernel_links(plan, mtu) as topology, tempfile.TemporaryDirectory() as tmp:
        ns = topology.namespaces
        hosts = {"edge": topology.edge_address, "cloud": topology.cloud_address}
        certs = make_certs(Path(tmp) / "certs", hosts)  # each tier its own, as on real hosts

        def tls(name: str) -> TlsFiles:
            who = certs.client if name == "end" else certs.server(name)
            return TlsFiles(who.cert, who.key, certs.ca_cert)

        tiers: list[TierProcess] = []
        try:
            uses_cloud = plan.link("edge") is not None
            uses_edge = plan.link("end") is not None
            cloud = TierProcess(ns["cloud"], topology.network) if uses_cloud else None
            edge = TierProcess(ns["edge"], topology.network) if uses_edge else None
            end = TierProcess(ns["end"], topology.network)
            tiers += [t for t in (cloud, edge, end) if t is not None]
            cloud_address = None
            if cloud is not None:
                job = Serve(plan, "cloud", topology.cloud_address, None, threads, tls("cloud"))
                cloud_address = cloud.serve(job, START_TIMEOUT_S)
            edge_address = None
            if edge is not None:
                job = Serve(
                    plan, "edge", topology.edge_address, cloud_address, threads, tls("edge")
                )
                edge_address = edge.serve(job, START_TIMEOUT_S)
            if on_ready is not None:
                on_ready(topology)
            bound = RUN_TIMEOUT_S + REQUEST_TIMEOUT_S * (warmup + requests)
            run = Run(plan, edge_address, images, requests, warmup, threads, tls("end"))
            results = end.run(run, bound)
        finally:
            for tier in reversed(tiers):
                tier.close()
    return results, topology


def describe(topology: Topology) -> tuple[str, ...]:
    """Where each tier ran and what shaped each direction, one line each (for the report)."""
    ns = topology.namespaces
    lines = [
        f"end in {ns['end']} ({topology.end_address})",
        f"edge in {ns['edge']} ({topology.edge_address}, {topology.edge_next_address})",
        f"cloud in {ns['cloud']} ({topology.cloud_address})",
    ]
    return (*lines, *(s.describe() for s in topology.shaping))


def qdiscs(namespace: str) -> str:
    """``tc qdisc show`` inside `namespace` (what a reader or a test checks the shaping by)."""
    return _tc("-n", namespace, "qdisc", "show")


def listening(namespace: str) -> list[str]:
    """The TCP listeners on IPv4 addresses inside `namespace` as HOST:PORT (from its
    /proc/net/tcp and tcp6: gRPC listens on an IPv6 socket with the IPv4-mapped address)."""
    found = []
    for table in ("tcp", "tcp6"):
        text = _ip("netns", "exec", namespace, "cat", f"/proc/net/{table}")
        for line in text.splitlines()[1:]:
            fields = line.split()
            if len(fields) > 3 and fields[3] == TCP_LISTEN:
                host, port = fields[1].split(":")
                words = [int(host[i : i + 8], 16).to_bytes(4, "little") for i in range(0, 32, 8)]
                if table == "tcp":
                    address = ipaddress.IPv4Address(words[0])
                else:
                    mapped = ipaddress.IPv6Address(b"".join(words)).ipv4_mapped
                    if mapped is None:
                        continue
                    address = mapped
                found.append(f"{address}:{int(port, 16)}")
    return found


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM raises KeyboardInterrupt in the main thread while inside, so `finally` blocks
    tear down; elsewhere (not the main thread) signals are left as they are."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
