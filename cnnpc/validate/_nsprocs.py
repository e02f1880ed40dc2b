"""Each tier of ``validate --netns`` in its own process, inside its namespace.

gRPC makes its connections from its own threads, which live in the namespace they were started
in: a thread that entered a namespace cannot make a channel connect from there. A process whose
main thread enters the namespace before gRPC starts (spawned, not forked: nothing of the
parent's gRPC comes along) has every thread there, as a tier on its own host would. The parent
talks to each child over a pipe: a job in, its result (or its exception) out; children start
together and import while the namespaces are set up, and are killed on the way out whatever
happens.
"""

from __future__ import annotations

import contextlib
import ctypes
import ipaddress
import multiprocessing
import os
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from cnnpc.errors import CnnpcError
from cnnpc.records import DeployedPlan

if TYPE_CHECKING:
    from cnnpc.runtime import InferResult, TlsFiles

NETNS_DIR = "/var/run/netns"
CLONE_NEWNET = 0x40000000
SPAWN_TIMEOUT_S = 180.0
"""A child's start: a fresh interpreter importing the runtime (not TensorFlow: parts run in
LiteRT)."""
STOP_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class Serve:
    """Serve `role` of `plan` on `host` (port: the OS picks) until told to stop."""

    plan: DeployedPlan
    role: str
    host: str
    next_address: tuple[str, int] | None
    threads: int
    tls: TlsFiles
    """This server's certificate and key, and the CA its clients' certificates must come from
    (mutual TLS; the edge also shows its certificate to the cloud)."""


@dataclass(frozen=True)
class Run:
    """The end device: `warmup` unrecorded requests, then `requests` recorded ones."""

    plan: DeployedPlan
    edge: tuple[str, int] | None
    images: npt.NDArray[np.float32]
    requests: int
    warmup: int
    threads: int
    tls: TlsFiles
    """The end device's client certificate and key, and the CA the edge's must come from."""


def _setns(namespace: str) -> None:
    """Move the calling thread (only it) into `namespace`: sockets it and the threads it starts
    make from then on live there."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(Path(NETNS_DIR) / namespace, os.O_RDONLY | os.O_CLOEXEC)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            errno = ctypes.get_errno()
            raise CnnpcError(f"setns into {namespace}: {os.strerror(errno)}")
    finally:
        os.close(fd)


def _child(namespace: str, network: ipaddress.IPv4Network, conn: Connection) -> None:
    """A tier's process: enter the namespace first, then import, then do the one job."""
    try:
        _setns(namespace)  # the main thread, before any other: every later thread is inside
        from cnnpc.runtime import PartServer, PlanClient, transport_policy

        conn.send(("ready", None))
        job = conn.recv()
        # each tier as on its own host: mutual TLS on the namespaces' addresses
        if isinstance(job, Serve):
            nxt = job.next_address
            server = PartServer(
                job.plan,
                job.role,
                host=job.host,
                next_address=nxt,
                threads=job.threads,
                transport=transport_policy(job.host, job.tls, insecure=False),
                next_transport=None if nxt is None else transport_policy(nxt[0], job.tls, False),
            )
            conn.send(("ok", server.start()))
            conn.recv()  # stop (or the parent gone: EOFError)
            server.stop()
            return
        assert isinstance(job, Run)
        images = job.images
        transport = None if job.edge is None else transport_policy(job.edge[0], job.tls, False)
        with PlanClient(job.plan, job.edge, threads=job.threads, transport=transport) as client:
            for i in range(job.warmup):
                client.infer(images[i % len(images)])
            results = [client.infer(images[i % len(images)]) for i in range(job.requests)]
        conn.send(("ok", results))
    except EOFError:
        pass
    except BaseException as exc:  # handed to the parent, which re-raises it
        try:
            conn.send(("error", exc))
        except Exception:
            conn.send(("error", CnnpcError(f"{type(exc).__name__}: {exc}")))


class TierProcess:
    """One spawned child inside `namespace` (see the module doc)."""

    def __init__(self, namespace: str, network: ipaddress.IPv4Network) -> None:
        self.namespace = namespace
        context = multiprocessing.get_context("spawn")
        self.conn, theirs = context.Pipe()
        self.process = context.Process(
            target=_child, args=(namespace, network, theirs), name=namespace, daemon=True
        )
        self.process.start()
        theirs.close()
        self._ready = False

    def _receive(self, timeout_s: float, what: str) -> object:
        if not self.conn.poll(timeout_s):
            raise CnnpcError(f"{what} in namespace {self.namespace} took over {timeout_s:.0f} s")
        try:
            kind, value = self.conn.recv()
        except EOFError:
            raise CnnpcError(f"the process in namespace {self.namespace} died") from None
        if kind == "error":
            assert isinstance(value, BaseException)
            raise value
        return value

    def ask(self, job: Serve | Run, timeout_s: float) -> object:
        """Send `job`; its result (a server's address, the client's results)."""
        if not self._ready:
            self._receive(SPAWN_TIMEOUT_S, "starting a process")
            self._ready = True
        self.conn.send(job)
        return self._receive(timeout_s, "serving" if isinstance(job, Serve) else "the client")

    def serve(self, job: Serve, timeout_s: float) -> tuple[str, int]:
        address = self.ask(job, timeout_s)
        assert isinstance(address, tuple)
        return str(address[0]), int(address[1])

    def run(self, job: Run, timeout_s: float) -> list[InferResult]:
        results = self.ask(job, timeout_s)
        assert isinstance(results, list)
        return results

    def close(self) -> None:
        """Stop the child (a server finishes its calls), kill it if it does not go."""
        with contextlib.suppress(OSError, ValueError):
            self.conn.send("stop")
        self.process.join(STOP_TIMEOUT_S)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(STOP_TIMEOUT_S)
        self.conn.close()
