"""`cnnpc deploy SEARCH --out DIR`: the best plan's parts (int8 TFLite) and plan.json."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cnnpc.cli._common import (
    TRUST_CODE_HELP,
    add_storage_argument,
    library_type,
    nonnegative_float,
    output,
    positive_int,
    rate_mbps,
    search_id,
)
from cnnpc.planset import DEFAULT_HYSTERESIS, bandwidth_range


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
        metavar="N",
        help="deploy at NxN input (default: the size the model was trained at)",
    )
    p.add_argument("--data", metavar="DIR", help="the search's --data, if any")
    p.add_argument("--weights", metavar="FILE", help="the search's --weights")
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
        metavar="MBPS",
        help="with --upload: rate of the upload (default: the search's uplink)",
    )
    add_storage_argument(p)
    p.add_argument("--json", action="store_true", help="print plan.json (planset.json)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from cnnpc.jobs import DeployJob, deploy
    from cnnpc.records import DeployOptions

    job = DeployJob(
        *(args.search, args.out, args.adaptive, args.bandwidth, args.hysteresis, args.upload),
        args.upload_rate,
        DeployOptions(
            *(args.storage, args.data, args.weights, args.image_size, args.force),
            progress=sys.stderr.isatty(),
        ),
    )
    done = deploy(job)
    return output(args.json, done.document, lambda: done.text)
