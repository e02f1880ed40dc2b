"""`cnnpc validate SEARCH`: predicted against measured latency, through the real runtime."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from cnnpc._text import format_table
from cnnpc.cli._common import (
    THREADS_HELP,
    add_storage_argument,
    bounded_int,
    print_json,
    search_id,
    threads_int,
)

MAX_REQUESTS = 100_000
"""Requests of one validation: each is a real request through the servers and its result is
kept for the medians; cnnpc.validate.validate checks the same bound."""
MAX_WARMUP = 10_000


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "validate",
        help="run a search's best plan on shaped links and compare with the prediction",
        description="Deploy the best plan (or read --plan), start its edge and cloud servers on "
        "loopback, shape every link to the search's bandwidth, run requests on test images and "
        "report each component predicted (host profile) against measured. --netns: in network "
        "namespaces on links shaped by the kernel (root).",
    )
    p.add_argument("search", type=search_id, metavar="SEARCH", help="search id")
    p.add_argument(
        "--requests",
        type=bounded_int(1, MAX_REQUESTS, name="requests"),
        default=50,
        metavar="N",
        help=f"requests (50; at most {MAX_REQUESTS:,}: each result is kept)",
    )
    p.add_argument(
        "--warmup",
        type=bounded_int(0, MAX_WARMUP, name="warmup"),
        default=3,
        metavar="N",
        help=f"unrecorded requests first (3; at most {MAX_WARMUP:,})",
    )
    p.add_argument("--plan", type=Path, default=None, metavar="DIR", help="a deployed plan")
    p.add_argument(
        "--profile", choices=("host",), default="host", help="where compute is predicted from"
    )
    p.add_argument("--profile-dir", type=Path, default=None, metavar="DIR", help="host profile")
    p.add_argument("--no-shape", action="store_true", help="do not shape the links")
    p.add_argument("--threads", type=threads_int, default=1, help=THREADS_HELP)
    p.add_argument(
        "--calibrate",
        action="store_true",
        help="fit the runtime's fixed cost per request and each link's per message from these "
        "requests and store them with the host profile (later predictions and plans on it "
        "include them)",
    )
    p.add_argument(
        "--netns",
        action="store_true",
        help="root only: run end, edge and cloud in three network namespaces joined by veth "
        "pairs, every direction shaped by tc tbf at the link's rate (the token bucket is off); "
        "everything is deleted on exit",
    )
    p.add_argument(
        "--mtu",
        type=bounded_int(68, 65535, name="MTU"),
        default=None,
        metavar="BYTES",
        help="with --netns: the veths' MTU (1500; tbf's bucket holds one frame, so a smaller "
        "MTU shapes small messages closer to bytes / rate)",
    )
    add_storage_argument(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from cnnpc.validate import validate

    report = validate(
        args.search,
        requests=args.requests,
        storage_url=args.storage,
        plan_dir=args.plan,
        profile_dir=args.profile_dir,
        shape=not args.no_shape,
        warmup=args.warmup,
        threads=args.threads,
        progress=sys.stderr.isatty(),
        calibrate=args.calibrate,
        netns=args.netns,
        mtu=args.mtu,
    )
    out = report.as_dict()
    if args.json:
        print_json(out)
        return 0
    _print(out)
    if args.calibrate:
        print("stored them with the host profile: later predictions and plans on it include them")
    return 0


def _print(out: dict[str, Any]) -> None:
    rows = [
        [
            c["component"],
            c["predicted_ms"],
            c["measured_ms"],
            c["p10_ms"],
            c["p90_ms"],
            None if c["error_pct"] is None else f"{c['error_pct']:+.1f}",
        ]
        for c in out["components"]
    ]
    headers = ["component", "predicted ms", "measured ms", "p10", "p90", "error %"]
    print(format_table(headers, rows))
    where = {"none": "unshaped loopback links", "token bucket in the senders": "loopback links"}
    links = where.get(out["shaping"], "veth links")
    print(
        f"{out['requests']} requests on {links} (shaping: {out['shaping']}): median |error| of "
        f"the total {out['median_abs_error_total_pct']:.1f} %"
    )
    for line in out["shaping_details"]:
        print(f"  {line}")
    if out["runtime_overhead_ms"] is not None:
        print(
            f"runtime overhead above pure transfer ({out['pure_transfer_ms']:.2f} ms) and "
            f"compute: {out['runtime_overhead_ms']:.2f} ms per request (median)"
            + (" (below 0: the links beat bytes / rate)" if out["runtime_overhead_ms"] < 0 else "")
        )
    if out["calibration"] is not None:
        c = out["calibration"]
        print(
            f"calibrated prediction: runtime {c['runtime_ms']:.3f} ms per request, "
            f"{c['uplink_message_ms']:.3f} / {c['message_ms']:.3f} ms per message (end->edge / "
            f"edge->cloud), compute x {_scales(c)}"
        )
    if out["fitted"] is not None:
        f = out["fitted"]
        print(
            f"fixed costs these requests show: runtime {f['runtime_ms']:.3f} ms, messages "
            f"{f['uplink_message_ms']:.3f} / {f['message_ms']:.3f} ms, compute x {_scales(f)}"
        )
    if out["accuracy"] is not None:
        print(f"accuracy of these requests: {out['accuracy']:.4f}")


def _scales(calibration: dict[str, Any]) -> str:
    """The end / edge / cloud compute scales of a calibration's dict."""
    return " / ".join(f"{calibration[f'{t}_compute_scale']:.3f}" for t in ("end", "edge", "cloud"))
