"""How well the supernet's estimates rank configurations: Spearman and Kendall against fine-tunes.

Phases (each a short TensorFlow run; results in OUT as JSON, fine-tunes in the oracle's disk cache,
so a phase that stopped is resumed for free):

  python benchmarks/bench_supernet.py estimate --out OUT        # train/load supernet, estimate
  python benchmarks/bench_supernet.py finetune --out OUT --epochs E --max-seconds S
  python benchmarks/bench_supernet.py report --out OUT          # rank correlations

  python benchmarks/bench_supernet.py table --out OUT --like EXPORTED.csv FILE.csv

`table` writes the fine-tunes as an accuracy table (`cnnpc accuracy import` format) with the
model, workload and budget key of EXPORTED.csv (`cnnpc accuracy export` of a search that used the
same fine-tune budget), so they join that search's cache cell.

`finetune` starts no fine-tune after S seconds, so one run holds TensorFlow for at most about
S + one fine-tune: run it again (it resumes) until it prints "36 of 36". `--float` estimates
with a supernet trained without quantization-aware training (`SandwichRecipe(quantize=False)`),
written to OUT/estimates-float.json, which `report --float` reads.

The configurations: every prunable candidate of mobilenet alone at keep 1/8, 1/4, 1/2 and 3/4
(28), and 8 random two-candidate prunings (seeded): spread over the grid, as splits prune.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

MODEL = "mobilenet"


def configurations() -> list[dict[str, float]]:
    from cnnpc.spaces import load_space

    space = load_space(MODEL)
    names = [c.name for c in space.candidates if c.prunable]
    configs = [{n: f} for n in names for f in (0.125, 0.25, 0.5, 0.75)]
    rng = random.Random(0)
    while len(configs) < 36:
        a, b = rng.sample(names, 2)
        configs.append({a: rng.choice((0.25, 0.5, 0.75)), b: rng.choice((0.25, 0.5, 0.75))})
    return configs


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.is_file() else {}


def _estimates(out: Path, quantized: bool) -> Path:
    return out / ("estimates.json" if quantized else "estimates-float.json")


def estimate(out: Path, quantized: bool) -> None:
    from cnnpc.oracle import default_cache_dir, open_oracle
    from cnnpc.records import keep_key
    from cnnpc.supernet import SandwichRecipe, trained_supernet

    oracle = open_oracle(MODEL, progress=False)
    start = time.perf_counter()
    recipe = SandwichRecipe(quantize=quantized)
    net = trained_supernet(
        oracle.baseline, oracle.workload, oracle.space, 0, default_cache_dir(), recipe
    )
    setup = time.perf_counter() - start
    found = _load(_estimates(out, quantized))
    found["supernet"] = {
        "key": net.key,
        "train_seconds": net.train_seconds,
        "from_cache": net.from_cache,
        "load_or_train_seconds": setup,
        "quantized": quantized,
    }
    rows = found.setdefault("rows", {})
    for config in [{}, *configurations()]:
        key = keep_key(config)
        if key not in rows:
            e = net.estimate(config)
            rows[key] = {
                "config": config,
                "val": e.val_accuracy,
                "test": e.test_accuracy,
                "seconds": e.seconds,
            }
            print(key, rows[key], flush=True)
    _estimates(out, quantized).write_text(json.dumps(found, indent=1))


def finetune(out: Path, epochs: int, max_seconds: float) -> None:
    from cnnpc.compression import FinetuneBudget
    from cnnpc.oracle import open_oracle
    from cnnpc.records import keep_key

    oracle = open_oracle(MODEL, budget=FinetuneBudget(epochs=epochs), progress=False)
    path = out / f"finetunes-e{epochs}.json"
    rows = _load(path)
    start = time.perf_counter()
    for config in configurations():
        key = keep_key(config)
        if key in rows:
            continue
        if time.perf_counter() - start > max_seconds:
            break
        r = oracle.evaluate(config)
        rows[key] = {
            "config": config,
            "val": r.val_accuracy,
            "test": r.test_accuracy,
            "seconds": r.finetune_seconds,
            "cached": r.from_cache,
        }
        print(key, rows[key], flush=True)
        path.write_text(json.dumps(rows, indent=1))
    print(f"{len(rows)} of {len(configurations())} fine-tuned", flush=True)


def report(out: Path, epochs: int, quantized: bool, floor: float) -> None:
    from scipy.stats import kendalltau, spearmanr

    est = _load(_estimates(out, quantized))["rows"]
    tuned = _load(out / f"finetunes-e{epochs}.json")
    keys = [k for k in tuned if k in est]
    result: dict[str, Any] = {"n": len(keys), "estimates": _estimates(out, quantized).name}
    for split in ("val", "test"):
        e = [est[k][split] for k in keys]
        f = [tuned[k][split] for k in keys]
        diff = [b - a for a, b in zip(e, f, strict=True)]
        result |= {
            f"spearman_{split}": spearmanr(e, f).statistic,
            f"kendall_{split}": kendalltau(e, f).statistic,
            f"finetuned_minus_estimated_{split}": {
                "mean": sum(diff) / len(diff),
                "min": min(diff),
                "max": max(diff),
            },
        }
    feasible = [(est[k]["val"] >= floor, tuned[k]["val"] >= floor) for k in keys]
    result["floor"] = {
        "floor": floor,
        "agree": sum(a == b for a, b in feasible),
        "estimated_feasible_finetuned_not": sum(a and not b for a, b in feasible),
        "estimated_infeasible_finetuned_feasible": sum(b and not a for a, b in feasible),
    }
    result["estimate_seconds_mean"] = sum(est[k]["seconds"] for k in keys) / max(1, len(keys))
    result["finetune_seconds_mean"] = sum(tuned[k]["seconds"] for k in keys) / max(1, len(keys))
    print(json.dumps(result, indent=1))


def table(out: Path, epochs: int, like: Path, path: Path) -> None:
    from cnnpc.accuracy import TableRow, format_table, kept_of, read_table
    from cnnpc.spaces import load_space

    cell = read_table(like, model=MODEL)
    space = load_space(MODEL)
    tuned = _load(out / f"finetunes-e{epochs}.json")
    rows = [
        TableRow(kept_of(space, r["config"]), r["val"], r["test"], r["seconds"], i)
        for i, r in enumerate(tuned.values(), start=1)
    ]
    path.write_text(format_table(cell.model, cell.workload, cell.budget_key, rows))
    print(f"wrote {len(rows)} rows to {path} (budget key {cell.budget_key})")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("phase", choices=("estimate", "finetune", "report", "table"))
    p.add_argument("file", nargs="?", type=Path, help="table: the CSV to write")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--epochs", type=int, default=3, help="fine-tune epochs (3: cnnpc's default)")
    p.add_argument("--max-seconds", type=float, default=240.0)
    p.add_argument("--float", action="store_true", help="a supernet trained without QAT")
    p.add_argument("--floor", type=float, default=0.896, help="agreement on this floor")
    p.add_argument("--like", type=Path, help="table: an exported table of the same budget")
    args = p.parse_intermixed_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.phase == "estimate":
        estimate(args.out, not args.float)
    elif args.phase == "finetune":
        finetune(args.out, args.epochs, args.max_seconds)
    elif args.phase == "table":
        if args.like is None or args.file is None:
            p.error("table needs --like EXPORTED.csv and FILE")
        table(args.out, args.epochs, args.like, args.file)
    else:
        report(args.out, args.epochs, not args.float, args.floor)
    return 0


if __name__ == "__main__":
    sys.exit(main())
