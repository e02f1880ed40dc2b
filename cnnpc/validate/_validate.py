"""Validate a plan: run it through the real runtime on shaped loopback links and compare every
component of its latency with the prediction.

The prediction comes from a profile measured on this host (``cnnpc profile --device host``):
each tier's compute is the sum of the predicted times of its segments at the plan's kept
channels, each transfer is bytes x 8 / rate. Uncalibrated, nothing else is added, so what the
runtime costs on top of compute and pure transfer (quantising, gRPC per call, copies, thread
hand-offs, the reply) shows up as the error of the total and is reported on its own as the
overhead per request.

Calibration (``--calibrate``) fits those fixed costs from the measured requests: the runtime's
cost per request is the median of what the client measures beyond compute and transfers, and
each link's cost per message the median of its measured time less bytes x 8 / rate (the rate is
the shaped one, so the slope is known and the fit is its intercept), and each tier's compute
scale is the median of its measured compute over the profile's prediction. They are stored with
the host profile (cnnpc.latency.Calibration); later predictions on that profile, here and in the
planner, add the fixed costs; the compute scales only validate applies.
"""

from __future__ import annotations

import dataclasses
import json
import statistics
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np
import numpy.typing as npt

from cnnpc.errors import InputError
from cnnpc.latency import Calibration, calibration_path, read_calibration
from cnnpc.records import DeployedPlan, load_plan
from cnnpc.validate._report import (
    COMPONENTS,
    KERNEL,
    MUTUAL_TLS,
    PLAINTEXT,
    TLS,
    TOKEN_BUCKET,
    ValidationReport,
    compare,
)

if TYPE_CHECKING:
    from cnnpc.runtime import InferResult, TlsFiles, Transport

TIER_KEYS = {"end": "end_ms", "edge": "edge_ms", "cloud": "cloud_ms"}
HOST_DEVICE = "host"
NETNS_DEVICE = "host_netns"
"""The calibration key of kernel-shaped runs (``validate --netns``), with the veths' MTU
appended (``host_netns_mtu1500``): their fixed costs are the kernel's (TCP/IP headers, tbf's
one-frame bucket, both set by the MTU), not the token bucket's, so they are stored apart and only
``validate --netns`` at that MTU includes them; planners use the token bucket's."""
TLS_DEVICE = "host_tls"
"""The calibration key of ``validate --tls-*`` runs: TLS adds its own cost per call, so its fixed
costs are stored apart from plaintext's (planners read the plaintext ones, HOST_DEVICE)."""
LINK_KEYS = {"end": "uplink_ms", "edge": "downlink_ms"}
CALIBRATION_ROUNDS = 3
"""Runs a calibration pools by default (each on servers of its own; see validate)."""
MAX_ROUNDS = 20


class CostModel(Protocol):
    """What validate needs of a host profile (cnnpc.profiling.HostCostModel)."""

    image_size: int

    def segment_ms(self, tier: str, channels: Mapping[str, int]) -> list[float]: ...


def predict(
    plan: DeployedPlan, cost: CostModel, calibration: Calibration | None = None
) -> dict[str, float]:
    """Predicted ms of every component of one request of `plan` on this host (with the fixed
    costs of `calibration`, if given)."""
    if cost.image_size != plan.image_size:
        raise InputError(
            f"the host profile was measured at {cost.image_size}x{cost.image_size} input, the "
            f"plan runs at {plan.image_size}x{plan.image_size} (deploy with --image-size "
            f"{cost.image_size}, or let validate deploy)"
        )
    channels = plan.head.channels
    out = dict.fromkeys((key for _, key in COMPONENTS), 0.0)
    for tier, part in plan.parts.items():
        times = cost.segment_ms(tier, channels)
        start, stop = part.span
        if stop > len(times):
            raise InputError(f"the host profile has {len(times)} segments, the plan needs {stop}")
        scale = 1.0 if calibration is None else calibration.compute_scale(tier)
        out[TIER_KEYS[tier]] = float(sum(times[start:stop])) * scale
    for link in plan.links:  # a coded link: its packed bytes over the coder's recorded ratio
        sent = link.bytes if link.codec.is_default else link.predicted_bytes
        out[LINK_KEYS[link.source]] = sent * 8.0 / (link.bandwidth_mbps * link.mbit_bits) * 1e3
    if calibration is not None:  # a signed intercept never makes a transfer negative
        out["overhead_ms"] = calibration.runtime_ms
        if plan.link("end") is not None:
            out["uplink_ms"] = max(0.0, out["uplink_ms"] + calibration.uplink_message_ms)
        if plan.link("edge") is not None:
            out["downlink_ms"] = max(0.0, out["downlink_ms"] + calibration.message_ms)
    out["total_ms"] = sum(out[key] for _, key in COMPONENTS[:-1])
    return out


