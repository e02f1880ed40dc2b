"""`cnnpc deploy SEARCH --out DIR`: the best plan's parts (int8 TFLite) and plan.json."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from cnnpc.cli._common import (
    TRUST_CODE_HELP,
    add_storage_argument,
    format_table,
    library_type,
    nonnegative_float,
    positive_int,
    print_json,
    rate_mbps,
    search_id,
)
from cnnpc.errors import InputError
from cnnpc.planset import DEFAULT_HYSTERESIS, bandwidth_range, check_hysteresis
from cnnpc.records import PlanDocument, PlanSetDocument

if TYPE_CHECKING:
    from cnnpc.deploy import DeployInputs


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
    p.add_argument("--trust-code", action="store_true", help=TRUST_CODE_HELP)
    p.add_argument(
        "--adaptive",
        action="store_true",
        help="write every plan that is best somewhere in --bandwidth START:STOP (a plan set for "
        "'cnnpc infer --adaptive'), parts shared, with the switching table",
    )
    p.add_argument(
        "--bandwidth",
        type=library_type(bandwidth_range),
        default=None,
        metavar="START:STOP",
        help="edge->cloud Mbps range of the plan set (with --adaptive)",
    )
    p.add_argument(
        "--hysteresis",
        type=nonnegative_float,
        default=DEFAULT_HYSTERESIS,
        metavar="F",
        help=f"switch only to a plan predicted faster by more than this fraction "
        f"({DEFAULT_HYSTERESIS:g})",
    )
    p.add_argument(
        "--upload",
        action="store_true",
        help="write an upload folder instead (IONN): one part per profile segment, the upload "
        "order and the price of every end/edge split, for 'cnnpc serve --empty' and "
        "'cnnpc infer --upload'",
    )
    p.add_argument(
        "--upload-rate",
        type=rate_mbps,
        default=None,
        metavar="MBPS",
        help="with --upload: rate of the upload (default: the search's uplink)",
    )
    add_storage_argument(p)
    p.add_argument("--json", action="store_true", help="print plan.json (planset.json)")
    p.set_defaults(func=run)


def _inputs(args: argparse.Namespace) -> DeployInputs:
    """What every kind of deployment is told about where the search's model comes from."""
    from cnnpc.deploy import DeployInputs

    return DeployInputs(
        storage_url=args.storage,
        data=args.data,
        weights=args.weights,
        image_size=args.image_size,
        force=args.force,
        progress=sys.stderr.isatty(),
    )


def run(args: argparse.Namespace) -> int:
    if args.upload or args.upload_rate is not None:
        return run_upload(args)
    if args.adaptive or args.bandwidth is not None:
        return run_adaptive(args)
    from cnnpc.deploy import deploy

    result = deploy(args.search, args.out, _inputs(args))
    if args.json:
        print_json(result.plan.as_dict())
        return 0
    print_plan_summary(result.plan, str(result.folder))
    if result.finetuned:
        print("(the model's weights were not kept by the search: it was fine-tuned again)")
    return 0


def run_adaptive(args: argparse.Namespace) -> int:
    if not args.adaptive or args.bandwidth is None:
        raise InputError("--adaptive and --bandwidth START:STOP go together")
    check_hysteresis(args.hysteresis)  # before TensorFlow is imported
    from cnnpc.deploy import deploy_adaptive

    low, high = args.bandwidth
    result = deploy_adaptive(
        args.search,
        args.out,
        low_mbps=low,
        high_mbps=high,
        hysteresis=args.hysteresis,
        inputs=_inputs(args),
    )
    if args.json:
        print_json(result.plan.as_dict())
        return 0
    print_plan_set(result.plan, str(result.folder))
    if result.finetuned:
        print("(some weights were not kept by the search: those models were fine-tuned again)")
    return 0


def run_upload(args: argparse.Namespace) -> int:
    if not args.upload or args.adaptive or args.bandwidth is not None:
        raise InputError("--upload-rate goes with --upload, which does not go with --adaptive")
    from cnnpc.deploy import deploy_upload

    summary = deploy_upload(
        args.search,
        args.out,
        upload_mbps=args.upload_rate,
        inputs=_inputs(args),
    )
    if args.json:
        print_json(summary.as_dict())
        return 0
    total = sum(size for _, size in summary.parts)
    print(
        f"wrote {summary.folder}: {len(summary.parts)} parts of {summary.model}, "
        f"{total / 1e6:.3f} MB; {summary.initial_ms:.2f} ms before any upload, "
        f"{summary.full_ms:.2f} ms after {summary.full_benefit_s:.2f} s (whole model: "
        f"{summary.whole_upload_s:.2f} s)"
    )
    rows = [[k + 1, "+".join(step)] for k, step in enumerate(summary.steps)]
    print(format_table(["step", "segments"], rows))
    return 0


def print_plan_set(document: PlanSetDocument, folder: str) -> None:
    """The plans of a planset.json and its switching table."""
    table = document.table
    print(
        f"wrote {folder}: {len(table.plans)} plans for {table.model} on "
        f"{table.device}, edge->cloud {table.low_mbps:g}..{table.high_mbps:g} "
        f"Mbps, hysteresis {table.hysteresis:g} (plan.json: {document.design_plan})"
    )
    rows = [
        [
            p.label,
            p.mode,
            "+".join(p.splits) or "-",
            p.config_key,
            p.val_accuracy,
            f"{min(p.best_mbps):.3g}..{max(p.best_mbps):.3g}",
        ]
        for p in table.plans
    ]
    print(format_table(["plan", "mode", "splits", "keep", "val acc", "best at Mbps"], rows))
    switches = [
        [f"{s.low} <-> {s.high}", s.crossover_mbps, s.up_mbps, s.down_mbps] for s in table.switches
    ]
    if switches:
        print(format_table(["switch", "crossover Mbps", "up at Mbps", "down at Mbps"], switches))


def print_plan_summary(plan: PlanDocument, folder: str) -> None:
    """The parts and links of a plan.json as two tables."""
    rows = [
        [
            p.tier,
            p.file,
            f"{p.span[0]}..{p.span[1] - 1}",
            "x".join(map(str, p.input.shape[1:])),
            "x".join(map(str, p.output.shape[1:])),
        ]
        for p in plan.parts
    ]
    head = plan.head
    size = None if head.workload is None else head.workload.image_size
    print(f"wrote {folder} (search {head.search_id}, {head.model}, {size}x{size} input)")
    print(format_table(["tier", "file", "segments", "input", "output"], rows))
    links = [
        [
            f"{lk.source}->{lk.target}",
            lk.tensor,
            "x".join(map(str, lk.spec.shape[1:])),
            lk.spec.dtype,
            f"{lk.spec.scale:.6g}",
            lk.spec.zero_point,
            lk.bytes,
            lk.bandwidth_mbps,
        ]
        for lk in plan.links
    ]
    if links:
        headers = ["link", "tensor", "shape", "dtype", "scale", "zero", "bytes", "Mbps"]
        print(format_table(headers, links))
    predicted = head.predicted
    if predicted is not None and predicted.latency_ms is not None:
        print(f"predicted latency {predicted.latency_ms:.2f} ms ({predicted.source})")
