"""What `validate` reports: each component of a request predicted against measured, and how
the links were shaped and secured."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from cnnpc.errors import InputError
from cnnpc.latency import Calibration
from cnnpc.records import DeployedPlan

if TYPE_CHECKING:
    from cnnpc.runtime import InferResult

COMPONENTS = (
    ("end compute", "end_ms"),
    ("end->edge transfer", "uplink_ms"),
    ("edge compute", "edge_ms"),
    ("edge->cloud transfer", "downlink_ms"),
    ("cloud compute", "cloud_ms"),
    ("runtime overhead", "overhead_ms"),
    ("total", "total_ms"),
)
TOKEN_BUCKET = "token bucket in the senders"
KERNEL = "tc tbf in network namespaces"
PLAINTEXT, TLS, MUTUAL_TLS = "plaintext", "TLS", "mutual TLS"


@dataclass(frozen=True)
class ComponentRow:
    name: str
    key: str
    predicted_ms: float
    measured_ms: float
    """Median over the requests."""
    p10_ms: float
    p90_ms: float

    @property
    def error_pct(self) -> float | None:
        if self.measured_ms <= 0:
            return None
        return (self.predicted_ms - self.measured_ms) / self.measured_ms * 100.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "component": self.name,
            "key": self.key,
            "predicted_ms": self.predicted_ms,
            "measured_ms": self.measured_ms,
            "p10_ms": self.p10_ms,
            "p90_ms": self.p90_ms,
            "error_pct": self.error_pct,
        }


CODEC_TIMES = {
    "end": ("end_encode_ms", "edge_decode_ms"),
    "edge": ("edge_encode_ms", "cloud_decode_ms"),
}
"""A coded link's encode and decode timings, by its sending tier."""


@dataclass(frozen=True)
class LinkRow:
    """A coded link: the bytes the plan prices against the bytes the runtime sent (their mean
    over the requests: traffic adds up), and the codec's times (medians)."""

    link: str
    codec: str
    predicted_bytes: float
    """Packed bytes over the coder's ratio recorded in plan.json (entropy_ratio)."""
    measured_bytes: float
    encode_ms: float
    decode_ms: float
    """0 for a tensor only relayed through the edge: the next tier decodes it, counted on the
    link it reaches."""

    @property
    def bytes_error_pct(self) -> float:
        return (self.predicted_bytes - self.measured_bytes) / self.measured_bytes * 100.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "link": self.link,
            "codec": self.codec,
            "predicted_bytes": self.predicted_bytes,
            "measured_bytes": self.measured_bytes,
            "bytes_error_pct": self.bytes_error_pct,
            "encode_ms": self.encode_ms,
            "decode_ms": self.decode_ms,
        }


def link_rows(plan: DeployedPlan, results: Sequence[InferResult]) -> tuple[LinkRow, ...]:
    """One row per link with a codec (none for an int8 plan: its report is as before)."""
    rows = []
    for link in plan.links:
        name = f"{link.source}->{link.target}"
        sent = [r.sent_bytes[name] for r in results if name in r.sent_bytes]
        if link.codec.is_default or not sent:
            continue
        encode, decode = CODEC_TIMES[link.source]
        rows.append(
            LinkRow(
                name,
                link.codec.label,
                link.predicted_bytes,
                float(statistics.fmean(sent)),
                float(statistics.median(r.timings.get(encode, 0.0) for r in results)),
                float(statistics.median(r.timings.get(decode, 0.0) for r in results)),
            )
        )
    return tuple(rows)


@dataclass(frozen=True)
class ValidationReport:
    plan_folder: str
    requests: int
    rows: tuple[ComponentRow, ...]
    median_abs_error_pct: float
    """Median over requests of |predicted total - measured total| / measured total."""
    overhead_ms: float | None
    """Median of measured total - predicted pure transfer - measured compute, per request
    (None on unshaped links, where the predicted transfer times are not what the links do)."""
    transfer_ms: float
    """Predicted pure transfer time per request."""
    accuracy: float | None
    """Of the requests' answers; None without labels or when the plan runs at another size than
    the model was trained at (latency is validated at the host profile's size)."""
    shaped: bool
    calibration: Calibration | None = None
    """The fixed costs the prediction included (None: uncalibrated)."""
    fitted: Calibration | None = None
    """The fixed costs these requests show (with --calibrate: what was stored)."""
    shaping: str = TOKEN_BUCKET
    """How the links were shaped: TOKEN_BUCKET, KERNEL or "none"."""
    shaping_details: tuple[str, ...] = ()
    """Per direction, what shaped it (with --netns: the tc qdisc, and where the tiers ran)."""
    transport: str = PLAINTEXT
    """PLAINTEXT, TLS or MUTUAL_TLS: what every call ran over."""
    links: tuple[LinkRow, ...] = ()
    """The coded links (none: an int8 plan, whose JSON has no "links")."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "plan": self.plan_folder,
            "requests": self.requests,
            "shaped": self.shaped,
            "shaping": self.shaping,
            "shaping_details": list(self.shaping_details),
            "transport": self.transport,
            "components": [r.as_dict() for r in self.rows],
            "median_abs_error_total_pct": self.median_abs_error_pct,
            "runtime_overhead_ms": self.overhead_ms,
            "pure_transfer_ms": self.transfer_ms,
            "accuracy": self.accuracy,
            "calibration": None if self.calibration is None else self.calibration.as_dict(),
            "fitted": None if self.fitted is None else self.fitted.as_dict(),
        } | ({"links": [r.as_dict() for r in self.links]} if self.links else {})


def compare(
    plan: DeployedPlan,
    predicted: Mapping[str, float],
    results: Sequence[InferResult],
    labels: np.ndarray | None = None,
    shaped: bool = True,
    calibration: Calibration | None = None,
    fitted: Calibration | None = None,
) -> ValidationReport:
    """Predicted against measured, per component, over the requests' `results`."""
    if not results:
        raise InputError("validate needs at least one request")
    rows = []
    for name, key in COMPONENTS:
        values = np.array([r.timings[key] for r in results])
        p10, median, p90 = np.percentile(values, [10, 50, 90]).tolist()
        rows.append(ComponentRow(name, key, predicted[key], median, p10, p90))
    total = predicted["total_ms"]
    errors = [abs(total - r.timings["total_ms"]) / r.timings["total_ms"] * 100 for r in results]
    transfer = predicted["uplink_ms"] + predicted["downlink_ms"]
    if calibration is not None:  # the pure transfer, as uncalibrated
        transfer -= calibration.uplink_message_ms if plan.link("end") is not None else 0.0
        transfer -= calibration.message_ms if plan.link("edge") is not None else 0.0
    overheads = [
        r.timings["total_ms"]
        - transfer
        - sum(r.timings[k] for k in ("end_ms", "edge_ms", "cloud_ms"))
        for r in results
    ]
    accuracy = None
    if labels is not None:
        got = np.array([r.label for r in results])
        accuracy = float(np.mean(got == labels[: len(got)]))
    return ValidationReport(
        plan_folder=str(plan.folder),
        requests=len(results),
        rows=tuple(rows),
        median_abs_error_pct=float(statistics.median(errors)),
        overhead_ms=float(statistics.median(overheads)) if shaped else None,
        transfer_ms=transfer,
        accuracy=accuracy,
        shaped=shaped,
        calibration=calibration,
        fitted=fitted,
        links=link_rows(plan, results),
    )
