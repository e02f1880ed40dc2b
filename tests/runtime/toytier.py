"""A toy Tier server for the replica, metrics and limits tests: no TensorFlow, no plan.

Infer echoes the tensor back (after `sleep` seconds) for the plans it holds and answers
NOT_FOUND for the others; Upload answers each chunk with the bytes held of its segment;
GetHoldings says what Upload received. Run as a script it serves in a child process (a replica
to SIGKILL, a server whose memory is measured apart from its clients) and prints its port.
"""

from __future__ import annotations

import argparse
import os
import select
import subprocess
import sys
import threading
import time
from pathlib import Path

import grpc

import cnnpc
from cnnpc.runtime import Limits, limited_server
from cnnpc.runtime.proto import cnnpc_tier_pb2 as pb
from cnnpc.runtime.proto import cnnpc_tier_pb2_grpc as pb_grpc

HELD_PLANS = frozenset({0, 1, 2})


class Echo(pb_grpc.TierServicer):
    def __init__(self, name="toy", sleep=0.0, metrics=None):
        self.name = name
        self.sleep = sleep
        self.metrics = metrics
        self.started = 0
        self.answered = 0
        self.in_flight = 0
        self.held: dict[int, int] = {}
        self._guard = threading.Lock()

    def Infer(self, request, context):
        with self._guard:
            self.started += 1
            self.in_flight += 1
        try:
            if request.WhichOneof("route") == "plan" and request.plan not in HELD_PLANS:
                context.abort(grpc.StatusCode.NOT_FOUND, f"plan {request.plan} is not held here")
            if request.plan == 2:
                raise ValueError("a servicer bug")
            time.sleep(self.sleep)
            reply = pb.InferReply(tensor=request.tensor, timings_ms={f"{self.name}_service_ms": 1})
            with self._guard:
                self.answered += 1
            return reply
        finally:
            with self._guard:
                self.in_flight -= 1

    def Upload(self, request_iterator, context):
        for chunk in request_iterator:
            with self._guard:
                self.held[chunk.segment] = chunk.offset + len(chunk.data)
                held = dict(self.held)
            if self.metrics is not None:
                self.metrics.upload_progress(self.name, chunk.segment, held[chunk.segment], 1000)
            yield pb.Holdings(partial=held)

    def GetHoldings(self, request, context):
        with self._guard:
            return pb.Holdings(partial=dict(self.held))


def serve(servicer, max_message=1 << 20, limits=None, interceptors=(), host="127.0.0.1"):
    """A started toy server on a port the system picks, bounded as cnnpc's servers are
    (`limited_server`; default: their default `Limits`): (server, port)."""
    server = limited_server(limits or Limits(), max_message, interceptors=interceptors)
    pb_grpc.add_TierServicer_to_server(servicer, server)
    port = server.add_insecure_port(f"{host}:0")
    server.start()
    return server, port


def child_env():
    """The environment a child toy server needs to import this cnnpc and this module."""
    root = Path(cnnpc.__file__).resolve().parents[1]
    paths = [str(root), str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}


def start_child(*args, seconds=30.0):
    """A toy server in a child process: (process, port). Close its stdin to stop it."""
    child = subprocess.Popen(
        [sys.executable, __file__, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=child_env(),
    )
    ready, _, _ = select.select([child.stdout], [], [], seconds)
    line = child.stdout.readline() if ready else ""
    if not line.strip().isdigit():
        child.kill()
        child.wait(5)
        raise RuntimeError(f"the toy server did not start: {line!r}")
    return child, int(line)


def stop_child(child):
    if child.poll() is None:
        child.stdin.close()
        try:
            child.wait(10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(5)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sleep", type=float, default=0.0)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--max-peers", type=int, default=2048)
    parser.add_argument("--max-message", type=int, default=1 << 20)
    args = parser.parse_args()
    limits = Limits(max_connections=args.workers, max_peers=args.max_peers)
    server, port = serve(Echo(sleep=args.sleep), args.max_message, limits)
    print(port, flush=True)
    sys.stdin.read()  # serve until the test closes our stdin (or kills us)
    server.stop(0)


if __name__ == "__main__":
    main()
