"""`cnnpc deploy` as one library call: a plan folder, a plan set or an upload folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cnnpc._text import format_table
from cnnpc.codec import CodecChoice, check_coder
from cnnpc.errors import InputError
from cnnpc.jobs._done import Done
from cnnpc.jobs._options import (
    TRUST_CODE_HELP,
    bits_option,
    entropy_option,
    nonnegative_float,
    option,
    positive_int,
    rate_mbps,
    search_id,
    storage_option,
    trust,
)
from cnnpc.planset import DEFAULT_HYSTERESIS, bandwidth_range, check_hysteresis
from cnnpc.records import DeployOptions

if TYPE_CHECKING:
    from cnnpc.deploy import DeployInputs, UploadSummary
    from cnnpc.records import PlanDocument, PlanSetDocument


@dataclass(frozen=True, kw_only=True)
class DeployJob:
    """What `cnnpc deploy` is asked: one plan (default), a plan set over `bandwidth`
    (`adaptive`) or an upload folder (`upload`). Where the search's model comes from becomes
    one `DeployOptions`; importing `cnnpc.deploy` (TensorFlow) waits until the job is checked."""

    search_id: int = option(type=search_id, metavar="SEARCH", dest="search", help="search id")
    out: Path = option("--out", type=Path, metavar="DIR", help="plan folder to write")
    force: bool = option("--force", action="store_true", help="replace an existing --out folder")
    image_size: int | None = option(
        "--image-size",
        default=None,
        type=positive_int,
        metavar="N",
        help="deploy at NxN input (default: the size the model was trained at)",
    )
    data: str | None = option(
        "--data", default=None, metavar="DIR", help="the search's --data, if any"
    )
    weights: str | None = option(
        "--weights", default=None, metavar="FILE", help="the search's --weights"
    )
    trust_code: bool = option("--trust-code", action="store_true", help=TRUST_CODE_HELP)
    adaptive: bool = option(
        "--adaptive",
        action="store_true",
        help="write every plan that is best somewhere in --bandwidth START:STOP (a plan set for "
        "'cnnpc infer --adaptive'), parts shared, with the switching table",
    )
    bandwidth: tuple[float, float] | None = option(
        "--bandwidth",
        default=None,
        type=bandwidth_range,
        metavar="START:STOP",
        help="edge->cloud Mbps range of the plan set (with --adaptive)",
    )
    hysteresis: float = option(
        "--hysteresis",
        default=DEFAULT_HYSTERESIS,
        type=nonnegative_float,
        metavar="F",
        help=f"switch only to a plan predicted faster by more than this fraction "
        f"({DEFAULT_HYSTERESIS:g})",
    )
    upload: bool = option(
        "--upload",
        action="store_true",
        help="write an upload folder instead (IONN): one part per profile segment, the upload "
        "order and the price of every end/edge split, for 'cnnpc serve --empty' and "
        "'cnnpc infer --upload'",
    )
    upload_rate: float | None = option(
        "--upload-rate",
        default=None,
        type=rate_mbps,
        metavar="MBPS",
        help="with --upload: rate of the upload (default: the search's uplink)",
    )
    storage: str | None = storage_option()
    bits: tuple[int, ...] | None = bits_option()
    entropy: str | None = entropy_option(measured=True)
    progress: bool = False

    @property
    def codecs(self) -> CodecChoice | None:
        """The links' codec choice (None: neither --bits nor --entropy, int8 as the search)."""
        if self.bits is None and self.entropy is None:
            return None
        choice = CodecChoice(self.bits or (8,), self.entropy or "none")
        check_coder(choice.entropy)  # before TensorFlow is imported
        return choice

    @property
    def options(self) -> DeployOptions:
        """Where the search's model comes from, as every deployment takes it."""
        return DeployOptions(
            storage_url=self.storage,
            data=self.data,
            weights=self.weights,
            image_size=self.image_size,
            force=self.force,
            progress=self.progress,
            codecs=self.codecs,
        )

    def inputs(self) -> DeployInputs:
        from cnnpc.deploy import DeployInputs

        trust(self.trust_code, self.weights)
        return DeployInputs.of(self.options)


