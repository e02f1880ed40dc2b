"""`cnnpc upload-plan`: the order to upload a model's parts to a new edge server (IONN)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cnnpc.cli._common import (
    add_link_arguments,
    bounded_float,
    keep_spec,
    link_options,
    positive_int,
    print_json,
    rate_mbps,
)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "upload-plan",
        help="incremental offloading (IONN): which parts of the model to upload to an edge first",
        description="Order the upload of a model's parts to an edge server that does not have it "
        "yet, so that queries issued during the upload get faster as soon as possible (greedy "
        "latency benefit per byte, re-planning the split after each part). Compares with "
        "uploading the whole model first. Tiers: end and edge only, as IONN (--cloud: the cloud "
        "already holds the whole model).",
    )
    add_link_arguments(
        p, bandwidth_help="edge->cloud Mbps (used with --cloud; default 10)", bandwidth_default=10.0
    )
    p.add_argument(
        "--upload-rate",
        type=rate_mbps,
        metavar="MBPS",
        help="rate of the model upload (default: the end->edge uplink)",
    )
    p.add_argument(
        "--query-rate",
        type=bounded_float(1e-6, 1e6, name="queries per second"),
        default=1.0,
        metavar="QPS",
        help="queries per second issued during the upload (1; at most 1e6)",
    )
    p.add_argument(
        "--param-bytes",
        type=bounded_float(0.125, 8.0, name="bytes per parameter"),
        default=4.0,
        metavar="B",
        help="bytes per parameter: 4 for fp32 weights (default), 1 for int8 (0.125 to 8)",
    )
    p.add_argument(
        "--keep",
        type=keep_spec,
        default={},
        metavar="NAME=FRACTION[,...]",
        help="the plan's kept channel fractions (default: no pruning)",
    )
    p.add_argument(
        "--search",
        type=positive_int,
        metavar="ID",
        help="take the keep fractions from a stored search's best plan (see --storage)",
    )
    p.add_argument("--storage", metavar="URL", help="database of --search")
    p.add_argument("--cloud", action="store_true", help="also use the cloud (holds the model)")
    p.add_argument("--png", type=Path, metavar="FILE", help="write a plot")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from cnnpc.jobs import UploadJob, plan_upload
    from cnnpc.upload import upload_plan_text

    data = plan_upload(
        UploadJob(
            *(args.model, args.device, args.upload_rate, args.query_rate, args.param_bytes),
            *(args.bandwidth, args.keep, args.cloud, link_options(args), args.search),
            *(args.storage, args.png),
        )
    )
    if args.json:
        print_json(data)
        return 0
    print(upload_plan_text(data))
    if "png" in data:
        print(f"wrote {data['png']}", file=sys.stderr)
    return 0
