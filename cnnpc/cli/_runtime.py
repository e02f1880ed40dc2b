"""`cnnpc serve` (edge or cloud server) and `cnnpc infer` (the end device) on loopback TCP."""

from __future__ import annotations

import argparse
import dataclasses
import signal
from pathlib import Path
from typing import Any

from cnnpc.cli._common import (
    MAX_CONNECTIONS,
    THREADS_HELP,
    TIMEOUT_HELP,
    bounded_float,
    bounded_int,
    format_table,
    library_type,
    port_int,
    positive_float,
    positive_int,
    print_json,
    threads_int,
    timeout_s,
)


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
    p.add_argument("--next", type=_address, default=None, metavar="HOST:PORT", help="the cloud")
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
        default=None,
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
    q.add_argument("--edge", type=_address, default=None, metavar="HOST:PORT")
    q.add_argument("--shape", action="store_true", help="shape the link to the edge to the plan")
    q.add_argument("--limit", type=positive_int, default=None, metavar="N", help="first N images")
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
    from cnnpc.records import load_plan, load_plan_set, load_upload
    from cnnpc.runtime import FrameServer, Limits, PartServer, PlanSetServer, UploadEdgeServer

    limits = Limits(max_connections=args.max_connections, frame_timeout=args.frame_timeout)
    if args.idle_timeout is not None:
        limits = dataclasses.replace(limits, idle_timeout=args.idle_timeout)
    if args.empty:
        check_empty_edge(args)
    options: dict[str, Any] = {
        "host": args.host,
        "port": args.port,
        "next_address": args.next,
        "shape": args.shape,
        "threads": args.threads,
        "limits": limits,
    }
    server: FrameServer
    if args.empty:
        plan = load_upload(args.plan, with_files=False)
        server = UploadEdgeServer(
            plan, host=args.host, port=args.port, threads=args.threads, limits=limits
        )
    elif args.adaptive:
        table, plans = load_plan_set(args.plan)
        server = PlanSetServer(table, plans, args.role, **options)
    else:
        server = PartServer(load_plan(args.plan), args.role, **options)
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
    import numpy as np

    from cnnpc.records import load_plan, load_plan_set
    from cnnpc.runtime import COMPONENTS, AdaptiveClient, PlanClient

    if args.upload:
        return run_upload_infer(args)
    table, plans = load_plan_set(args.plan) if args.adaptive else (None, {})
    plan = load_plan(args.plan)
    classes = list(plan.head.classes)
    names, images, labels = _inputs(args.images, plan)
    if args.limit is not None:
        names, images = names[: args.limit], images[: args.limit]
        labels = None if labels is None else labels[: args.limit]
    adaptive: dict[str, Any] = {}
    if table is not None:
        with AdaptiveClient(
            table,
            plans,
            args.edge,
            shape=args.shape,
            threads=args.threads,
            probe_every=args.probe_every,
        ) as chooser:
            runs = [chooser.infer(x) for x in images]
        results = [r.result for r in runs]
        adaptive = {
            "plans_used": {p.label: sum(r.plan == p.label for r in runs) for p in table.plans},
            "probes": chooser.probes,
            "switches": [s.as_dict() for s in chooser.switches],
        }
    else:
        with PlanClient(plan, args.edge, shape=args.shape, threads=args.threads) as client:
            results = [client.infer(x) for x in images]
    keys = [*COMPONENTS, "total_ms"]
    median = {k: float(np.median([r.timings[k] for r in results])) for k in keys}
    accuracy = None
    if labels is not None:
        accuracy = float(np.mean([r.label == y for r, y in zip(results, labels, strict=True)]))
    rows = [
        {
            "image": name,
            "label": r.label,
            "class": classes[r.label] if r.label < len(classes) else str(r.label),
            "score": float(r.scores[r.label]),
            "total_ms": r.timings["total_ms"],
        }
        for name, r in zip(names, results, strict=True)
    ]
    if args.json:
        print_json({"results": rows, "median_ms": median, "accuracy": accuracy} | adaptive)
        return 0
    if args.images:
        headers = ["image", "class", "score", "total ms"]
        print(
            format_table(
                headers, [[r["image"], r["class"], r["score"], r["total_ms"]] for r in rows]
            )
        )
    print(format_table(["component", "median ms"], [[k, v] for k, v in median.items()]))
    summary = f"{len(results)} requests"
    if accuracy is not None:
        summary += f", accuracy {accuracy:.4f} on the test split"
    print(summary)
    if adaptive:
        _print_switches(adaptive)
    return 0


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
        default=None,
        metavar="QPS",
        help="with --upload: issue queries at this rate (default: back to back)",
    )
    q.add_argument(
        "--whole-first",
        action="store_true",
        help="with --upload: use the edge only once the whole model is there (the baseline)",
    )


