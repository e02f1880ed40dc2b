"""Live re-partitioning, measured on a real plan set: the switch delay after an edge->cloud rate
change, and the mean latency of the adaptive client against the design plan kept fixed.

    python benchmarks/bench_adaptive.py --plan DIR [--rates 20,1,20] [--per-phase 35]
                                        [--probe-every 10] [--repeats 1] [--hysteresis F]

DIR is a `cnnpc deploy SEARCH --adaptive --bandwidth START:STOP` folder (deploy it with
`--image-size 224` so that the tensors on the links are the profile's, whose bytes the plan set
prices). The set's servers run in this process on loopback; the end->edge link is shaped to the
search's uplink, the edge->cloud link (the edge's token bucket) is retuned with
`TokenBucket.set_rate` to each rate of `--rates` in turn, `--per-phase` requests each.

Emulated tier speeds. On one host every tier computes equally fast, which would make a plan set
for a phone, an edge and a cloud meaningless, so each tier's part is wrapped to take the plan
set's predicted compute for that tier (`compute_ms` in planset.json): after the real TFLite
invoke it sleeps for the difference between predicted and measured, never negative (an invoke
that already took longer is counted in `over_predicted`). Only compute is emulated: the links
carry real shaped traffic, and the runtime's own costs are real.

Per phase: the target is the plan the set's rule (hysteresis included; `--hysteresis` replaces
the set's) picks at the phase's true rate from the plan in use when the rate changed (first
phase: the plan the client starts on, the best under the design links); "held" are the plans
that rule keeps at the true rate (the target, and any plan within the hysteresis of the best).
The switch delay is the requests run before the first request (not a probe) on a held plan
and the ms from the rate change to that request's start; switches after it within the phase
are "switches while steady". Then the same schedule (same requests per phase) runs with the
set's best plan under its design links (plan.json: the search's plan at its own bandwidth)
fixed. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from typing import Any

import numpy as np


class EmulatedPart:
    """A part that takes at least `target_ms` per run: a tier `target_ms` fast (see doc)."""

    def __init__(self, part: Any, target_ms: float, over: list[float]) -> None:
        self.part, self.spec, self.target_ms, self.over = part, part.spec, target_ms, over

    def run(self, x: Any) -> tuple[Any, float]:
        start = time.perf_counter()
        out, ms = self.part.run(x)
        if ms > self.target_ms:
            self.over.append(ms - self.target_ms)
        left = self.target_ms - (time.perf_counter() - start) * 1e3
        if left > 0:
            time.sleep(left / 1e3)
        return out, (time.perf_counter() - start) * 1e3


def emulate(table: Any, servers: Any, client: Any, over: list[float]) -> None:
    """Wrap every route's parts (edge, cloud) and the client's end parts (see the doc)."""
    from cnnpc.runtime import plan_numbers

    tier = {"end": 0, "edge": 1, "cloud": 2}
    numbers = plan_numbers(table)
    for server in servers:
        for label, number in numbers.items():
            route = server.routes.get(number)
            if route is None or not route.parts:
                continue
            ms = table.plan(label).compute_ms[tier[server.role]] / len(route.parts)
            parts = tuple(EmulatedPart(p, ms, over) for p in route.parts)
            server.routes[number] = dataclasses.replace(route, parts=parts)
    for label, part in client.ends.items():
        if part is not None:
            client.ends[label] = EmulatedPart(part, table.plan(label).compute_ms[0], over)


def predicted(table: Any, current: str | None, mbps: float) -> str:
    """The plan the set's rule picks from `current` at edge->cloud `mbps`."""
    links = dataclasses.replace(table.links, bandwidth_mbps=mbps)
    return str(table.choose(current, links).label)