def measure(
    plan: DeployedPlan,
    images: npt.NDArray[np.float32],
    requests: int,
    *,
    shape: bool = True,
    warmup: int = 3,
    threads: int = 1,
    transport: Transport | None = None,
) -> list[InferResult]:
    """Run `requests` requests (after `warmup` unrecorded ones) through servers started here
    (`transport`: every call's, see `cnnpc.runtime.shared_identity`; None: plaintext)."""
    from cnnpc.runtime import PlanClient, running_servers

    with (
        running_servers(plan, shape=shape, threads=threads, transport=transport) as edge,
        PlanClient(plan, edge, shape=shape, threads=threads, transport=transport) as client,
    ):
        for i in range(warmup):
            client.infer(images[i % len(images)])
        return [client.infer(images[i % len(images)]) for i in range(requests)]


def fit_calibration(
    plan: DeployedPlan,
    pure: Mapping[str, float],
    results: Sequence[InferResult],
    source: str = "",
    signed: bool = False,
) -> Calibration:
    """The fixed costs `results` show above the uncalibrated prediction `pure` (see the module
    doc): medians, never below 0, except the link costs when `signed` (validate --netns: a
    calibration only validate reads, see Calibration.signed_links)."""
    if not results:
        raise InputError("calibration needs at least one request")

    def median(key: str) -> float:
        return float(statistics.median(r.timings[key] for r in results))

    up = median("uplink_ms") - pure["uplink_ms"] if plan.link("end") is not None else 0.0
    down = median("downlink_ms") - pure["downlink_ms"] if plan.link("edge") is not None else 0.0
    scales = {}
    for tier, key in TIER_KEYS.items():
        measured = median(key)
        usable = tier in plan.parts and pure[key] > 0 and measured > 0
        scales[f"{tier}_compute_scale"] = measured / pure[key] if usable else 1.0
    return Calibration(
        runtime_ms=max(0.0, median("overhead_ms")),
        uplink_message_ms=up if signed else max(0.0, up),
        message_ms=down if signed else max(0.0, down),
        requests=len(results),
        source=source,
        signed_links=signed,
        **scales,
    )


def request_images(
    plan: DeployedPlan, requests: int
) -> tuple[npt.NDArray[np.float32], np.ndarray | None]:
    """The digits test split at the plan's size (labels too), else seeded random images."""
    size = plan.image_size
    if plan.head.workload_name == "digits":
        from cnnpc.workloads import digits

        test = digits(size).test
        return test.x, np.resize(test.y, requests)
    rng = np.random.default_rng(0)
    return rng.random((min(requests, 64), size, size, 3), dtype=np.float32), None


