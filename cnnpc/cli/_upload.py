"""`cnnpc upload-plan`: the order to upload a model's parts to a new edge server (IONN)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from cnnpc._text import format_table
from cnnpc.cli._common import (
    add_link_arguments,
    bounded_float,
    keep_spec,
    link_options,
    positive_int,
    print_json,
    rate_mbps,
)
from cnnpc.errors import InputError


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
        p,
        bandwidth_help="edge->cloud Mbps (used with --cloud; default 10)",
        bandwidth_default=10.0,
    )
    p.add_argument(
        "--upload-rate",
        type=rate_mbps,
        default=None,
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
        default=None,
        metavar="ID",
        help="take the keep fractions from a stored search's best plan (see --storage)",
    )
    p.add_argument("--storage", metavar="URL", default=None, help="database of --search")
    p.add_argument("--cloud", action="store_true", help="also use the cloud (holds the model)")
    p.add_argument("--png", type=Path, default=None, metavar="FILE", help="write a plot")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def _keep_of_search(args: argparse.Namespace) -> dict[str, float]:
    from cnnpc.storage import Storage, resolve_url

    with Storage(resolve_url(args.storage), create=False) as storage:
        search = storage.get_search(args.search)
        if search.model != args.model:
            raise InputError(f"search {args.search} is of model {search.model}, not {args.model}")
        best = storage.best_trial(args.search)
        if best is None:
            raise InputError(f"search {args.search} has no feasible plan")
        return {k: float(v) for k, v in best.keep.items()}


def run(args: argparse.Namespace) -> int:
    from cnnpc._files import check_file_target
    from cnnpc.upload import upload_plan

    if args.search is not None and args.keep:
        raise InputError("give --keep or --search, not both")
    if args.png is not None:
        check_file_target(args.png)
    keep = _keep_of_search(args) if args.search is not None else args.keep
    report = upload_plan(
        args.model,
        args.device,
        upload_mbps=args.upload_rate,
        query_rate=args.query_rate,
        param_bytes=args.param_bytes,
        bandwidth_mbps=args.bandwidth,
        keep=keep,
        cloud=args.cloud,
        links=link_options(args),
    )
    data = report.as_dict()
    if args.png is not None:
        from cnnpc.upload import plot_upload

        data["png"] = str(plot_upload(report, args.png))
    if args.json:
        print_json(data)
    else:
        _print(data)
    return 0


def _print(d: dict[str, Any]) -> None:
    mb = 1e6
    print(
        f"{d['model']} on {d['device']}: upload {d['upload_mbps']:g} Mbps, "
        f"{d['total_bytes'] / mb:.2f} MB of parameters ({d['param_bytes']:g} B each), "
        f"{d['query_rate']:g} queries/s, tiers {d['tiers']}"
    )
    init, full = d["initial"], d["full"]
    print(
        f"before any upload: {init['latency_ms']:.2f} ms ({init['mode']}); whole model on the "
        f"edge: {full['latency_ms']:.2f} ms ({full['mode']})"
    )
    rows = [[0, "-", 0.0, 0.0, 0.0, init["latency_ms"], init["mode"]]]
    for s in d["steps"]:
        rows.append(
            [
                s["step"],
                "+".join(s["segments"]),
                s["bytes"] / mb,
                s["cumulative_bytes"] / mb,
                s["done_s"],
                s["latency_ms"],
                s["mode"],
            ]
        )
    print(
        format_table(
            ["step", "parts uploaded", "MB", "total MB", "done at s", "latency ms", "mode"], rows
        )
    )
    c = d["comparison"]
    unneeded = (
        f"; {d['unneeded_bytes'] / mb:.2f} MB never need uploading (no query gets faster)"
        if d["unneeded_bytes"] > 0
        else ""
    )
    print(
        f"\nfull benefit after {d['full_benefit_s']:.2f} s (whole model: "
        f"{d['whole_upload_s']:.2f} s){unneeded}"
    )
    print(
        f"{c['queries']} queries during the whole model's upload: mean latency "
        f"{c['incremental_mean_ms']:.2f} ms incremental vs {c['whole_first_mean_ms']:.2f} ms "
        f"whole-model-first; {c['saved_s']:.2f} s of query latency saved ({c['saved_pct']:.1f} %)"
    )
    if "png" in d:
        print(f"wrote {d['png']}", file=sys.stderr)