def one_run(args: Any, table: Any, plans: Any, fixed: str, images: Any) -> dict[str, Any]:
    from cnnpc.runtime import AdaptiveClient, running_set_servers

    rates = [float(r) for r in args.rates.split(",")]
    over: list[float] = []
    with running_set_servers(table, plans, shape=True) as (edge, servers):
        link = servers[-1].forwarder.bucket  # the edge's shaped edge->cloud link
        with AdaptiveClient(table, plans, edge, shape=True, probe_every=args.probe_every) as client:
            emulate(table, servers, client, over)
            phases: list[dict[str, Any]] = []
            latencies: list[float] = []
            for k, mbps in enumerate(rates):
                link.set_rate(mbps * 1e6 / 8)
                changed = time.monotonic()
                # before the first request: the plan the client starts on (design estimates)
                before = client.current or table.best(client.links()).label
                target = predicted(table, before, mbps)
                held = sorted(p for p in plans if predicted(table, p, mbps) == p)
                switches_before, probes_before = len(client.switches), client.probes
                reached: tuple[int, float] | None = None
                steady_from = 0
                used: dict[str, int] = {}
                for i in range(args.per_phase):
                    start = time.monotonic()
                    out = client.infer(images[(k * args.per_phase + i) % len(images)])
                    latencies.append(out.result.timings["total_ms"])
                    used[out.plan] = used.get(out.plan, 0) + 1
                    if reached is None and out.plan in held and not out.probe:
                        reached = (i, (start - changed) * 1e3)
                        steady_from = len(client.switches)
                events = client.switches[switches_before:]
                phases.append(
                    {
                        "edge_cloud_mbps": mbps,
                        "from_plan": before,
                        "target_plan": target,
                        "held_plans": held,
                        "switch_after_requests": None if reached is None else reached[0],
                        "switch_ms": None if reached is None else reached[1],
                        "switches_while_steady": None
                        if reached is None
                        else len(client.switches) - steady_from,
                        "switches": [(e.from_plan, e.to_plan, e.request) for e in events],
                        "probes": client.probes - probes_before,
                        "requests_per_plan": used,
                        "estimate_mbps_at_end": client.down.rate_mbps,
                    }
                )
            probes = client.probes
            fixed_ms: list[float] = []
            for k, mbps in enumerate(rates):
                link.set_rate(mbps * 1e6 / 8)
                for i in range(args.per_phase):
                    result = client.run(fixed, images[(k * args.per_phase + i) % len(images)])
                    fixed_ms.append(result.timings["total_ms"])
    return {
        "phases": phases,
        "probes": probes,
        "adaptive_mean_ms": float(np.mean(latencies)),
        "fixed_mean_ms": float(np.mean(fixed_ms)),
        "adaptive_phase_means_ms": [
            float(np.mean(latencies[k * args.per_phase : (k + 1) * args.per_phase]))
            for k in range(len(rates))
        ],
        "fixed_phase_means_ms": [
            float(np.mean(fixed_ms[k * args.per_phase : (k + 1) * args.per_phase]))
            for k in range(len(rates))
        ],
        "over_predicted": len(over),
        "over_predicted_max_ms": max(over, default=0.0),
    }


def test_images(size: int, count: int = 20) -> Any:
    """The digits test split's first `count` images at `size` (resized from 32x32: cheap)."""
    from cnnpc._keras import tf
    from cnnpc.workloads import digits

    x = digits(32).test.x[:count]
    return np.clip(tf.image.resize(x, (size, size)).numpy(), 0.0, 1.0).astype(np.float32)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plan", required=True, help="a 'cnnpc deploy --adaptive' folder")
    parser.add_argument("--rates", default="20,1,20", help="edge->cloud Mbps per phase")
    parser.add_argument("--per-phase", type=int, default=35, help="requests per phase (35)")
    parser.add_argument("--probe-every", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument(
        "--hysteresis", type=float, default=None, help="the rule's hysteresis (the set's)"
    )
    args = parser.parse_args(argv)
    if not 1 <= args.per_phase <= 200 or not 1 <= args.repeats <= 10:
        parser.error("--per-phase must be in [1, 200] and --repeats in [1, 10]")

    from cnnpc.planset import check_hysteresis
    from cnnpc.records import load_plan_set, switches

    table, plans = load_plan_set(args.plan)
    if args.hysteresis is not None:  # the same plans under another switching rule
        h = check_hysteresis(args.hysteresis)
        table = dataclasses.replace(
            table, hysteresis=h, switches=switches(table.plans, table.links, h)
        )
    fixed = table.best(table.links).label  # plan.json: the set's plan at the search's rate
    size = plans[fixed].image_size
    images = test_images(size)
    report = {
        "plan_set": args.plan,
        "image_size": size,
        "uplink_mbps": table.links.uplink_mbps,
        "design_mbps": table.links.bandwidth_mbps,
        "fixed_plan": fixed,
        "hysteresis": table.hysteresis,
        "plans": {
            p.label: {
                "mode": p.mode,
                "splits": list(p.splits),
                "compute_ms": list(p.compute_ms),
                "predicted_ms": {
                    r: round(p.predict_ms(dataclasses.replace(table.links, bandwidth_mbps=r)), 2)
                    for r in sorted({float(x) for x in args.rates.split(",")})
                },
            }
            for p in table.plans
        },
        "runs": [one_run(args, table, plans, fixed, images) for _ in range(args.repeats)],
    }
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
