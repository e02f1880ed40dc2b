"""IONN's incremental upload, measured: mean query latency while the model uploads to an empty
edge, against upload-plan's prediction and against uploading the whole model first; and the
time the parts alone take to upload to an empty edge (no queries), unshaped and shaped.

    python benchmarks/bench_upload.py [--size 64] [--alpha 1.0] [--slowdown 10] [--upload-s 1]
                                      [--qps 100] [--repeats 2]

The model is mobilenet on the digits workload at the digits size (64x64 by default, as
`cnnpc validate` measures it; width `--alpha`), trained a few quantization-aware steps (the
weights do not change the timings), cut into its 8 profile segments (int8 TFLite parts).
Pricing is `host_upload_planner`: the parts timed on this host, the end `--slowdown` times slower
(the client emulates that device by sleeping), int8 tensors at the boundaries. The uplink is
shaped (token bucket) to the rate that uploads the whole model in `--upload-s` s, and the
queries share it. Queries are issued at k / QPS s over the whole model's predicted upload time
(upload-plan's comparison window), each run against a fresh empty edge: once with the
incremental order, once uploading the whole model first (the edge used only when complete).
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np


def small_model(data: Any, size: int, alpha: float) -> Any:
    from cnnpc._keras import keras, tfmot
    from cnnpc.models import build_model
    from cnnpc.workloads import fit

    keras.utils.set_random_seed(0)
    model = build_model("mobilenet", data.num_classes, size, alpha=alpha)
    model = tfmot.quantization.keras.quantize_model(model)
    fit(model, data, epochs=1, learning_rate=3e-3, seed=0, steps_per_epoch=10)
    return model


def measure(plan: Any, images: np.ndarray, qps: float, slowdown: float, whole: bool) -> Any:
    from cnnpc.runtime import IncrementalClient, UploadEdgeServer, run_during_upload

    with (
        UploadEdgeServer(plan) as edge,
        IncrementalClient(
            plan, edge.address, shape=True, slowdown=slowdown, whole_first=whole
        ) as client,
    ):
        return run_during_upload(client, images, query_rate=qps, wait_upload=30.0)


def upload_s(plan: Any, shape: bool) -> float | None:
    """Seconds to upload all of `plan`'s parts to a fresh empty edge with no queries, through
    the plan's upload rate (`shape`) or as fast as loopback goes; None: it did not finish."""
    from cnnpc.runtime import TokenBucket, UploadEdgeServer, Uploader

    bucket = TokenBucket(plan.upload_mbps * plan.mbit_bits / 8.0) if shape else None
    with UploadEdgeServer(plan) as edge:
        uploader = Uploader(plan, edge.address, bucket, order=range(plan.n_segments)).start()
        try:
            uploader.wait(120.0)
        finally:
            uploader.stop()
    installed = [e.time_s for e in uploader.events if e.kind == "installed"]
    if uploader.error is not None or len(installed) < plan.n_segments:
        return None
    return max(installed)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--alpha", type=float, default=1.0)
    parser.add_argument(
        "--slowdown", default="10", help="end device slowdowns, comma-separated (10)"
    )
    parser.add_argument("--upload-s", type=float, default=1.0)
    parser.add_argument("--qps", type=float, default=100.0)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args(argv)

    from cnnpc.deploy import segment_parts
    from cnnpc.spaces import load_space
    from cnnpc.workloads import digits

    data = digits(args.size)
    model = small_model(data, args.size, args.alpha)
    space = load_space("mobilenet")
    names = [f"s{k}" for k in range(len(space.candidates) + 1)]
    parts, files = segment_parts(model, space, data.train.x, names)
    reports = [
        one_slowdown(args, parts, files, data, float(slowdown))
        for slowdown in args.slowdown.split(",")
    ]
    print(json.dumps(reports, indent=1, default=lambda x: None if math.isnan(x) else x))
    return 0


def one_slowdown(args: Any, parts: Any, files: Any, data: Any, slowdown: float) -> dict[str, Any]:
    from cnnpc.deploy import write_upload_folder
    from cnnpc.records import PlanHead, load_upload
    from cnnpc.runtime import host_upload_planner
    from cnnpc.upload import compare

    total = sum(len(b) for b in files.values())
    rate = total * 8 / args.upload_s / 1e6
    planner = host_upload_planner(parts, files, uplink_mbps=rate, slowdown=slowdown)
    with tempfile.TemporaryDirectory() as tmp:
        meta = {"model": "mobilenet", "workload": {"name": "digits"}}
        folder, order = write_upload_folder(
            Path(tmp) / "up", parts, files, planner, head=PlanHead.parse(meta, "bench")
        )
        plan = load_upload(folder)
        predicted = compare(order, args.qps)
        count = predicted.queries
        images = np.resize(data.test.x, (count, *data.test.x.shape[1:]))
        alone = {"unshaped": upload_s(plan, False), "shaped": upload_s(plan, True)}
        runs: dict[str, list[Any]] = {"incremental": [], "whole_first": []}
        for _ in range(args.repeats):
            for name in runs:
                runs[name].append(measure(plan, images, args.qps, slowdown, name == "whole_first"))
    segments = planner.profile.segments
    report: dict[str, Any] = {
        "parts_bytes": [len(files[p.file]) for p in parts],
        "edge_ms_per_segment": [s.edge_ms for s in segments],
        "size": args.size,
        "alpha": args.alpha,
        "uplink_mbps": rate,
        "slowdown": slowdown,
        "qps": args.qps,
        "queries": count,
        "upload_alone_s": alone,
        "predicted": {
            "initial_ms": order.initial.latency_ms,
            "full_ms": order.full.latency_ms,
            "steps": [
                {
                    "segments": list(s.segments),
                    "done_s": s.done_s,
                    "latency_ms": s.latency_ms,
                    "a": s.a,
                }
                for s in order.steps
            ],
            "whole_upload_s": order.whole_upload_s,
            "incremental_mean_ms": predicted.incremental_mean_ms,
            "whole_first_mean_ms": predicted.whole_first_mean_ms,
            "saved_pct": predicted.saved_pct,
        },
        "measured": {
            name: [
                {
                    "mean_ms": r.mean_ms(),
                    "predicted_for_its_splits_ms": r.predicted_mean_ms(),
                    "uploaded_s": r.uploaded_s,
                    "fallbacks": r.fallbacks,
                    "installed_s": [round(e.time_s, 3) for e in r.events if e.kind == "installed"],
                    "end_only_ms": _mean([x for x in r.results if x.a == len(parts)]),
                    "offloaded_ms": _mean([x for x in r.results if x.a < len(parts)]),
                }
                for r in rs
            ]
            for name, rs in runs.items()
        },
    }
    for name, rs in runs.items():
        report[f"{name}_mean_ms"] = float(np.mean([r.mean_ms() for r in rs]))
    report["saved_pct_measured"] = 100 * (
        1 - report["incremental_mean_ms"] / report["whole_first_mean_ms"]
    )
    return report


def _mean(results: list[Any]) -> float | None:
    if not results:
        return None
    return float(np.mean([r.result.timings["total_ms"] for r in results]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
