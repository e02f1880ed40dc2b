"""`cnnpc serve` as one library call: the server of one tier of a plan, plan set or upload."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

from cnnpc.errors import InputError
from cnnpc.jobs._options import (
    THREADS_HELP,
    TIMEOUT_HELP,
    TlsChoice,
    addresses,
    bounded_int,
    option,
    options,
    port_int,
    threads_int,
    timeout_s,
)
from cnnpc.records import MAX_CONNECTIONS

if TYPE_CHECKING:
    from grpc import ServerInterceptor

    from cnnpc.runtime import Limits, Metrics, RpcServer, Transport

Addresses = tuple[tuple[str, int], ...]


@dataclass(frozen=True, kw_only=True)
class ServeJob:
    """What `cnnpc serve` is asked: a tier of a plan folder, of a plan set (`adaptive`) or an
    edge that starts empty and receives an upload folder's parts (`empty`)."""

    role: str = option("--role", choices=("edge", "cloud"))
    plan: Path = option("--plan", type=Path, metavar="DIR", help="a 'cnnpc deploy' folder")
    port: int = option("--port", type=port_int, metavar="P", help="0: the OS picks")
    host: str = option(
        "--host",
        default="127.0.0.1",
        help="an address of this machine to listen on (127.0.0.1); off loopback TLS is "
        "required (--tls-cert, --tls-key; --tls-ca for mutual TLS) or --insecure",
    )
    next_address: Addresses | None = option(
        "--next",
        default=None,
        type=addresses,
        metavar="HOST:PORT[,...]",
        help="the cloud (several: replicas, calls spread round robin, retried on another)",
    )
    shape: bool = option(
        "--shape", action="store_true", help="shape the link to the cloud to the plan"
    )
    threads: int = option("--threads", default=1, type=threads_int, help=THREADS_HELP)
    max_connections: int = option(
        "--max-connections",
        default=16,
        type=bounded_int(1, MAX_CONNECTIONS, name="connections"),
        help=f"calls served at once, one thread each (16; at most {MAX_CONNECTIONS:,}); as "
        "many more wait, beyond that RESOURCE_EXHAUSTED",
    )
    frame_timeout: float = option(
        "--frame-timeout",
        default=10.0,
        type=timeout_s,
        metavar="S",
        help="a connection's TLS/HTTP2 handshake and an upload's next chunk must come within "
        f"S s (10); {TIMEOUT_HELP}",
    )
    idle_timeout: float | None = option(
        "--idle-timeout",
        default=None,
        type=timeout_s,
        metavar="S",
        help="close a connection without calls for S s, so that idle clients cannot hold "
        "every slot (default 30)",
    )
    adaptive: bool = option(
        "--adaptive",
        action="store_true",
        help="serve every plan of a 'cnnpc deploy --adaptive' folder (requests name their plan)",
    )
    empty: bool = option(
        "--empty",
        action="store_true",
        help="an edge that starts with no part and receives them from 'cnnpc infer --upload' "
        "(--plan: a 'cnnpc deploy --upload' folder; only its upload.json is read)",
    )
    metrics_port: int | None = option(
        "--metrics-port",
        default=None,
        type=port_int,
        metavar="P",
        help="expose Prometheus metrics at http://HOST:P/metrics (0: a free port, printed)",
    )
    tls: TlsChoice = options(TlsChoice)


class _Options(TypedDict):
    """What a plan's server and a plan set's server are both told."""

    host: str
    port: int
    next_address: Addresses | None
    shape: bool
    threads: int
    limits: Limits
    transport: Transport
    next_transport: Transport | None
    interceptors: list[ServerInterceptor]


@dataclass(frozen=True)
class Served:
    """A server made by `open_server` (not started), and what `cnnpc serve` prints with it."""

    server: RpcServer
    warnings: tuple[str, ...]
    metrics: Metrics | None
    """Filled by the server's calls; `serve_metrics` exposes it (the command's --metrics-port)."""


def open_server(job: ServeJob) -> Served:
    """The server (not started) with the parts loaded and checked, TLS or plaintext as the
    policy says (`TlsChoice.transport`), with metrics when asked."""
    from cnnpc.records import load_plan, load_plan_set, load_upload
    from cnnpc.runtime import (
        Limits,
        Metrics,
        MetricsInterceptor,
        PartServer,
        PlanSetServer,
        UploadEdgeServer,
        check_local,
    )

    limits = Limits(max_connections=job.max_connections, frame_timeout=job.frame_timeout)
    if job.idle_timeout is not None:
        limits = dataclasses.replace(limits, idle_timeout=job.idle_timeout)
    host = check_local(job.host)
    transport = job.tls.transport(host)
    warnings = [] if transport.warning is None else [transport.warning]
    next_transport = None
    if job.next_address is not None:
        next_transport = job.tls.transport(job.next_address[0][0])
        if next_transport.warning is not None and next_transport.warning not in warnings:
            warnings.append(next_transport.warning)
    metrics = None if job.metrics_port is None else Metrics()
    interceptors: list[ServerInterceptor] = []
    if metrics is not None:
        interceptors.append(MetricsInterceptor(metrics, job.role))
    if job.empty:
        if job.role != "edge" or job.adaptive or job.next_address is not None:
            raise InputError(
                "--empty is an edge of an upload folder: no --role cloud, --adaptive or --next"
            )
        upload = load_upload(job.plan, with_files=False)
        server: RpcServer = UploadEdgeServer(
            upload,
            host=host,
            port=job.port,
            threads=job.threads,
            limits=limits,
            transport=transport,
            interceptors=interceptors,
            metrics=metrics,
        )
        return Served(server, tuple(warnings), metrics)
    told = _Options(
        host=host,
        port=job.port,
        next_address=job.next_address,
        shape=job.shape,
        threads=job.threads,
        limits=limits,
        transport=transport,
        next_transport=next_transport,
        interceptors=interceptors,
    )
    if job.adaptive:
        table, plans = load_plan_set(job.plan)
        server = PlanSetServer(table, plans, job.role, **told)
    else:
        server = PartServer(load_plan(job.plan), job.role, **told)
    return Served(server, tuple(warnings), metrics)
