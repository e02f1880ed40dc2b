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

On an accuracy table (`--table FILE`, see `cnnpc accuracy export`) nothing is trained: every
strategy runs the real search (runner, surrogate, skip rules, SQLite) with its accuracies looked
up in the table, each run in a cache cell of its own, and the summary gives, per strategy, the
mean and spread over `--seeds N` seeds of the gap to the table's optimum (the fastest row that
meets the floor, priced by the planner), of the configurations it asked the table for and of
how many of those the table lacks ("unmeasured": a search records them as pruned, never as
feasible, so on a partial table a strategy can only find the rows that are there).
tpe and random stop at `--trials`; exhaustive and cnnpc are deterministic and run once, to
their own end (`--exhaustive-trials` at most). `--keep-grid channels` searches CNNPC's
per-channel grid. `--make-table FILE --keep-grid G` first writes a synthetic table of every
split-aware configuration of the grid (see `synthetic_accuracy`), or `--rows N` of them.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import statistics
import tempfile
import time
import zlib
from collections.abc import Mapping
from pathlib import Path

from cnnpc.accuracy import AccuracyTable, TableRow, TableSource, format_table, kept_of, read_table
from cnnpc.planner import Planner
from cnnpc.records import KeepConfig, keep_key
from cnnpc.search import (
    Measurement,
    SearchSettings,
    Unmeasured,
    normalise,
    run_search,
    split_aware_grid,
)
from cnnpc.search._oracle_source import OracleSource, oracle_source
from cnnpc.search._strategies import StrategyContext, exhaustive
from cnnpc.spaces import parse_keep_grid
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

    @property
    def epochs(self) -> int | None:
        return self.source.epochs

    @property
    def table_rows(self) -> None:
        return None

    def measure(self, config: Mapping[str, float]) -> Measurement:
        before = self.source.oracle.finetunes
        self.calls += 1
        result = self.source.measure(config)
        self.real_finetunes += self.source.oracle.finetunes - before
        return result


def _best(storage: Storage, search_id: int) -> dict[str, object]:
    """The search's best feasible trial as the rows below report it (empty: none feasible)."""
    t = storage.best_trial(search_id)
    if t is None:
        return {}
    return {
        "latency_ms": t.latency_ms,
        "val_accuracy": t.val_accuracy,
        "test_accuracy": t.test_accuracy,
        "splits": list(t.splits),
        "keep": t.keep,
    }


def _seeds(text: str) -> list[int]:
    """'10': seeds 0..9; '3,7': those seeds."""
    if "," not in text:
        return list(range(int(text)))
    return [int(x) for x in text.split(",")]


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
                best = _best(storage, result.search_id)
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


PENALTY = {  # accuracy lost by keeping a fraction f of a candidate: weight * (1 - f) ** 2
    "conv1": 0.30,
    "block1": 0.25,
    "block3": 0.20,
    "block6": 0.15,
    "block10": 0.10,
    "block13": 0.08,
    "block16": 0.05,
}


def synthetic_accuracy(config: Mapping[str, float]) -> float:
    """The documented synthetic accuracy of a mobilenet configuration (not a measurement):
    0.97 - sum over pruned candidates of PENALTY * (1 - kept fraction)^2 (the test suite's
    synthetic source), plus a deterministic noise of standard deviation 0.002 seeded by the
    configuration, as fine-tunes are noisy (so interpolation and bisection are not exact)."""
    key = keep_key(config)
    noise = random.Random(zlib.crc32(key.encode())).gauss(0.0, 0.002) if config else 0.0
    return 0.97 - sum(PENALTY[k] * (1.0 - v) ** 2 for k, v in config.items()) + noise


def make_table(path: Path, planner: Planner, n_rows: int | None = None) -> int:
    """Write the synthetic table of every split-aware configuration of the planner's grid, or
    of `n_rows` of them (the unpruned model and a sample seeded by 0)."""
    space = planner.profile.space
    configs = list(split_aware_grid(space))
    if n_rows is not None and n_rows < len(configs):
        configs = [configs[0], *random.Random(0).sample(configs[1:], n_rows - 1)]
    rows = [
        TableRow(kept_of(space, c), round(a, 6), round(a - 0.005, 6), 0.0, i)
        for i, c in enumerate(configs, 1)
        for a in [min(1.0, max(0.0, synthetic_accuracy(c)))]
    ]
    path.write_text(format_table(space.model, "synthetic", "synthetic-v1", rows))
    return len(rows)


class Lookups:
    """A table source in a cache cell of its own (one per run): counts what the run asked."""

    trains = False

    def __init__(self, source: TableSource, tag: str) -> None:
        self.source = source
        self.tag = tag

    @property
    def workload(self) -> str:
        return self.source.workload

    @property
    def budget_key(self) -> str:
        return f"{self.source.budget_key},bench={self.tag}"

    @property
    def epochs(self) -> int | None:
        return None

    @property
    def table_rows(self) -> tuple[KeepConfig, ...]:
        return self.source.table_rows

    def measure(self, config: Mapping[str, float]) -> Measurement:
        return self.source.measure(config)


def table_optimum(table: AccuracyTable, planner: Planner, floor: float) -> float:
    """The fastest row of the table whose validation accuracy meets the floor."""
    space = planner.profile.space
    return min(
        planner.best(KeepConfig.from_fractions(planner.profile.space, r.config(space))).latency_ms
        for r in table.rows
        if r.val_accuracy >= floor
    )


