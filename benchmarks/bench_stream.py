"""A stream's frame rate, predicted against measured: three plans, windows 1, 2 and 4.

    python benchmarks/bench_stream.py --plan DIR [--model mobilenet] [--device MI8]
                                      [--uplink 20] [--bandwidth 50] [--windows 1,2,4]
                                      [--frames 60] [--repeats 1]

The three plans are the planner's for the shipped profile at the given rates, priced with their
pipeline stages (`plan --objective throughput`): the latency-optimal plan, the
throughput-optimal plan and the edge-only baseline (all on the edge; uplink-bound). Each stage
vector (end, uplink, edge, downlink, cloud ms) is then run through real servers on loopback:

- DIR is any deployed plan that uses both links (end -> edge -> cloud; the tests' tiny plan
  will do): its parts stand in for every plan, since only the stage times are emulated;
- each tier's compute is paced to the plan's time for it (`PacedPart`: the real invoke, then a
  sleep, the tier's lock held, as `benchmarks/bench_adaptive.py` emulates a profile's tiers);
- each link is shaped (the sender's token bucket, shared by the frames on it) to the rate that
  makes DIR's tensor take the plan's time on that link; a stage of 0 ms gets 0.01 ms;
- the runtime's own costs (gRPC on loopback, threads, quantising) are real.

Predicted: `pipeline_fps` of the stages: min(K / sum of the stages, 1 / slowest stage) with K
frames in flight (K large: the planner's frame rate, 1 / slowest). Measured: `cnnpc.runtime
.stream`'s steady-state frames per second after 2K warm-up frames (the median of `--repeats`),
and the frames' median latency. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from typing import Any

import numpy as np

MIN_LINK_MS = 0.01


def three_plans(args: Any) -> dict[str, Any]:
    """The latency-optimal, throughput-optimal and edge-only plans, with their stages."""
    from cnnpc.planner import planner_for

    planner = planner_for(
        args.model,
        args.device,
        bandwidth_mbps=args.bandwidth,
        uplink_mbps=args.uplink,
        throughput=True,
    )
    return {
        "latency_optimal": planner.choose(),
        "throughput_optimal": planner.choose(objective="throughput"),
        "edge_only": planner.baselines()["edge_only"],
    }


def at_link_times(plan: Any, link_ms: tuple[float, float]) -> Any:
    """`plan` with each link's rate set so its tensor takes `link_ms` (end->edge, edge->cloud)."""
    links = []
    for link, ms in zip(plan.links, link_ms, strict=True):
        seconds = max(ms, MIN_LINK_MS) / 1e3
        mbps = link.coded_bytes * 8 / seconds / link.mbit_bits
        links.append(dataclasses.replace(link, bandwidth_mbps=mbps))
    return dataclasses.replace(plan, links=tuple(links))


def measure(deployed: Any, stages: tuple[float, ...], windows: list[int], args: Any) -> Any:
    from cnnpc.runtime import Limits, PlanClient, pace_client, paced_servers, stream

    end, up, edge, down, cloud = stages
    plan = at_link_times(deployed, (up, down))
    compute = (end, edge, cloud)
    images = [np.random.default_rng(i).random(plan.input.shape[1:], np.float32) for i in range(8)]
    frames = [images[i % len(images)] for i in range(args.frames)]
    out = {}
    limits = Limits(max_connections=max(windows))
    with (
        paced_servers(plan, compute, limits) as address,
        PlanClient(plan, address, shape=True) as client,
    ):
        pace_client(client, end)
        for window in windows:
            runs = [stream(client, frames, window, limit=max(windows)) for _ in range(args.repeats)]
            out[window] = {
                "fps": float(np.median([r.fps for r in runs])),
                "latency_median_ms": float(np.median([r.median_ms for r in runs])),
                "latency_p90_ms": float(np.median([r.p90_ms for r in runs])),
            }
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plan", required=True, help="a deployed plan using both links")
    parser.add_argument("--model", default="mobilenet")
    parser.add_argument("--device", default="MI8")
    parser.add_argument("--uplink", type=float, default=20.0, help="end->edge Mbps (20)")
    parser.add_argument("--bandwidth", type=float, default=50.0, help="edge->cloud Mbps (50)")
    parser.add_argument("--windows", default="1,2,4", help="frames in flight (1,2,4)")
    parser.add_argument("--frames", type=int, default=60, help="frames per stream (60)")
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args(argv)
    windows = [int(w) for w in args.windows.split(",")]
    if not 1 <= args.repeats <= 10 or not 10 <= args.frames <= 1000:
        parser.error("--repeats must be in [1, 10] and --frames in [10, 1000]")

    from cnnpc.latency import STAGES
    from cnnpc.records import load_plan
    from cnnpc.runtime import pipeline_fps

    deployed = load_plan(args.plan)
    report: dict[str, Any] = {
        "model": args.model,
        "device": args.device,
        "uplink_mbps": args.uplink,
        "bandwidth_mbps": args.bandwidth,
        "frames": args.frames,
        "repeats": args.repeats,
        "plans": {},
    }
    for name, plan in three_plans(args).items():
        stages = tuple(float(s) for s in plan.stages)
        measured = measure(deployed, stages, windows, args)
        report["plans"][name] = {
            "layout": [plan.a, plan.b],
            "mode": plan.mode,
            "latency_ms": plan.latency_ms,
            "stages_ms": dict(zip(STAGES, stages, strict=True)),
            "planner_fps": plan.fps,
            "windows": {
                str(w): {"predicted_fps": pipeline_fps(stages, w)} | measured[w] for w in windows
            },
        }
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