def validate(
    search_id: int,
    *,
    requests: int = 50,
    storage_url: str | None = None,
    plan_dir: str | Path | None = None,
    profile_dir: str | Path | None = None,
    cost_model: CostModel | None = None,
    shape: bool = True,
    warmup: int = 3,
    threads: int = 1,
    progress: bool = False,
    calibrate: bool = False,
    rounds: int | None = None,
    netns: bool = False,
    mtu: int | None = None,
    tls: TlsFiles | None = None,
) -> ValidationReport:
    """Deploy search `search_id`'s best plan (or read `plan_dir`) and validate it on this host.

    The host profile's stored calibration, if any, is included in the prediction; `calibrate`
    fits the fixed costs from these requests and stores them with the host profile, pooled over
    `rounds` runs (CALIBRATION_ROUNDS by default), each on freshly started servers: one run's
    setup (where the scheduler puts the tiers' threads, the shaper's state) moves its median
    total by a few percent, and a fit from one run carries that into every later prediction.
    `netns`
    runs the tiers in network namespaces on links shaped by the kernel (cnnpc.validate._netns;
    root only), with veths of `mtu` bytes; it has its own calibration per MTU (NETNS_DEVICE).
    `tls`: every call over TLS with these files (mutual with a CA), calibrated apart (TLS_DEVICE).
    """
    from cnnpc.runtime import shared_identity, verify_plan
    from cnnpc.validate import _netns

    if not 1 <= requests <= 100_000:  # the CLI's bound: each result is kept
        raise InputError(f"--requests must be in [1, 100000], got {requests}")
    if not 0 <= warmup <= 10_000:
        raise InputError(f"--warmup must be in [0, 10000], got {warmup}")
    if calibrate and not shape:
        raise InputError("--calibrate needs shaped links (the rates the fit subtracts)")
    if rounds is not None and not calibrate:
        raise InputError("--rounds sets how many runs --calibrate pools: use it with --calibrate")
    if rounds is not None and not 1 <= rounds <= MAX_ROUNDS:
        raise InputError(f"--rounds must be in [1, {MAX_ROUNDS}], got {rounds}")
    runs = (rounds or CALIBRATION_ROUNDS) if calibrate else 1
    if requests * runs > 100_000:
        raise InputError(f"--requests x --rounds must be at most 100000, got {requests * runs}")
    if netns and not shape:
        raise InputError("--netns shapes every link with tc: drop --no-shape")
    if mtu is not None and not netns:
        raise InputError("--mtu sets the namespaces' veth MTU: use it with --netns")
    if mtu is not None and not _netns.MIN_MTU <= mtu <= 65535:
        raise InputError(f"--mtu must be in {_netns.MIN_MTU}..65535, got {mtu}")
    transport = None
    if tls is not None and tls.given:
        if netns:
            raise InputError(
                "--netns makes certificates for the namespaces' addresses itself: drop --tls-*"
            )
        transport = shared_identity(tls)  # every file checked before deploying anything
    if netns:
        reason = _netns.unavailable_reason()  # before deploying anything
        if reason is not None:
            raise _netns.NetnsUnavailable(reason)
    with tempfile.TemporaryDirectory(prefix="cnnpc-validate-") as tmp:
        if plan_dir is not None:
            plan = load_plan(plan_dir)
            planned = plan.head.search_id
            if planned is not None and planned != search_id:
                raise InputError(f"{plan_dir} is a plan of search {planned}, not {search_id}")
            verify_plan(plan)  # a damaged part is one line, before any interpreter
            cost = cost_model or _host_cost_model(str(plan.head.model), profile_dir)
        else:
            from cnnpc.deploy import DeployInputs, deploy
            from cnnpc.storage import Storage, resolve_url

            with Storage(resolve_url(storage_url), create=False) as storage:
                model = storage.get_search(search_id).model
            cost = cost_model or _host_cost_model(model, profile_dir)
            folder = Path(tmp) / "plan"
            deploy(
                search_id,
                folder,
                DeployInputs(
                    storage_url=storage_url, image_size=cost.image_size, progress=progress
                ),
            )
            plan = load_plan(folder)
            verify_plan(plan)
        profile_folder = getattr(cost, "folder", None)
        key = (
            f"{NETNS_DEVICE}_mtu{mtu or _netns.MTU}"
            if netns
            else TLS_DEVICE
            if transport is not None
            else HOST_DEVICE
        )
        stored = None if profile_folder is None else calibration_path(profile_folder, key)
        if calibrate and stored is None:
            raise InputError("--calibrate needs a host profile folder to store the calibration")
        calibration = read_calibration(stored) if stored and stored.is_file() else None
        predicted = predict(plan, cost, calibration)
        images, labels = request_images(plan, requests)
        trained = plan.head.trained_size
        if trained is not None and trained != plan.image_size:
            labels = None  # a model run far from its training size: accuracy means nothing
        shaping = TOKEN_BUCKET if shape else "none"
        details: tuple[str, ...] = ()
        results: list[InferResult] = []
        for _ in range(runs):  # every run on servers (and namespaces) of its own
            if netns:
                measured, topology = _netns.measure_in_namespaces(
                    plan, images, requests, warmup=warmup, threads=threads, mtu=mtu or _netns.MTU
                )
                shaping, details = KERNEL, _netns.describe(topology)
            else:
                measured = measure(
                    plan,
                    images,
                    requests,
                    shape=shape,
                    warmup=warmup,
                    threads=threads,
                    transport=transport,
                )
            results.extend(measured)
        if labels is not None:  # every run sends the same images in the same order
            labels = np.tile(labels, runs)
        fitted = None
        if shape:
            pooled = f" in {runs} runs" if runs > 1 else ""
            source = f"cnnpc validate {search_id}: {len(results)} requests{pooled}, {plan.folder}"
            fitted = fit_calibration(plan, predict(plan, cost), results, source, signed=netns)
        if calibrate and stored is not None and fitted is not None:
            from cnnpc._files import write_text

            write_text(stored, json.dumps(fitted.as_dict(), indent=1) + "\n")
        report = compare(plan, predicted, results, labels, shape, calibration, fitted)
        secure = MUTUAL_TLS if netns or (tls and tls.ca) else TLS if transport else PLAINTEXT
        return dataclasses.replace(
            report, shaping=shaping, shaping_details=details, transport=secure
        )


def _host_cost_model(model: str, profile_dir: str | Path | None) -> CostModel:
    from cnnpc.profiling import host_cost_model

    return host_cost_model(model, profile_dir=profile_dir)
