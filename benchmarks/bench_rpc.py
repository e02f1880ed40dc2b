"""The runtime's transport, measured: cost per call at 64x64 and 224x224, and calls per second of
one edge with 1, 4 and 16 concurrent end clients.

    python benchmarks/bench_rpc.py [--plans DIR] [--calls 200] [--seconds 5] [--clients 1 4 16]
                                   [--tls]

The plans are a mobilenet (width 0.35, quantization-aware, untrained: the weights do not change
the timings) at each size, deployed with no end part (the end sends the int8 image), the edge
running segments [0, 4) and the cloud [4, 8). `--plans DIR` keeps them (built once, reused: the
same plans measure two versions of the runtime). The edge and cloud are `cnnpc serve`
processes; the clients run in this process, unshaped. Cost per call: the median over `--calls`
sequential requests of uplink + downlink, i.e. the two round trips less the servers' own
service times (what the transport adds per call). Calls per second: `--clients` threads, each
with its own PlanClient, calling the 64x64 plan's edge for `--seconds` s. `--tls`: every link
with mutual TLS (certificates from `cnnpc certs`' library for 127.0.0.1). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

SIZES = (64, 224)
CERTS: list[Any] = []
"""With --tls: the run's CertSet (edge, cloud and client certificates for 127.0.0.1)."""


def client_transport() -> Any:
    """The end device's transport: mutual TLS with --tls, else plaintext on loopback."""
    if not CERTS:
        return None
    from cnnpc.runtime import TlsFiles, transport_policy

    c = CERTS[0]
    return transport_policy("127.0.0.1", TlsFiles(c.client.cert, c.client.key, c.ca_cert), False)


def build_plan(folder: Path, size: int) -> None:
    from cnnpc._keras import keras, tfmot
    from cnnpc.deploy import Layout, build_deployment, plan_document, write_plan_folder
    from cnnpc.models import build_model
    from cnnpc.records import LinkSetting, PlanHead
    from cnnpc.spaces import load_space

    keras.utils.set_random_seed(0)
    model = build_model("mobilenet", 10, size, alpha=0.35)
    model = tfmot.quantization.keras.quantize_model(model)
    images = np.random.default_rng(0).random((8, size, size, 3), dtype=np.float32)
    rates = LinkSetting(uplink_mbps=20.0, bandwidth_mbps=10.0)
    parts, links, files = build_deployment(
        model, load_space("mobilenet"), Layout(0, 4, 8), images, rates
    )
    meta = {
        "model": "mobilenet",
        "workload": {"name": "digits", "image_size": size, "classes": [str(i) for i in range(10)]},
    }
    head = PlanHead.parse(meta, "bench")
    write_plan_folder(folder, plan_document(head, size, parts, links, files), files)


@contextmanager
def served(plan: Path) -> Iterator[tuple[str, int]]:
    """The plan's cloud and edge as `cnnpc serve` processes; yields the edge's address."""
    procs: list[subprocess.Popen[str]] = []

    def serve(role: str, *extra: str) -> tuple[str, int]:
        cmd = [sys.executable, "-m", "cnnpc", "serve", "--role", role, "--plan", str(plan)]
        if CERTS:
            c = CERTS[0]
            me = c.server(role)
            cmd += [
                "--tls-cert",
                str(me.cert),
                "--tls-key",
                str(me.key),
                "--tls-ca",
                str(c.ca_cert),
            ]
        proc = subprocess.Popen([*cmd, "--port", "0", *extra], stdout=subprocess.PIPE, text=True)
        procs.append(proc)
        assert proc.stdout is not None
        line = proc.stdout.readline()  # "<role> serving <plan> on HOST:PORT[, next ...]"
        where = line.split(" on ", 1)[1].split(",")[0].strip()
        host, port = where.rsplit(":", 1)
        return host, int(port)

    try:
        cloud = serve("cloud")
        yield serve("edge", "--next", f"{cloud[0]}:{cloud[1]}")
    finally:
        for proc in reversed(procs):
            proc.terminate()
            proc.wait(timeout=30)


def cost_per_call(plan_dir: Path, calls: int) -> dict[str, float]:
    from cnnpc.records import load_plan
    from cnnpc.runtime import PlanClient

    plan = load_plan(plan_dir)
    image = np.random.default_rng(1).random(plan.input.shape[1:], dtype=np.float32)
    with served(plan_dir) as edge, PlanClient(plan, edge, transport=client_transport()) as client:
        for _ in range(20):  # warm up: connections, interpreters
            client.infer(image)
        runs = [client.infer(image).timings for _ in range(calls)]
    med = {k: float(np.median([t[k] for t in runs])) for k in ("uplink_ms", "downlink_ms")}
    transport = [t["uplink_ms"] + t["downlink_ms"] for t in runs]
    med["per_call_ms"] = float(np.median(transport))
    med["total_ms"] = float(np.median([t["total_ms"] for t in runs]))
    med["link_bytes"] = float(sum(lk.bytes for lk in plan.links))
    return med


def calls_per_second(plan_dir: Path, clients: int, seconds: float) -> float:
    from cnnpc.records import load_plan
    from cnnpc.runtime import PlanClient

    plan = load_plan(plan_dir)
    image = np.random.default_rng(1).random(plan.input.shape[1:], dtype=np.float32)
    counts = [0] * clients
    errors: list[str] = []
    with served(plan_dir) as edge:
        users = [PlanClient(plan, edge, transport=client_transport()) for _ in range(clients)]
        for user in users:
            user.infer(image)
        start = threading.Barrier(clients + 1)
        stop_at = [0.0]

        def loop(k: int) -> None:
            start.wait()
            try:
                while time.perf_counter() < stop_at[0]:
                    users[k].infer(image)
                    counts[k] += 1
            except Exception as exc:  # reported, not hidden
                errors.append(str(exc))

        threads = [threading.Thread(target=loop, args=(k,)) for k in range(clients)]
        for thread in threads:
            thread.start()
        stop_at[0] = time.perf_counter() + seconds
        began = time.perf_counter()
        start.wait()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - began
        for user in users:
            user.close()
    if errors:
        raise RuntimeError(f"{len(errors)} clients failed: {errors[0]}")
    return sum(counts) / elapsed


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plans", type=Path, help="folder to keep the plans in (reused)")
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--tls", action="store_true", help="mutual TLS on every link")
    args = parser.parse_args(argv)
    import tempfile

    root = args.plans or Path(tempfile.mkdtemp(prefix="cnnpc-bench-rpc-"))
    if args.tls:
        from cnnpc.certs import make_certs

        hosts = {"edge": "127.0.0.1", "cloud": "127.0.0.1"}
        CERTS.append(make_certs(Path(tempfile.mkdtemp(prefix="cnnpc-bench-certs-")) / "c", hosts))
    out: dict[str, Any] = {"tls": args.tls, "cost_per_call": {}, "calls_per_second": {}}
    for size in SIZES:
        folder = root / f"plan{size}"
        if not (folder / "plan.json").exists():
            build_plan(folder, size)
        out["cost_per_call"][str(size)] = cost_per_call(folder, args.calls)
    for n in args.clients:
        out["calls_per_second"][str(n)] = calls_per_second(root / "plan64", n, args.seconds)
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