def deploy(job: DeployJob) -> Done:
    """Write the folder `job` asks for (checked before TensorFlow is imported)."""
    if job.codecs is not None and job.upload:
        raise InputError(
            "--bits and --entropy do not go with --upload (yet): an upload folder prices every "
            "end/edge split as int8 while its split moves; code links with one plan or --adaptive"
        )
    if job.upload or job.upload_rate is not None:
        if not job.upload or job.adaptive or job.bandwidth is not None:
            raise InputError("--upload-rate goes with --upload, which does not go with --adaptive")
        from cnnpc.deploy import deploy_upload

        summary = deploy_upload(
            job.search_id, job.out, upload_mbps=job.upload_rate, inputs=job.inputs()
        )
        return Done(summary.as_dict(), upload_text(summary))
    if job.adaptive or job.bandwidth is not None:
        if not job.adaptive or job.bandwidth is None:
            raise InputError("--adaptive and --bandwidth START:STOP go together")
        check_hysteresis(job.hysteresis)  # before TensorFlow is imported
        from cnnpc.deploy import deploy_adaptive

        low, high = job.bandwidth
        result = deploy_adaptive(
            job.search_id,
            job.out,
            low_mbps=low,
            high_mbps=high,
            hysteresis=job.hysteresis,
            inputs=job.inputs(),
        )
        text = plan_set_text(result.plan, str(result.folder))
        if result.finetuned:
            text += (
                "\n(some weights were not kept by the search: those models were fine-tuned again)"
            )
        return Done(result.plan.as_dict(), text)
    from cnnpc.deploy import deploy as deploy_plan

    one = deploy_plan(job.search_id, job.out, job.inputs())
    text = plan_text(one.plan, str(one.folder))
    if one.finetuned:
        text += "\n(the model's weights were not kept by the search: it was fine-tuned again)"
    return Done(one.plan.as_dict(), text)


def upload_text(summary: UploadSummary) -> str:
    """An upload folder: its parts, the latency before and after, the upload's steps."""
    total = sum(size for _, size in summary.parts)
    rows = [[k + 1, "+".join(step)] for k, step in enumerate(summary.steps)]
    return (
        f"wrote {summary.folder}: {len(summary.parts)} parts of {summary.model}, "
        f"{total / 1e6:.3f} MB; {summary.initial_ms:.2f} ms before any upload, "
        f"{summary.full_ms:.2f} ms after {summary.full_benefit_s:.2f} s (whole model: "
        f"{summary.whole_upload_s:.2f} s)\n" + format_table(["step", "segments"], rows)
    )


def plan_set_text(document: PlanSetDocument, folder: str) -> str:
    """The plans of a planset.json and its switching table."""
    table = document.table
    lines = [
        f"wrote {folder}: {len(table.plans)} plans for {table.model} on "
        f"{table.device}, edge->cloud {table.low_mbps:g}..{table.high_mbps:g} "
        f"Mbps, hysteresis {table.hysteresis:g} (plan.json: {document.design_plan})"
    ]
    rows = [
        [
            p.label,
            p.mode,
            "+".join(p.splits) or "-",
            p.config_key,
            p.val_accuracy,
            f"{min(p.best_mbps):.3g}..{max(p.best_mbps):.3g}",
        ]
        for p in table.plans
    ]
    headers = ["plan", "mode", "splits", "keep", "val acc", "best at Mbps"]
    if any(p.codecs for p in table.plans):  # the codec's column
        headers.append("codecs")
        for row, p in zip(rows, table.plans, strict=True):
            row.append(", ".join(f"{k} {c.label}" for k, c in p.codecs.items()) or "int8")
    lines.append(format_table(headers, rows))
    switches = [
        [f"{s.low} <-> {s.high}", s.crossover_mbps, s.up_mbps, s.down_mbps] for s in table.switches
    ]
    if switches:
        headers = ["switch", "crossover Mbps", "up at Mbps", "down at Mbps"]
        lines.append(format_table(headers, switches))
    return "\n".join(lines)


def _shape(shape: tuple[int, ...]) -> str:
    return "x".join(map(str, shape[1:]))


def plan_text(plan: PlanDocument, folder: str) -> str:
    """The parts and links of a plan.json as two tables, and the predicted latency."""
    head = plan.head
    size = None if head.workload is None else head.workload.image_size
    lines = [f"wrote {folder} (search {head.search_id}, {head.model}, {size}x{size} input)"]
    rows = [
        [
            p.tier,
            p.file,
            f"{p.span[0]}..{p.span[1] - 1}",
            _shape(p.input.shape),
            _shape(p.output.shape),
        ]
        for p in plan.parts
    ]
    lines.append(format_table(["tier", "file", "segments", "input", "output"], rows))
    links = [
        [
            f"{lk.source}->{lk.target}",
            lk.tensor,
            _shape(lk.spec.shape),
            lk.spec.dtype,
            f"{lk.spec.scale:.6g}",
            lk.spec.zero_point,
            lk.bytes,
            lk.bandwidth_mbps,
        ]
        for lk in plan.links
    ]
    if links:
        headers = ["link", "tensor", "shape", "dtype", "scale", "zero", "bytes", "Mbps"]
        if any(not lk.codec.is_default for lk in plan.links):  # the codec's columns
            headers += ["codec", "coded bytes"]
            for row, lk in zip(links, plan.links, strict=True):
                row += [lk.codec.label, round(lk.predicted_bytes)]
        lines.append(format_table(headers, links))
    predicted = head.predicted
    if predicted is not None and predicted.latency_ms is not None:
        lines.append(f"predicted latency {predicted.latency_ms:.2f} ms ({predicted.source})")
    return "\n".join(lines)
