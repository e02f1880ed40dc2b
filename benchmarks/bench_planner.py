"""Benchmark (not a test): one exact solve on a synthetic 200-segment chain must take < 5 ms.

Run: python benchmarks/bench_planner.py
"""

from __future__ import annotations

import statistics
import time

from cnnpc.planner import Planner
from cnnpc.profiles import synthetic_profile
from cnnpc.records import LinkSetting


def main() -> None:
    profile = synthetic_profile(200, seed=1)
    planner = Planner(profile, LinkSetting(uplink_mbps=20.0, bandwidth_mbps=10.0))
    planner.best()  # warm-up: numpy dispatch, mask caches
    samples = []
    for _ in range(200):
        start = time.perf_counter()
        plan = planner.best()
        samples.append((time.perf_counter() - start) * 1000.0)
    median = statistics.median(samples)
    print(
        f"exact solve, 200-segment chain ({201 * 202 // 2} layouts): median {median:.3f} ms, "
        f"p95 {sorted(samples)[189]:.3f} ms over 200 solves; best {plan.mode} "
        f"{plan.latency_ms:.2f} ms -> {'OK' if median < 5.0 else 'TOO SLOW'} (< 5 ms)"
    )


if __name__ == "__main__":
    main()
