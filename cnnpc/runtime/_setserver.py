"""Servers for a plan set: one edge and one cloud server hold every plan's part for their tier.

A request names its plan in the InferRequest's `plan` (plan k of the set is number k, 1-based);
the edge runs that plan's edge part and forwards to the cloud with the same number, over one
channel and one shaped link whatever the plan. Parts that several plans share (same file) are
loaded once. Everything else (limits, deadlines, bad requests, the request handler) is
PartServer's.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Unpack

from cnnpc.codec import DEFAULT_CODEC
from cnnpc.errors import InputError
from cnnpc.records import DeployedPlan, PlanSet
from cnnpc.runtime._limits import Limits, message_limit
from cnnpc.runtime._part import Part
from cnnpc.runtime._rpc import NotHeld
from cnnpc.runtime._server import PartServer, Route, Serving, result_limit
from cnnpc.runtime._verify import runnable_codecs


def plan_numbers(table: PlanSet) -> dict[str, int]:
    """The request number of each plan of a set (1-based, in the set's order)."""
    return {p.label: i for i, p in enumerate(table.plans, start=1)}


class PlanSetServer(PartServer):
    """The `role` tier of every plan of a set."""

    def __init__(
        self,
        table: PlanSet,
        plans: Mapping[str, DeployedPlan],
        role: str,
        **serving: Unpack[Serving],
    ) -> None:
        served = [p for p in plans.values() if any(lk.target == role for lk in p.links)]
        if not served:
            raise InputError(f"no plan of the set sends anything to the {role}")
        # the base plan sets up the listener and the forwarder: one that forwards, if any does
        base = next((p for p in served if p.link(role) is not None), served[0])
        super().__init__(base, role, **serving)
        loaded: dict[str, Part] = {}
        self.routes = {}
        for label, number in plan_numbers(table).items():
            plan = plans[label]
            runnable_codecs(plan)
            incoming = next((lk for lk in plan.links if lk.target == role), None)
            if incoming is None:
                continue
            spec = plan.part(role)
            part = None
            if spec is not None:
                path = str(plan.part_path(role))
                if path not in loaded:
                    loaded[path] = Part(plan.part_path(role), spec, self.threads)
                part = loaded[path]
            forwards = role == "edge" and plan.link("edge") is not None
            if forwards and self.forwarder is None:
                raise InputError("a plan of the set goes on to the cloud: give its --next")
            what = f"plan {number} on the {role}"
            outgoing = plan.link("edge") if forwards else None
            self.routes[number] = Route(
                what,
                incoming.spec,
                () if part is None else (part,),
                forwards,
                incoming.codec,
                DEFAULT_CODEC if outgoing is None else outgoing.codec,
            )
        self.max_receive = message_limit(max(r.incoming.nbytes for r in self.routes.values()))
        self.max_result = self.max_send = max(result_limit(p) for p in plans.values())
        if self.forwarder is not None:  # every plan's tensors go through it (opened on use)
            self.forwarder.max_result = self.max_result
            sent = [link.bytes for p in served if (link := p.link("edge")) is not None]
            self.forwarder.max_send = message_limit(max(sent))

    def _route(self, plan: int) -> Route:
        route = self.routes.get(plan)
        if route is None:
            raise NotHeld(f"the {self.role} has no plan {plan} (plans: {sorted(self.routes)})")
        return route


@contextlib.contextmanager
def running_set_servers(
    table: PlanSet,
    plans: Mapping[str, DeployedPlan],
    *,
    shape: bool = True,
    threads: int = 1,
    limits: Limits | None = None,
) -> Iterator[tuple[tuple[str, int] | None, list[PlanSetServer]]]:
    """Start the set's cloud and edge servers on loopback ports the OS picks; yield the edge's
    address (None when no plan uses the edge) and the servers (cloud first); stop them on exit."""
    servers: list[PlanSetServer] = []
    try:
        next_address = None
        if any(p.link("edge") is not None for p in plans.values()):
            cloud = PlanSetServer(
                table, plans, "cloud", shape=shape, threads=threads, limits=limits
            )
            servers.append(cloud)
            next_address = cloud.start()
        edge_address = None
        if any(p.link("end") is not None for p in plans.values()):
            edge = PlanSetServer(
                table,
                plans,
                "edge",
                next_address=next_address,
                shape=shape,
                threads=threads,
                limits=limits,
            )
            servers.append(edge)
            edge_address = edge.start()
        yield edge_address, servers
    finally:
        for server in reversed(servers):
            server.stop()