def exhaustive_direct(planner: Planner, source: TableSource, floor: float) -> tuple[float, int]:
    """Exhaustive in latency order without the runner's storage (seconds instead of an hour
    for 6,000+ trials): the same generator and stopping rule, the table asked for each reduced
    configuration once, the baseline first as the runner's trial 0. Exhaustive uses no
    surrogate, so the runner asks exactly these (checked on the fraction grid: same count). A
    configuration the table lacks is not feasible, as in the runner."""
    best: float | None = None
    ctx = StrategyContext(
        planner=planner,
        space=planner.profile.space,
        floor=floor,
        accuracy=lambda config: None,
        estimate=lambda config: None,
        best_latency=lambda: best,
    )
    seen: set[str] = set()
    for config in itertools.chain([{}], exhaustive(ctx)):  # lazily: the stop reads `best`
        reduced, plan = normalise(planner, config)
        if keep_key(reduced) in seen:
            continue
        seen.add(keep_key(reduced))
        try:
            feasible = source.measure(reduced).val_accuracy >= floor
        except Unmeasured:  # as the runner records it: pruned, never feasible
            feasible = False
        if feasible:
            best = plan.latency_ms if best is None else min(best, plan.latency_ms)
    assert best is not None, "the table's unpruned row must meet the floor"
    return best, len(seen)


def run_table(args: argparse.Namespace) -> list[dict[str, object]]:
    grid = None if args.keep_grid is None else parse_keep_grid(args.keep_grid)
    settings_base = {
        "model": args.model,
        "device": args.device,
        "bandwidth_mbps": args.bandwidth,
        "acc_floor": args.acc_floor,
        "keep_grid": grid,
    }
    planner = SearchSettings(**settings_base).planner()
    if args.make_table:
        written = make_table(args.table, planner, args.rows)
        print(f"wrote {written} synthetic rows to {args.table}")
    table = read_table(args.table, model=args.model)
    optimum = table_optimum(table, planner, args.acc_floor)
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(dir="/dev/shm" if Path("/dev/shm").is_dir() else None) as tmp:
        storage = Storage(f"sqlite:///{Path(tmp) / 'bench.db'}")
        storage.upgrade()
        for strategy in args.strategies:
            deterministic = strategy in ("exhaustive", "cnnpc")
            for seed in args.seeds[:1] if deterministic else args.seeds:
                source = TableSource(table)
                trials = args.exhaustive_trials if deterministic else args.trials  # to their end
                settings = SearchSettings(
                    **settings_base,
                    strategy=strategy,
                    trials=trials,
                    seed=seed,
                )
                started = time.perf_counter()
                lat: float | None
                if strategy == "exhaustive" and args.exhaustive_direct:
                    lat, n_trials = exhaustive_direct(planner, source, args.acc_floor)
                else:
                    result = run_search(settings, Lookups(source, f"{strategy}/{seed}"), storage)
                    found = storage.best_trial(result.search_id)
                    lat = None if found is None else found.latency_ms
                    n_trials = result.trials
                rows.append(
                    {
                        "strategy": strategy,
                        "seed": seed,
                        "trials": n_trials,
                        "asked": source.asked,
                        "unmeasured": source.missing,
                        "best_latency_ms": lat,
                        "optimum_ms": optimum,
                        "gap_pct": None if lat is None else 100.0 * (float(lat) / optimum - 1.0),
                        "seconds": round(time.perf_counter() - started, 1),
                    }
                )
                print(json.dumps(rows[-1]), flush=True)
        storage.close()
    return rows


def summary(rows: list[dict[str, object]]) -> str:
    """Mean and spread (population std, min..max) over seeds, per strategy."""
    lines = [
        "| strategy | runs | gap to optimum, mean ± std (min..max) | configurations asked, "
        "mean ± std (min..max) | of which unmeasured, mean ± std (min..max) | none feasible "
        "| s per run |",
        "|---|---|---|---|---|---|---|",
    ]
    for strategy in dict.fromkeys(str(r["strategy"]) for r in rows):
        mine = [r for r in rows if r["strategy"] == strategy]
        gaps = [float(str(r["gap_pct"])) for r in mine if r["gap_pct"] is not None]
        asked = [float(str(r["asked"])) for r in mine]
        unmeasured = [float(str(r["unmeasured"])) for r in mine]
        secs = statistics.mean(float(str(r["seconds"])) for r in mine)

        def spread(xs: list[float], unit: str) -> str:
            if not xs:
                return "—"
            sd = statistics.pstdev(xs) if len(xs) > 1 else 0.0
            return f"{statistics.mean(xs):.2f}{unit} ± {sd:.2f} ({min(xs):.2f}..{max(xs):.2f})"

        lines.append(
            f"| {strategy} | {len(mine)} | {spread(gaps, ' %')} | {spread(asked, '')} "
            f"| {spread(unmeasured, '')} | {len(mine) - len(gaps)} | {secs:.1f} |"
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
    p.add_argument(
        "--seeds",
        type=_seeds,
        default=[0],
        help="N (seeds 0..N-1) or a comma list of seeds",
    )
    p.add_argument(
        "--strategies", type=lambda s: s.split(","), default=list(STRATEGIES), metavar="LIST"
    )
    p.add_argument("--json", type=Path, default=None, help="also write the rows here")
    p.add_argument("--table", type=Path, default=None, help="accuracies from this table only")
    p.add_argument("--keep-grid", default=None, help="channels or fractions (table mode)")
    p.add_argument(
        "--make-table", action="store_true", help="first write a synthetic table to --table"
    )
    p.add_argument(
        "--rows", type=int, default=None, help="--make-table: this many rows (a seeded sample)"
    )
    p.add_argument(
        "--exhaustive-direct",
        action="store_true",
        help="exhaustive without the runner's storage (see exhaustive_direct)",
    )
    args = p.parse_args()
    if args.table is not None:
        rows = run_table(args)
        print(summary(rows))
    else:
        rows = run(args)
        print(table(rows))
    if args.json is not None:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
