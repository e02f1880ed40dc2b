"""`cnnpc deploy` as one library call: a plan folder, a plan set or an upload folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cnnpc._text import format_table
from cnnpc.errors import InputError
from cnnpc.planset import DEFAULT_HYSTERESIS, check_hysteresis

if TYPE_CHECKING:
    from cnnpc.deploy import DeployInputs


@dataclass(frozen=True)
class DeployJob:
    """What `cnnpc deploy` is asked: one plan (default), a plan set over `bandwidth`
    (`adaptive`) or an upload folder (`upload`). The rest says where the search's model comes
    from; importing `cnnpc.deploy` (TensorFlow) waits until the options are checked."""

    search_id: int
    out: Path
    adaptive: bool = False
    bandwidth: tuple[float, float] | None = None
    hysteresis: float = DEFAULT_HYSTERESIS
    upload: bool = False
    upload_rate: float | None = None
    storage_url: str | None = None
    data: str | None = None
    weights: str | None = None
    image_size: int | None = None
    force: bool = False
    progress: bool = False

    def inputs(self) -> DeployInputs:
        from cnnpc.deploy import DeployInputs

        return DeployInputs(
            storage_url=self.storage_url,
            data=self.data,
            weights=self.weights,
            image_size=self.image_size,
            force=self.force,
            progress=self.progress,
        )


@dataclass(frozen=True)
class Deployed:
    """What was written: the document `--json` prints and the text the command prints."""

    document: dict[str, Any]
    text: str


def deploy(job: DeployJob) -> Deployed:
    """Write the folder `job` asks for (checked before TensorFlow is imported)."""
    if job.upload or job.upload_rate is not None:
        if not job.upload or job.adaptive or job.bandwidth is not None:
            raise InputError("--upload-rate goes with --upload, which does not go with --adaptive")
        from cnnpc.deploy import deploy_upload

        _, summary = deploy_upload(
            job.search_id, job.out, upload_mbps=job.upload_rate, inputs=job.inputs()
        )
        return Deployed(summary, upload_text(summary))
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
        return Deployed(result.plan, text)
    from cnnpc.deploy import deploy as deploy_plan

    result = deploy_plan(job.search_id, job.out, job.inputs())
    text = plan_text(result.plan, str(result.folder))
    if result.finetuned:
        text += "\n(the model's weights were not kept by the search: it was fine-tuned again)"
    return Deployed(result.plan, text)


def upload_text(summary: dict[str, Any]) -> str:
    """An upload folder: its parts, the latency before and after, the upload's steps."""
    total = sum(p["bytes"] for p in summary["parts"])
    rows = [[k + 1, "+".join(step)] for k, step in enumerate(summary["steps"])]
    return (
        f"wrote {summary['folder']}: {len(summary['parts'])} parts of {summary['model']}, "
        f"{total / 1e6:.3f} MB; {summary['initial_ms']:.2f} ms before any upload, "
        f"{summary['full_ms']:.2f} ms after {summary['full_benefit_s']:.2f} s (whole model: "
        f"{summary['whole_upload_s']:.2f} s)\n" + format_table(["step", "segments"], rows)
    )


def plan_set_text(planset: dict[str, Any], folder: str) -> str:
    """The plans of a planset.json and its switching table."""
    lines = [
        f"wrote {folder}: {len(planset['plans'])} plans for {planset['model']} on "
        f"{planset['device']}, edge->cloud {planset['low_mbps']:g}..{planset['high_mbps']:g} "
        f"Mbps, hysteresis {planset['hysteresis']:g} (plan.json: {planset['design_plan']})"
    ]
    rows = [
        [
            *(p["label"], p["mode"], "+".join(p["splits"]) or "-", p["config_key"]),
            p["val_accuracy"],
            f"{min(p['best_mbps']):.3g}..{max(p['best_mbps']):.3g}",
        ]
        for p in planset["plans"]
    ]
    lines.append(format_table(["plan", "mode", "splits", "keep", "val acc", "best at Mbps"], rows))
    switches = [
        [f"{s['low']} <-> {s['high']}", s["crossover_mbps"], s["up_mbps"], s["down_mbps"]]
        for s in planset["switches"]
    ]
    if switches:
        headers = ["switch", "crossover Mbps", "up at Mbps", "down at Mbps"]
        lines.append(format_table(headers, switches))
    return "\n".join(lines)


def _shape(shape: list[int]) -> str:
    return "x".join(map(str, shape[1:]))


def plan_text(plan: dict[str, Any], folder: str) -> str:
    """The parts and links of a plan.json as two tables, and the predicted latency."""
    size = plan["workload"]["image_size"]
    lines = [
        f"wrote {folder} (search {plan['search']['id']}, {plan['model']}, {size}x{size} input)"
    ]
    rows = [
        [
            p["tier"],
            p["file"],
            f"{p['span'][0]}..{p['span'][1] - 1}",
            _shape(p["input"]["shape"]),
            _shape(p["output"]["shape"]),
        ]
        for p in plan["parts"]
    ]
    lines.append(format_table(["tier", "file", "segments", "input", "output"], rows))
    links = [
        [
            f"{lk['from']}->{lk['to']}",
            lk["tensor"],
            _shape(lk["shape"]),
            lk["dtype"],
            f"{lk['scale']:.6g}",
            lk["zero_point"],
            lk["bytes"],
            lk["bandwidth_mbps"],
        ]
        for lk in plan["links"]
    ]
    if links:
        headers = ["link", "tensor", "shape", "dtype", "scale", "zero", "bytes", "Mbps"]
        lines.append(format_table(headers, links))
    predicted = plan.get("predicted", {})
    if predicted.get("latency_ms") is not None:
        lines.append(f"predicted latency {predicted['latency_ms']:.2f} ms ({predicted['source']})")
    return "\n".join(lines)
