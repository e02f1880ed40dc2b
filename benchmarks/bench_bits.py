"""The main cell searched with the split tensor's bit width against int8 only (issue 22).

Each cell is `cnnpc search --model mobilenet --device MI8 --acc-floor 0.896 --json` as a user
runs it (its own process, its own fresh database; the fine-tunes are shared through the user's
cache, so a run after another measures only what is new), at each bandwidth, with `--bits 8`,
`--bits 8,4,2` and `--bits 8,4,2 --entropy zstd`. Prints a markdown table: latency, traffic per
inference, validation and test accuracy, fine-tunes, the widths chosen, wall time.

    python benchmarks/bench_bits.py [--bandwidths 10,1,50] [--variants int8,bits,zstd]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

VARIANTS = {
    "int8": [],
    "bits": ["--bits", "8,4,2"],
    "zstd": ["--bits", "8,4,2", "--entropy", "zstd"],
}
CELL = ["--model", "mobilenet", "--device", "MI8", "--acc-floor", "0.896", "--json"]


def run(bandwidth: float, variant: str, root: Path) -> dict[str, object]:
    db = root / f"{variant}-{bandwidth:g}.db"
    args = [sys.executable, "-m", "cnnpc", "search", *CELL, "--bandwidth", f"{bandwidth:g}"]
    args += [*VARIANTS[variant], "--storage", f"sqlite:///{db}"]
    start = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed: {done.stderr.strip()}")
    report = json.loads(done.stdout)
    best = report["best"]
    bits = {k[: -len("@bits")]: int(v) for k, v in best["keep"].items() if k.endswith("@bits")}
    keep = {k: v for k, v in best["keep"].items() if not k.endswith("@bits")}
    return {
        "Mbps": f"{bandwidth:g}",
        "variant": variant,
        "latency ms": f"{best['latency_ms']:.2f}",
        "traffic B": f"{best['traffic_bytes']:,.0f}",
        "val": f"{best['val_accuracy']:.4f}",
        "test": f"{best['test_accuracy']:.4f}",
        "fine-tunes": str(report["finetunes"]),
        "splits": " + ".join(best["splits"]),
        "keep": " ".join(f"{k}={v:g}" for k, v in keep.items()) or "-",
        "bits": " ".join(f"{k}={v}" for k, v in bits.items()) or "8",
        "wall s": f"{wall:.0f}",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bandwidths", default="10,1,50")
    parser.add_argument("--variants", default="int8,bits,zstd")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for bandwidth in (float(b) for b in args.bandwidths.split(",")):
            for variant in args.variants.split(","):
                rows.append(run(bandwidth, variant, Path(tmp)))
                print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    header = list(rows[0])
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(str(row[h]) for h in header) + " |")


if __name__ == "__main__":
    main()
