"""`cnnpc validate SEARCH`: predicted against measured latency, through the real runtime."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cnnpc.cli._common import (
    THREADS_HELP,
    add_record,
    add_storage_argument,
    bounded_int,
    print_json,
    record_from,
    search_id,
    threads_int,
)
from cnnpc.jobs import TlsFileChoice
from cnnpc.records import MAX_REQUESTS, MAX_WARMUP


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
    p.add_argument("--plan", type=Path, metavar="DIR", help="a deployed plan")
    p.add_argument(
        "--profile", choices=("host",), default="host", help="where compute is predicted from"
    )
    p.add_argument("--profile-dir", type=Path, metavar="DIR", help="host profile")
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
        "--rounds",
        type=bounded_int(1, 20, name="rounds"),
        metavar="N",
        help="with --calibrate: pool N runs, each on servers started afresh (3: one run's "
        "setup moves its median by a few %%, and the fit would carry that into every prediction)",
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
        metavar="BYTES",
        help="with --netns: the veths' MTU (1500; tbf's bucket holds one frame, so a smaller "
        "MTU shapes small messages closer to bytes / rate)",
    )
    add_record(p, TlsFileChoice)  # loopback tiers with (mutual) TLS; --netns makes its own
    add_storage_argument(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from cnnpc.validate import validate, validation_text

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
        rounds=args.rounds,
        netns=args.netns,
        mtu=args.mtu,
        tls=record_from(TlsFileChoice, args).files(),
    )
    if args.json:
        print_json(report.as_dict())
        return 0
    print(validation_text(report))
    if args.calibrate:
        print("stored them with the host profile: later predictions and plans on it include them")
    return 0
