"""`cnnpc serve` as one library call: the server of one tier of a plan, plan set or upload."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

from cnnpc.errors import InputError

if TYPE_CHECKING:
    from cnnpc.runtime import Limits, RpcServer


@dataclass(frozen=True)
class ServeJob:
    """What `cnnpc serve` is asked: a tier of a plan folder, of a plan set (`adaptive`) or an
    edge that starts empty and receives an upload folder's parts (`empty`)."""

    role: str
    plan: Path
    host: str = "127.0.0.1"
    port: int = 0
    next_address: tuple[str, int] | None = None
    shape: bool = False
    threads: int = 1
    max_connections: int = 16
    frame_timeout: float = 10.0
    idle_timeout: float | None = None
    adaptive: bool = False
    empty: bool = False


class _Options(TypedDict):
    """What a plan's server and a plan set's server are both told."""

    host: str
    port: int
    next_address: tuple[str, int] | None
    shape: bool
    threads: int
    limits: Limits


def open_server(job: ServeJob) -> RpcServer:
    """The server (not started) with the parts loaded and checked."""
    from cnnpc.records import load_plan, load_plan_set, load_upload
    from cnnpc.runtime import Limits, PartServer, PlanSetServer, UploadEdgeServer

    limits = Limits(max_connections=job.max_connections, frame_timeout=job.frame_timeout)
    if job.idle_timeout is not None:
        limits = dataclasses.replace(limits, idle_timeout=job.idle_timeout)
    if job.empty:
        if job.role != "edge" or job.adaptive or job.next_address is not None:
            raise InputError(
                "--empty is an edge of an upload folder: no --role cloud, --adaptive or --next"
            )
        upload = load_upload(job.plan, with_files=False)
        return UploadEdgeServer(
            upload, host=job.host, port=job.port, threads=job.threads, limits=limits
        )
    options = _Options(
        host=job.host,
        port=job.port,
        next_address=job.next_address,
        shape=job.shape,
        threads=job.threads,
        limits=limits,
    )
    if job.adaptive:
        table, plans = load_plan_set(job.plan)
        return PlanSetServer(table, plans, job.role, **options)
    return PartServer(load_plan(job.plan), job.role, **options)
