"""`cnnpc serve` (an edge or cloud server) and `cnnpc infer` (the end device), over gRPC."""

from __future__ import annotations

import argparse
import signal
import sys

from cnnpc.cli._common import command, output, record_from
from cnnpc.jobs import InferJob, ServeJob


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    command(
        sub,
        "serve",
        ServeJob,
        run_serve,
        json_help=None,
        help="serve a plan's edge or cloud part (gRPC; TLS off loopback)",
        description="Run this tier's TFLite part on every request; the edge forwards to the "
        "cloud (--next) when the plan has one. gRPC service cnnpc.v1.Tier (the .proto ships "
        "in the package) with the standard health service; SIGTERM finishes the calls in "
        "flight, then stops.",
    )
    command(
        sub,
        "infer",
        InferJob,
        run_infer,
        help="classify images through a served plan (the end device)",
        description="Run the end part, send the int8 feature to the edge, print the classes and "
        "the latency of each component. Without IMAGES: the workload's test split.",
    )


def run_serve(args: argparse.Namespace) -> int:
    from cnnpc.jobs import open_server
    from cnnpc.runtime import serve_metrics

    job = record_from(ServeJob, args)
    served = open_server(job)
    server = served.server
    for warning in served.warnings:  # plaintext off loopback: said on every start
        print(warning, file=sys.stderr, flush=True)
    host, port = server.start()
    nxt = (
        ""
        if job.next_address is None
        else ", next " + ",".join(f"{h}:{p}" for h, p in job.next_address)
    )
    secure = "TLS" if server.transport.tls is not None else "plaintext"
    print(f"{job.role} serving {job.plan} with {secure} on {host}:{port}{nxt}", flush=True)
    endpoint = None
    if served.metrics is not None and job.metrics_port is not None:
        endpoint = serve_metrics(served.metrics, job.metrics_port, host)
        print(f"metrics on http://{host}:{endpoint.port}/metrics", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: server.request_stop())  # `kill PID`: a clean stop
    try:
        server.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        if endpoint is not None:
            endpoint.stop()
    return 0


def run_infer(args: argparse.Namespace) -> int:
    from cnnpc.jobs import infer

    job = record_from(InferJob, args)
    transport = job.transport()
    if transport is not None and transport.warning is not None:
        print(transport.warning, file=sys.stderr, flush=True)
    done = infer(job)
    return output(args.json, done.document, lambda: done.text)
