"""LiteRT's benchmark tool (the device flow) against cnnpc's own profiler, on this host.

    python benchmarks/bench_device.py [--model resnet] [--size 16] [--keeps 1,0.5] [--runs 50]

Exports every segment at every keep fraction (`cnnpc profile export`, end tier, int8), times
the files with `cnnpc profile device` (ai_edge_litert.tools.benchmark_litert_model, invokes per
run so a run lasts about 1 ms) and times the same cut with `cnnpc profile` (LiteRT interpreter,
median of --runs samples of about 1 ms). Both run one thread. Prints one JSON object: per
segment and keep the two medians and their disagreement (|device - host| / host), and the
median and worst disagreement.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="resnet")
    parser.add_argument("--size", type=int, default=16)
    parser.add_argument("--keeps", default="1,0.5")
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    keeps = tuple(float(k) for k in args.keeps.split(","))

    from cnnpc.profiling import export_device, profile_host, read_measurements, run_device

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "export"
        export_device(args.model, folder, image_size=args.size, keeps=keeps)
        summary = run_device(folder, runs=args.runs)
        profile_host(
            args.model, image_size=args.size, keeps=keeps, repeats=args.runs, out=Path(tmp) / "p"
        )
        host = {
            (m.segment, m.keep): m.median_ms
            for m in read_measurements(Path(tmp) / "p" / args.model / "host_measurements.csv")
            if m.tier == "end"
        }
    rows = []
    for f in summary["files"]:
        ms_host = host[(f["segment"], f["keep"])]
        rows.append(
            {
                "segment": f["segment"],
                "name": f["name"],
                "keep": f["keep"],
                "litert_benchmark_ms": round(f["median_ms"], 5),
                "cnnpc_profile_ms": round(ms_host, 5),
                "disagreement_pct": round(abs(f["median_ms"] - ms_host) / ms_host * 100, 1),
            }
        )
    pct = [r["disagreement_pct"] for r in rows]
    report = {
        "model": args.model,
        "image_size": args.size,
        "runs": args.runs,
        "segments": rows,
        "median_disagreement_pct": statistics.median(pct),
        "worst_disagreement_pct": max(pct),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
