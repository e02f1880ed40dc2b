"""`cnnpc deploy SEARCH --out DIR`: the best plan's parts (int8 TFLite) and plan.json."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from cnnpc.cli._browse import search_id
from cnnpc.cli._common import format_table, positive_int, print_json
from cnnpc.cli._db import add_storage_argument


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "deploy",
        help="write a search's best plan as TFLite parts and plan.json",
        description="Cut the fine-tuned model of a search's best plan at its splits: one int8 "
        "TFLite model per tier, and plan.json with every link's tensor (shape, dtype, "
        "quantisation, bytes, bandwidth) and the predicted latency. The folder is written at "
        "once: on an error nothing is left.",
    )
    p.add_argument("search", type=search_id, metavar="SEARCH", help="search id")
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="plan folder to write")
    p.add_argument("--force", action="store_true", help="replace an existing --out folder")
    p.add_argument(
        "--image-size",
        type=positive_int,
        default=None,
        metavar="N",
        help="deploy at NxN input (default: the size the model was trained at)",
    )
    p.add_argument("--data", default=None, metavar="DIR", help="the search's --data, if any")
    p.add_argument("--weights", default=None, metavar="FILE", help="the search's --weights")
    add_storage_argument(p)
    p.add_argument("--json", action="store_true", help="print plan.json")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from cnnpc.deploy import deploy

    result = deploy(
        args.search,
        args.out,
        storage_url=args.storage,
        data=args.data,
        weights=args.weights,
        image_size=args.image_size,
        force=args.force,
        progress=sys.stderr.isatty(),
    )
    if args.json:
        print_json(result.plan)
        return 0
    print_plan_summary(result.plan, str(result.folder))
    if result.finetuned:
        print("(the model's weights were not kept by the search: it was fine-tuned again)")
    return 0


def print_plan_summary(plan: dict[str, Any], folder: str) -> None:
    """The parts and links of a plan.json as two tables."""
    rows = [
        [
            p["tier"],
            p["file"],
            f"{p['span'][0]}..{p['span'][1] - 1}",
            "x".join(map(str, p["input"]["shape"][1:])),
            "x".join(map(str, p["output"]["shape"][1:])),
        ]
        for p in plan["parts"]
    ]
    print(
        f"wrote {folder} (search {plan['search']['id']}, {plan['model']}, "
        f"{plan['workload']['image_size']}x{plan['workload']['image_size']} input)"
    )
    print(format_table(["tier", "file", "segments", "input", "output"], rows))
    links = [
        [
            f"{lk['from']}->{lk['to']}",
            lk["tensor"],
            "x".join(map(str, lk["shape"][1:])),
            lk["dtype"],
            f"{lk['scale']:.6g}",
            lk["zero_point"],
            lk["bytes"],
            lk["bandwidth_mbps"],
        ]
        for lk in plan["links"]
    ]
    if links:
        headers = ["link", "tensor", "shape", "dtype", "scale", "zero", "bytes", "Mbps"]
        print(format_table(headers, links))
    predicted = plan.get("predicted", {})
    if predicted.get("latency_ms") is not None:
        print(f"predicted latency {predicted['latency_ms']:.2f} ms ({predicted['source']})")
