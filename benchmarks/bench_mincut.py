"""Benchmark and comparison (not a test): layer-granularity min cut vs the block planner.

For resnet and mobilenet on MI8 and MI8SE at edge->cloud 1, 5, 10 and 50 Mbps (end->edge 20 Mbps,
SI units, CNNPC's 1.66 ms overhead): the layer plan and the block plan, the tensors each sends, and
the median time of one 3-tier min-cut solve. Run: python benchmarks/bench_mincut.py
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from cnnpc.layergraph import LayerPlan, layer_planner_for
from cnnpc.planner import LinkOptions, solve_tiered_cut


def _cut(plan: LayerPlan) -> str:
    return ", ".join(f"{c.link} {c.layer} {'x'.join(map(str, c.shape))}" for c in plan.crossings)


def main() -> None:
    print(
        "model      device  up  bw   layer ms  block ms   gain ms  solve ms  cuts (layer | block)"
    )
    for model in ("resnet", "mobilenet"):
        for device in ("MI8", "MI8SE"):
            for uplink in (20.0,):
                for bandwidth in (1.0, 5.0, 10.0, 50.0):
                    layers, blocks = layer_planner_for(
                        model,
                        device,
                        bandwidth_mbps=bandwidth,
                        options=LinkOptions(uplink_mbps=uplink),
                    )
                    best = layers.best()  # warm-up (SciPy import, caches)
                    samples = []
                    for _ in range(20):
                        start = time.perf_counter()
                        best = layers.best()
                        samples.append((time.perf_counter() - start) * 1000.0)
                    block = blocks.best()
                    as_layers = layers.price(layers.block_placement(block.a, block.b))
                    print(
                        f"{model:<10} {device:<6} {uplink:>3g} {bandwidth:>3g} "
                        f"{best.latency_ms:>9.3f} {block.latency_ms:>9.3f} "
                        f"{block.latency_ms - best.latency_ms:>9.3f} "
                        f"{statistics.median(samples):>9.2f}  "
                        f"{best.mode}: {_cut(best)} | {block.mode}: {_cut(as_layers)}"
                    )


def synthetic(n: int = 1000, seed: int = 0) -> None:
    """One solve on a random n-layer DAG (each layer reads 1-2 of the 8 before it), 3 tiers."""
    rng = np.random.default_rng(seed)
    inputs = [()] + [
        tuple(sorted({v - 1, int(rng.integers(max(0, v - 8), v))})) for v in range(1, n)
    ]
    compute = rng.uniform(0.0, 1.0, (3, n)) * np.array([[10.0], [2.0], [0.5]])
    transfer = rng.uniform(0.0, 5.0, (2, n))
    solve_tiered_cut(inputs, compute, transfer, {0: 0})
    start = time.perf_counter()
    cut = solve_tiered_cut(inputs, compute, transfer, {0: 0})
    elapsed = (time.perf_counter() - start) * 1000.0
    print(
        f"random {n}-layer DAG, 3 tiers: one min-cut solve {elapsed:.1f} ms (cost {cut.cost:.2f})"
    )


if __name__ == "__main__":
    main()
    synthetic()