def check_empty_edge(args: argparse.Namespace) -> None:
    from cnnpc.errors import InputError

    if args.role != "edge" or args.adaptive or args.next is not None:
        raise InputError(
            "--empty is an edge of an upload folder: no --role cloud, --adaptive or --next"
        )


def run_upload_infer(args: argparse.Namespace) -> int:
    from cnnpc.errors import InputError
    from cnnpc.records import load_upload
    from cnnpc.runtime import IncrementalClient, run_during_upload

    if args.adaptive:
        raise InputError("--upload and --adaptive do not go together")
    if args.edge is None:
        raise InputError("--upload needs the empty edge's address (--edge HOST:PORT)")
    plan = load_upload(args.plan)
    names, images, labels = _inputs(args.images, plan)
    if args.limit is not None:
        names, images = names[: args.limit], images[: args.limit]
        labels = None if labels is None else labels[: args.limit]
    with IncrementalClient(
        plan,
        args.edge,
        shape=args.shape,
        threads=args.threads,
        slowdown=args.slowdown,
        whole_first=args.whole_first,
    ) as client:
        run = run_during_upload(client, images, query_rate=args.query_rate)
    out = run.as_dict()
    if labels is not None:
        hits = [r.result.label == y for r, y in zip(run.results, labels, strict=True)]
        out["accuracy"] = sum(hits) / len(hits)
    if args.json:
        print_json(out)
        return 0
    rows = [[f"{e['time_s']:.3f}", e["kind"], e["segment"], e["detail"]] for e in out["events"]]
    print(format_table(["time s", "upload", "segment", "detail"], rows))
    splits = ", ".join(f"a={a}: {c}" for a, c in out["queries_per_split"].items())
    print(
        f"{out['queries']} queries (end runs segments [0, a), edge the rest; {splits}); mean "
        f"{out['mean_ms']:.3f} ms, predicted {out['predicted_mean_ms']:.3f} ms; "
        f"{out['fallbacks']} fallbacks to the end"
    )
    done = out["uploaded_s"]
    print("upload " + ("not finished" if done is None else f"finished after {done:.3f} s"))
    if out.get("accuracy") is not None:
        print(f"accuracy {out['accuracy']:.4f} on the test split")
    if run.error:
        print(f"upload: {run.error}")
    return 0


def _print_switches(adaptive: dict[str, Any]) -> None:
    used = ", ".join(f"{k} {v}" for k, v in adaptive["plans_used"].items())
    print(f"requests per plan: {used}; {adaptive['probes']} probes of the edge->cloud link")
    rows = [
        [
            s["request"],
            s["time_s"],
            s["from_plan"] or "-",
            s["to_plan"],
            s["uplink_mbps"],
            s["bandwidth_mbps"],
            s["fixed_ms"],
            s["from_ms"],
            s["to_ms"],
        ]
        for s in adaptive["switches"]
    ]
    headers = ["request", "time s", "from", "to", "up Mbps", "down Mbps", "down fixed ms"]
    print(format_table([*headers, "from ms", "to ms"], rows))


def _inputs(paths: list[Path], plan: Any) -> tuple[list[str], Any, Any]:
    """(names, float images at the plan's size, labels or None)."""
    import numpy as np

    from cnnpc.errors import InputError

    size = plan.image_size
    if not paths:
        if plan.head.workload_name != "digits":
            raise InputError(
                "give IMAGES: only the embedded digits workload has a built-in test split"
            )
        from cnnpc.workloads import digits

        test = digits(size).test
        return [f"test[{i}]" for i in range(len(test))], test.x, test.y
    from cnnpc._keras import tf

    images = []
    for path in paths:
        try:
            raw = tf.io.read_file(str(path))
            image = tf.io.decode_image(raw, channels=3, expand_animations=False)
        except Exception:  # TF raises its own error types for unreadable files
            raise InputError(f"{path}: cannot read it as an image") from None
        resized = tf.image.resize(tf.cast(image, tf.float32) / 255.0, (size, size))
        images.append(np.clip(resized.numpy(), 0.0, 1.0))
    return [str(p) for p in paths], np.stack(images).astype(np.float32), None
