"""`upload_plan`: from user-level choices to an upload order, its timeline and the comparison."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cnnpc.errors import InputError
from cnnpc.planner import LinkOptions, planner_for
from cnnpc.records import KeepConfig
from cnnpc.upload._compare import Comparison, compare
from cnnpc.upload._order import UploadOrder, upload_order
from cnnpc.upload._params import load_params

PARAM_BYTES = (1.0, 2.0, 4.0)
"""Bytes a weight takes on the wire: int8, fp16, fp32 (a model is not stored in 3-byte words)."""


@dataclass(frozen=True)
class UploadReport:
    model: str
    device: str
    uplink_mbps: float
    upload_mbps: float
    query_rate: float
    param_bytes: float
    keep: dict[str, float]
    order: UploadOrder
    comparison: Comparison
    segment_names: tuple[str, ...]
    segment_params: tuple[int, ...]

    def as_dict(self) -> dict[str, Any]:
        o = self.order
        return {
            "model": self.model,
            "device": self.device,
            "uplink_mbps": self.uplink_mbps,
            "upload_mbps": self.upload_mbps,
            "query_rate": self.query_rate,
            "param_bytes": self.param_bytes,
            "keep": dict(self.keep),
            "tiers": "end, edge, cloud" if o.cloud else "end, edge",
            "segments": [
                {"name": n, "params": p, "bytes": b}
                for n, p, b in zip(
                    self.segment_names, self.segment_params, o.segment_bytes, strict=True
                )
            ],
            "initial": dataclasses.asdict(o.initial),
            "full": dataclasses.asdict(o.full),
            "steps": [dataclasses.asdict(s) for s in o.steps],
            "total_bytes": o.total_bytes,
            "unneeded_bytes": o.unneeded_bytes,
            "whole_upload_s": o.whole_upload_s,
            "full_benefit_s": o.full_benefit_s,
            "comparison": dataclasses.asdict(self.comparison),
        }


def upload_plan(
    model: str,
    device: str,
    *,
    upload_mbps: float | None = None,
    query_rate: float = 1.0,
    param_bytes: float = 4.0,
    bandwidth_mbps: float = 10.0,
    keep: Mapping[str, float] | None = None,
    cloud: bool = False,
    links: LinkOptions | None = None,
) -> UploadReport:
    """Upload order of `model`'s parts to the edge (IONN) and what it buys over uploading all first.

    `upload_mbps` defaults to the end->edge uplink; `param_bytes` is 4 for fp32 weights, 1 for
    int8. Pruning (`keep`) shrinks the tensors sent, not the parameter counts (a simplification).
    `links`: uplink rate, link latencies and conventions the queries are priced with.
    """
    if param_bytes not in PARAM_BYTES:
        raise InputError(
            "--param-bytes must be 1 (int8), 2 (fp16) or 4 (fp32) bytes per weight, "
            f"got {param_bytes:g}"
        )
    options = links or LinkOptions()
    uplink_mbps = options.uplink_mbps
    planner = planner_for(model, device, bandwidth_mbps=bandwidth_mbps, options=options)
    profile = planner.profile
    params = load_params(profile)
    config = KeepConfig.from_fractions(profile.space, dict(keep or {}))
    rate = uplink_mbps if upload_mbps is None else upload_mbps
    order = upload_order(planner, [p * param_bytes for p in params], rate, config, cloud=cloud)
    return UploadReport(
        model=profile.model,
        device=profile.device,
        uplink_mbps=uplink_mbps,
        upload_mbps=rate,
        query_rate=query_rate,
        param_bytes=param_bytes,
        keep={
            c.name: config.channels[c.name] / c.channels
            for c in profile.candidates
            if c.name in config.channels
        },
        order=order,
        comparison=compare(order, query_rate),
        segment_names=tuple(s.name for s in profile.segments),
        segment_params=params,
    )
