"""`cnnpc validate --calibrate`, measured: the median error of the total before and after
calibration, on the token bucket and in network namespaces, at 64x64 and 224x224.

    python benchmarks/bench_calibration.py [--plans DIR] [--requests 200] [--warmup 3]
                                           [--repeats 15] [--sizes 64 224]
                                           [--shapings bucket netns]

The plan is the README's: mobilenet (width 1.0, quantization-aware, untrained: the weights do
not change the timings) split end -> edge -> cloud after block10 and block16, unpruned, the links
at 20 and 16 Mbps, deployed at each size with the digits workload's images. The host profile is
`cnnpc profile`'s (cnnpc.profiling.profile_host) at the same size, `--repeats` samples per
segment, unpruned widths only (the plan keeps every channel, so the regressor is never asked).
`--plans DIR` keeps plans and profiles (built once, reused: the same plans measure two versions
of the runtime); calibration files are deleted before each shaping's first run.

Per size and shaping (netns only where cnnpc.validate.netns_unavailable_reason() is None, else
its reason is printed) four runs of `cnnpc validate 1 --plan DIR --profile-dir DIR --json`, each
its own process as a user runs them: an uncalibrated one, the calibrating one (`--calibrate`: its
own prediction is still uncalibrated; it pools validate's default number of rounds, each on
servers started afresh, and stores the fit), and two judged with the stored calibration. Per
run: the predicted and measured median total (with the measured p10 and p90), the median error
of the total, each component (predicted / measured median), and the fixed costs and compute
scales its requests show. Prints one JSON
object; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

SIZES = (64, 224)
LAYOUT = (5, 7, 8)
"""end runs segments [0, 5) (to block10), edge [5, 7) (to block16), cloud [7, 8) (the head)."""
RATES = (20.0, 16.0)
"""end->edge and edge->cloud, Mbps."""
SHAPINGS = ("bucket", "netns")
RUNS = (("uncalibrated", False), ("calibrating", True), ("judged", False), ("judged", False))


def build_plan(folder: Path, size: int) -> None:
    from cnnpc._keras import keras, tfmot
    from cnnpc.deploy import Layout, build_deployment, plan_document, write_plan_folder
    from cnnpc.models import build_model
    from cnnpc.records import LinkSetting, PlanHead
    from cnnpc.spaces import load_space

    keras.utils.set_random_seed(0)
    model = tfmot.quantization.keras.quantize_model(build_model("mobilenet", 10, size))
    images = np.random.default_rng(0).random((8, size, size, 3), dtype=np.float32)
    rates = LinkSetting(uplink_mbps=RATES[0], bandwidth_mbps=RATES[1])
    parts, links, files = build_deployment(
        model, load_space("mobilenet"), Layout(*LAYOUT), images, rates
    )
    meta = {
        "model": "mobilenet",
        "workload": {"name": "digits", "image_size": size, "classes": [str(i) for i in range(10)]},
    }
    head = PlanHead.parse(meta, "bench")
    write_plan_folder(folder, plan_document(head, size, parts, links, files), files)


def build_profile(root: Path, size: int, repeats: int) -> None:
    from cnnpc.profiling import profile_host

    profile_host("mobilenet", image_size=size, repeats=repeats, keeps=(1.0,), out=root)


def run_row(kind: str, report: dict[str, Any]) -> dict[str, Any]:
    """One validate run's figures (`cnnpc validate --json`'s object)."""
    rows = {r["key"]: r for r in report["components"]}
    total = rows["total_ms"]
    return {
        "run": kind,
        "requests": report["requests"],
        "predicted_total_ms": total["predicted_ms"],
        "measured_total_ms": total["measured_ms"],
        "measured_total_p10_p90_ms": [total["p10_ms"], total["p90_ms"]],
        "median_error_pct": report["median_abs_error_total_pct"],
        "components": {
            key: {"predicted_ms": r["predicted_ms"], "measured_ms": r["measured_ms"]}
            for key, r in rows.items()
        },
        "calibrated": report["calibration"] is not None,
        "fitted": None if report["fitted"] is None else fitted_row(report["fitted"]),
    }


def fitted_row(cal: dict[str, Any]) -> dict[str, float]:
    """A stored calibration's fixed costs and compute scales."""
    keys = ("runtime_ms", "uplink_message_ms", "message_ms", "requests")
    scales = tuple(f"{tier}_compute_scale" for tier in ("end", "edge", "cloud"))
    return {key: cal[key] for key in (*keys, *scales)}


def validate_once(plan: Path, profile: Path, requests: int, warmup: int, *flags: str) -> Any:
    """`cnnpc validate` in a process of its own (what a user runs), its --json object."""
    argv = [sys.executable, "-m", "cnnpc", "validate", "1", "--plan", str(plan)]
    argv += ["--profile-dir", str(profile), "--requests", str(requests)]
    argv += ["--warmup", str(warmup), "--json", *flags]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {done.stderr.strip()[-400:]}")
    return json.loads(done.stdout)


def measure_shaping(
    plan: Path, profile: Path, shaping: str, requests: int, warmup: int
) -> dict[str, Any]:
    from cnnpc.latency import calibration_path
    from cnnpc.profiling import host_cost_model
    from cnnpc.validate import NETNS_DEVICE

    netns = shaping == "netns"
    folder = host_cost_model("mobilenet", profile_dir=profile).folder
    stored = calibration_path(folder, f"{NETNS_DEVICE}_mtu1500" if netns else "host")
    stored.unlink(missing_ok=True)
    runs = []
    for kind, calibrate in RUNS:
        flags = ["--netns"] if netns else []
        flags += ["--calibrate"] if calibrate else []
        began = time.perf_counter()
        report = validate_once(plan, profile, requests, warmup, *flags)
        runs.append({**run_row(kind, report), "seconds": round(time.perf_counter() - began, 1)})
        print(
            f"{plan.name} {shaping} {kind}: predicted {runs[-1]['predicted_total_ms']:.3f} ms, "
            f"measured {runs[-1]['measured_total_ms']:.3f} ms, "
            f"error {runs[-1]['median_error_pct']:.1f} %",
            file=sys.stderr,
        )
    return {"runs": runs, "calibration": runs[1]["fitted"]}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plans", type=Path, help="folder to keep plans and profiles in")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=15, help="host profile samples")
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--shapings", nargs="+", choices=SHAPINGS, default=list(SHAPINGS))
    args = parser.parse_args(argv)
    from cnnpc.validate import netns_unavailable_reason

    root = args.plans or Path(tempfile.mkdtemp(prefix="cnnpc-bench-calibration-"))
    root.mkdir(parents=True, exist_ok=True)
    out: dict[str, Any] = {
        "requests": args.requests,
        "warmup": args.warmup,
        "profile_repeats": args.repeats,
        "layout": list(LAYOUT),
        "rates_mbps": list(RATES),
        "sizes": {},
    }
    for size in args.sizes:
        plan, profile = root / f"plan{size}", root / f"profile{size}"
        if not (plan / "plan.json").exists():
            build_plan(plan, size)
        if not (profile / "mobilenet" / "meta.yaml").exists():
            build_profile(profile, size, args.repeats)
        from cnnpc.records import load_plan

        entry: dict[str, Any] = {"link_bytes": [lk.bytes for lk in load_plan(plan).links]}
        for shaping in args.shapings:
            reason = netns_unavailable_reason() if shaping == "netns" else None
            if reason is not None:
                entry[shaping] = {"skipped": reason}
                continue
            entry[shaping] = measure_shaping(plan, profile, shaping, args.requests, args.warmup)
        out["sizes"][str(size)] = entry
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
