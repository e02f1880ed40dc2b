"""Benchmark (not a test): the search strategies side by side on one cell.

Every strategy searches the same cell (model, device, links, floor) with the same fine-tune
budget and the same trial budget (exhaustive: its own stopping rule instead). Fairness: each
strategy sees an empty accuracy cache of its own, so "fine-tunes" is exactly what it would spend
alone; the real work is shared underneath by the oracle's on-disk result cache (the same
configuration is fine-tuned once for all strategies, later strategies read it in about a
second). Exhaustive in latency order ends at the exact optimum over the grid, the reference
for the other strategies' gaps.

Run: python benchmarks/bench_strategies.py [--model mobilenet --device MI8 --bandwidth 10
     --acc-floor 0.896 --trials 12 --epochs 3 --seeds 0] [--json FILE]
(from an empty cache this trains the baseline and fine-tunes every distinct configuration any
strategy asks for: about 20-30 minutes on 2 cores with the defaults.)
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

from cnnpc.search import Measurement, SearchSettings, run_search
from cnnpc.search._oracle_source import OracleSource, oracle_source
from cnnpc.storage import Storage

STRATEGIES = ("tpe", "random", "cnnpc", "exhaustive")


class Isolated:
    """The shared oracle under a per-strategy cache key: a strategy never reads another's
    measurements from the SQL cache, so its fine-tune count is its own."""

    def __init__(self, source: OracleSource, tag: str) -> None:
        self.source = source
        self.tag = tag
        self.calls = 0
        self.real_finetunes = 0

    @property
    def workload(self) -> str:
        return self.source.workload

    @property
    def budget_key(self) -> str:
        return f"{self.source.budget_key},bench={self.tag}"

    def measure(self, config: Mapping[str, float]) -> Measurement:
        before = self.source.oracle.finetunes
        self.calls += 1
        result = self.source.measure(config)
        self.real_finetunes += self.source.oracle.finetunes - before
        return result


def run(args: argparse.Namespace) -> list[dict[str, object]]:
    source = oracle_source(args.model, epochs=args.epochs, seed=0, progress=False)
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        storage = Storage(f"sqlite:///{Path(tmp) / 'bench.db'}")
        for seed in args.seeds:
            for strategy in args.strategies:
                tagged = Isolated(source, f"{strategy}/{seed}")
                trials = args.exhaustive_trials if strategy == "exhaustive" else args.trials
                settings = SearchSettings(
                    model=args.model,
                    device=args.device,
                    bandwidth_mbps=args.bandwidth,
                    acc_floor=args.acc_floor,
                    strategy=strategy,
                    trials=trials,
                    seed=seed,
                )
                started = time.perf_counter()
                result = run_search(settings, tagged, storage)
                best = result.best or {}
                rows.append(
                    {
                        "strategy": strategy,
                        "seed": seed,
                        "trials": result.trials,
                        "finetunes": tagged.calls,
                        "new_finetunes_this_run": tagged.real_finetunes,
                        "best_latency_ms": best.get("latency_ms"),
                        "val_accuracy": best.get("val_accuracy"),
                        "test_accuracy": best.get("test_accuracy"),
                        "splits": best.get("splits"),
                        "keep": best.get("keep"),
                        "seconds": round(time.perf_counter() - started, 1),
                    }
                )
                print(json.dumps(rows[-1]), flush=True)
        storage.close()
    return rows


def table(rows: list[dict[str, object]]) -> str:
    optimum = min(
        (float(str(r["best_latency_ms"])) for r in rows if r["strategy"] == "exhaustive"),
        default=None,
    )
    lines = [
        "| strategy | seed | trials | fine-tunes | best feasible latency (ms) | gap to optimum "
        "| val / test accuracy | splits, keep |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lat = r["best_latency_ms"]
        gap = "—"
        if lat is not None and optimum is not None:
            gap = f"{100.0 * (float(str(lat)) / optimum - 1.0):+.1f} %"
        acc = (
            "—"
            if r["val_accuracy"] is None
            else f"{float(str(r['val_accuracy'])):.3f} / {float(str(r['test_accuracy'])):.3f}"
        )
        lat_text = "none feasible" if lat is None else f"{float(str(lat)):.2f}"
        lines.append(
            f"| {r['strategy']} | {r['seed']} | {r['trials']} | {r['finetunes']} | {lat_text} "
            f"| {gap} | {acc} | {r['splits']}, {r['keep']} |"
        )
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="mobilenet")
    p.add_argument("--device", default="MI8")
    p.add_argument("--bandwidth", type=float, default=10.0)
    p.add_argument("--acc-floor", type=float, default=0.896)
    p.add_argument("--trials", type=int, default=12, help="trial budget of tpe/random/cnnpc")
    p.add_argument("--exhaustive-trials", type=int, default=5000)
    p.add_argument("--epochs", type=int, default=None, help="fine-tune epochs (default budget)")
    p.add_argument("--seeds", type=lambda s: [int(x) for x in s.split(",")], default=[0])
    p.add_argument(
        "--strategies", type=lambda s: s.split(","), default=list(STRATEGIES), metavar="LIST"
    )
    p.add_argument("--json", type=Path, default=None, help="also write the rows here")
    args = p.parse_args()
    rows = run(args)
    print(table(rows))
    if args.json is not None:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
