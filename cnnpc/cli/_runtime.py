"""`cnnpc serve` (edge or cloud server) and `cnnpc infer` (the end device) on loopback TCP."""

from __future__ import annotations

import argparse
import signal
from pathlib import Path

from cnnpc.cli._common import (
    THREADS_HELP,
    TIMEOUT_HELP,
    bounded_float,
    bounded_int,
    library_type,
    output,
    port_int,
    positive_float,
    positive_int,
    threads_int,
    timeout_s,
)
from cnnpc.records import MAX_CONNECTIONS


def _address(text: str) -> tuple[str, int]:
    from cnnpc.runtime import parse_address

    return library_type(parse_address)(text)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "serve",
        help="serve a plan's edge or cloud part on a loopback port",
        description="Run this tier's TFLite part on every request; the edge forwards to the "
        "cloud (--next) when the plan has one. Length-prefixed binary frames over TCP.",
    )
    p.add_argument("--role", choices=("edge", "cloud"), required=True)
    p.add_argument(
        "--plan", type=Path, required=True, metavar="DIR", help="a 'cnnpc deploy' folder"
    )
    p.add_argument("--port", type=port_int, required=True, metavar="P", help="0: the OS picks")
    p.add_argument("--host", default="127.0.0.1", help="loopback address to listen on")
    p.add_argument("--next", type=_address, metavar="HOST:PORT", help="the cloud")
    p.add_argument("--shape", action="store_true", help="shape the link to the cloud to the plan")
    p.add_argument("--threads", type=threads_int, default=1, help=THREADS_HELP)
    p.add_argument(
        "--max-connections",
        type=bounded_int(1, MAX_CONNECTIONS, name="connections"),
        default=16,
        help=f"connections served at once, one thread each (16; at most {MAX_CONNECTIONS:,})",
    )
    p.add_argument("--frame-timeout", type=timeout_s, default=10.0, metavar="S", help=TIMEOUT_HELP)
    p.add_argument(
        "--idle-timeout",
        type=timeout_s,
        metavar="S",
        help="close a connection silent for S s between requests, so that idle clients "
        "cannot hold every slot (default 30)",
    )
    p.add_argument(
        "--adaptive",
        action="store_true",
        help="serve every plan of a 'cnnpc deploy --adaptive' folder (requests name their plan)",
    )
    p.add_argument(
        "--empty",
        action="store_true",
        help="an edge that starts with no part and receives them from 'cnnpc infer --upload' "
        "(--plan: a 'cnnpc deploy --upload' folder; only its upload.json is read)",
    )
    p.set_defaults(func=run_serve)

    q = sub.add_parser(
        "infer",
        help="classify images through a served plan (the end device)",
        description="Run the end part, send the int8 feature to the edge, print the classes and "
        "the latency of each component. Without IMAGES: the workload's test split.",
    )
    q.add_argument("images", nargs="*", type=Path, metavar="IMAGES")
    q.add_argument("--plan", type=Path, required=True, metavar="DIR")
    q.add_argument("--edge", type=_address, metavar="HOST:PORT")
    q.add_argument("--shape", action="store_true", help="shape the link to the edge to the plan")
    q.add_argument("--limit", type=positive_int, metavar="N", help="first N images")
    q.add_argument("--threads", type=threads_int, default=1, help=THREADS_HELP)
    q.add_argument(
        "--adaptive",
        action="store_true",
        help="a plan set: before each request pick the plan with the least predicted latency "
        "under the measured links, with hysteresis; print every switch",
    )
    q.add_argument(
        "--probe-every",
        type=positive_int,
        default=10,
        metavar="N",
        help="with --adaptive: measure an unused edge->cloud link every N requests (10)",
    )
    add_upload_arguments(q)
    q.add_argument("--json", action="store_true", help="print one JSON object")
    q.set_defaults(func=run_infer)


def run_serve(args: argparse.Namespace) -> int:
    from cnnpc.jobs import ServeJob, open_server

    server = open_server(
        ServeJob(
            *(args.role, args.plan, args.host, args.port, args.next, args.shape, args.threads),
            *(args.max_connections, args.frame_timeout, args.idle_timeout),
            *(args.adaptive, args.empty),
        )
    )
    host, port = server.start()
    nxt = "" if args.next is None else f", next {args.next[0]}:{args.next[1]}"
    print(f"{args.role} serving {args.plan} on {host}:{port}{nxt}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: server.request_stop())  # `kill PID`: a clean stop
    try:
        server.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


def run_infer(args: argparse.Namespace) -> int:
    from cnnpc.jobs import InferJob, infer

    done = infer(
        InferJob(
            *(args.plan, args.edge, tuple(args.images), args.limit, args.shape, args.threads),
            *(args.adaptive, args.probe_every, args.upload, args.slowdown, args.query_rate),
            args.whole_first,
        )
    )
    return output(args.json, done.document, lambda: done.text)


def add_upload_arguments(q: argparse.ArgumentParser) -> None:
    q.add_argument(
        "--upload",
        action="store_true",
        help="--plan is a 'cnnpc deploy --upload' folder and --edge an empty edge: upload the "
        "parts in the folder's order in the background while the queries run, each with the "
        "best split among the parts the edge has confirmed (IONN)",
    )
    q.add_argument(
        "--slowdown",
        type=bounded_float(1.0, 1e6, name="slowdown"),
        default=1.0,
        metavar="F",
        help="with --upload: stand in for an end device F times slower than this host (1)",
    )
    q.add_argument(
        "--query-rate",
        type=positive_float,
        metavar="QPS",
        help="with --upload: issue queries at this rate (default: back to back)",
    )
    q.add_argument(
        "--whole-first",
        action="store_true",
        help="with --upload: use the edge only once the whole model is there (the baseline)",
    )
