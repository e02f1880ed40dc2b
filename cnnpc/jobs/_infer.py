"""`cnnpc infer` as one library call: images through a served plan, a plan set or an upload."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import numpy.typing as npt

from cnnpc._text import format_table
from cnnpc.errors import InputError
from cnnpc.jobs._done import Done
from cnnpc.jobs._options import (
    THREADS_HELP,
    TlsChoice,
    addresses,
    bounded_float,
    nonnegative_int,
    option,
    options,
    positive_float,
    positive_int,
    threads_int,
)
from cnnpc.records import PlanHead

if TYPE_CHECKING:
    from cnnpc.runtime import Transport

Addresses = tuple[tuple[str, int], ...]


@dataclass(frozen=True, kw_only=True)
class InferJob:
    """What `cnnpc infer` is asked. Without `images`: the embedded workload's test split."""

    images: tuple[Path, ...] = option(default=(), type=Path, nargs="*", metavar="IMAGES")
    plan: Path = option("--plan", type=Path, metavar="DIR")
    edge: Addresses | None = option(
        "--edge",
        default=None,
        type=addresses,
        metavar="HOST:PORT[,...]",
        help="the edge (several: replicas, calls spread round robin, retried on another)",
    )
    shape: bool = option(
        "--shape", action="store_true", help="shape the link to the edge to the plan"
    )
    limit: int | None = option(
        "--limit", default=None, type=positive_int, metavar="N", help="first N images"
    )
    threads: int = option("--threads", default=1, type=threads_int, help=THREADS_HELP)
    adaptive: bool = option(
        "--adaptive",
        action="store_true",
        help="a plan set: before each request pick the plan with the least predicted latency "
        "under the measured links, with hysteresis; print every switch",
    )
    probe_every: int = option(
        "--probe-every",
        default=10,
        type=positive_int,
        metavar="N",
        help="with --adaptive: measure an unused edge->cloud link every N requests (10)",
    )
    upload: bool = option(
        "--upload",
        action="store_true",
        help="--plan is a 'cnnpc deploy --upload' folder and --edge an empty edge: upload the "
        "parts in the folder's order in the background while the queries run, each with the "
        "best split among the parts the edge has confirmed (IONN)",
    )
    slowdown: float = option(
        "--slowdown",
        default=1.0,
        type=bounded_float(1.0, 1e6, name="slowdown"),
        metavar="F",
        help="with --upload: stand in for an end device F times slower than this host (1)",
    )
    query_rate: float | None = option(
        "--query-rate",
        default=None,
        type=positive_float,
        metavar="QPS",
        help="with --upload: issue queries at this rate (default: back to back)",
    )
    whole_first: bool = option(
        "--whole-first",
        action="store_true",
        help="with --upload: use the edge only once the whole model is there (the baseline)",
    )
    upload_wait: float = option(
        "--upload-wait",
        default=60.0,
        type=bounded_float(0.0, 86400.0, name="seconds"),
        metavar="S",
        help="with --upload: after the last query, wait up to S seconds for the edge to hold "
        "every part (60; 0: end with the queries, the upload possibly unfinished)",
    )
    stream: bool = option(
        "--stream",
        action="store_true",
        help="send the images as a stream, --window frames in flight through the servers; "
        "report frames per second (steady state) and the frames' latency",
    )
    window: int | None = option(
        "--window",
        default=None,
        type=nonnegative_int,
        metavar="K",
        help="with --stream: frames in flight (4; at most 16, the calls a server serves at "
        "once by default)",
    )
    tls: TlsChoice = options(TlsChoice)

    def transport(self) -> Transport | None:
        """TLS or plaintext to the edge, as the policy says (None: no edge)."""
        return None if self.edge is None else self.tls.transport(self.edge[0][0])


class _Folder(Protocol):
    @property
    def image_size(self) -> int: ...

    @property
    def head(self) -> PlanHead: ...


@dataclass(frozen=True)
class _Inputs:
    names: list[str]
    images: npt.NDArray[np.float32]
    labels: npt.NDArray[np.int64] | None


def _inputs(job: InferJob, plan: _Folder) -> _Inputs:
    """The images at the plan's size (the test split's with their labels when none are given)."""
    size = plan.image_size
    if job.images:
        from cnnpc._images import read_images  # no TensorFlow: the runtime-only install

        found = _Inputs([str(p) for p in job.images], read_images(job.images, size), None)
    else:
        if plan.head.workload_name != "digits":
            raise InputError(
                "give IMAGES: only the embedded digits workload has a built-in test split"
            )
        from cnnpc.workloads import digits

        test = digits(size).test
        found = _Inputs([f"test[{i}]" for i in range(len(test))], test.x, test.y)
    n = job.limit
    if n is None:
        return found
    return _Inputs(
        found.names[:n], found.images[:n], None if found.labels is None else found.labels[:n]
    )


def infer(job: InferJob) -> Done:
    """Classify the images through the servers and time every component."""
    if job.upload:
        return _infer_upload(job)
    if job.stream or job.window is not None:
        return _infer_stream(job)
    from cnnpc.records import load_plan, load_plan_set
    from cnnpc.runtime import COMPONENTS, AdaptiveClient, PlanClient

    table, plans = load_plan_set(job.plan) if job.adaptive else (None, {})
    plan = load_plan(job.plan)
    classes = list(plan.head.classes)
    inputs = _inputs(job, plan)
    adaptive: dict[str, Any] = {}
    if table is not None:
        with AdaptiveClient(
            table,
            plans,
            job.edge,
            shape=job.shape,
            threads=job.threads,
            probe_every=job.probe_every,
            transport=job.transport(),
        ) as chooser:
            runs = [chooser.infer(x) for x in inputs.images]
        results = [r.result for r in runs]
        adaptive = {
            "plans_used": {p.label: sum(r.plan == p.label for r in runs) for p in table.plans},
            "probes": chooser.probes,
            "switches": [s.as_dict() for s in chooser.switches],
        }
    else:
        with PlanClient(
            plan, job.edge, shape=job.shape, threads=job.threads, transport=job.transport()
        ) as client:
            results = [client.infer(x) for x in inputs.images]
    keys = [*COMPONENTS, "total_ms"]
    median = {k: float(np.median([r.timings[k] for r in results])) for k in keys}
    accuracy = None
    if inputs.labels is not None:
        hits = [r.label == y for r, y in zip(results, inputs.labels, strict=True)]
        accuracy = float(np.mean(hits))
    rows = [
        {
            "image": name,
            "label": r.label,
            "class": classes[r.label] if r.label < len(classes) else str(r.label),
            "score": float(r.scores[r.label]),
            "total_ms": r.timings["total_ms"],
        }
        for name, r in zip(inputs.names, results, strict=True)
    ]
    document = {"results": rows, "median_ms": median, "accuracy": accuracy} | adaptive
    return Done(document, _infer_text(document, bool(job.images)))


STREAM_WINDOW = 4


def _infer_stream(job: InferJob) -> Done:
    """The images as a stream through one deployed plan's servers (see `cnnpc.runtime.stream`)."""
    from cnnpc.records import load_plan
    from cnnpc.runtime import PlanClient, check_window, stream

    if not job.stream:
        raise InputError("--window goes with --stream")
    if job.adaptive:
        raise InputError("--stream and --adaptive do not go together")
    window = check_window(STREAM_WINDOW if job.window is None else job.window)
    plan = load_plan(job.plan)
    classes = list(plan.head.classes)
    inputs = _inputs(job, plan)
    with PlanClient(
        plan, job.edge, shape=job.shape, threads=job.threads, transport=job.transport()
    ) as client:
        run = stream(client, list(inputs.images), window)
    rows = [
        {
            "frame": f.index,
            "image": name,
            "label": f.result.label,
            "class": _class_name(classes, f.result.label),
            "score": float(f.result.scores[f.result.label]),
            "latency_ms": f.latency_ms,
        }
        for name, f in zip(inputs.names, run.frames, strict=True)
    ]
    accuracy = None
    if inputs.labels is not None:
        hits = [f.result.label == y for f, y in zip(run.frames, inputs.labels, strict=True)]
        accuracy = float(np.mean(hits))
    document = {"results": rows, "stream": run.as_dict(), "accuracy": accuracy}
    return Done(document, _stream_text(document, bool(job.images)))


def _class_name(classes: list[Any], label: int) -> Any:
    return classes[label] if label < len(classes) else str(label)


def _stream_text(out: dict[str, Any], per_image: bool) -> str:
    lines = []
    if per_image:
        rows = [
            [r["frame"], r["image"], r["class"], r["score"], r["latency_ms"]]
            for r in out["results"]
        ]
        lines.append(format_table(["frame", "image", "class", "score", "latency ms"], rows))
    s = out["stream"]
    lines.append(
        f"{s['frames']} frames, {s['window']} in flight: {s['fps']:.2f} frames/s in steady state "
        f"(after {s['warmup_frames']} warm-up frames); latency median {s['latency_median_ms']:.3f} "
        f"ms, p90 {s['latency_p90_ms']:.3f} ms"
    )
    if out["accuracy"] is not None:
        lines.append(f"accuracy {out['accuracy']:.4f} on the test split")
    return "\n".join(lines)


def _infer_text(out: dict[str, Any], per_image: bool) -> str:
    lines = []
    if per_image:
        rows = [[r["image"], r["class"], r["score"], r["total_ms"]] for r in out["results"]]
        lines.append(format_table(["image", "class", "score", "total ms"], rows))
    median = [[k, v] for k, v in out["median_ms"].items()]
    lines.append(format_table(["component", "median ms"], median))
    summary = f"{len(out['results'])} requests"
    if out["accuracy"] is not None:
        summary += f", accuracy {out['accuracy']:.4f} on the test split"
    lines.append(summary)
    if "plans_used" in out:
        lines += _switch_lines(out)
    return "\n".join(lines)


def _switch_lines(adaptive: dict[str, Any]) -> list[str]:
    used = ", ".join(f"{k} {v}" for k, v in adaptive["plans_used"].items())
    rows = [
        [
            s["request"],
            s["time_s"],
            s["from_plan"] or "-",
            s["to_plan"],
            s["uplink_mbps"],
            s["bandwidth_mbps"],
            s["fixed_ms"],
            s["from_ms"],
            s["to_ms"],
        ]
        for s in adaptive["switches"]
    ]
    headers = ["request", "time s", "from", "to", "up Mbps", "down Mbps", "down fixed ms"]
    return [
        f"requests per plan: {used}; {adaptive['probes']} probes of the edge->cloud link",
        format_table([*headers, "from ms", "to ms"], rows),
    ]


def _infer_upload(job: InferJob) -> Done:
    """Queries while the parts upload to an empty edge (IONN), each on the best split so far."""
    from cnnpc.records import load_upload
    from cnnpc.runtime import IncrementalClient, run_during_upload

    if job.adaptive:
        raise InputError("--upload and --adaptive do not go together")
    if job.edge is None:
        raise InputError("--upload needs the empty edge's address (--edge HOST:PORT)")
    if len(job.edge) > 1:
        raise InputError("--upload sends the parts to one edge: give one --edge HOST:PORT")
    plan = load_upload(job.plan)
    inputs = _inputs(job, plan)
    with IncrementalClient(
        plan,
        job.edge[0],
        transport=job.transport(),
        shape=job.shape,
        threads=job.threads,
        slowdown=job.slowdown,
        whole_first=job.whole_first,
    ) as client:
        run = run_during_upload(
            client, inputs.images, query_rate=job.query_rate, wait_upload=job.upload_wait
        )
    out = run.as_dict()
    if inputs.labels is not None:
        hits = [r.result.label == y for r, y in zip(run.results, inputs.labels, strict=True)]
        out["accuracy"] = sum(hits) / len(hits)
    return Done(out, _upload_text(out))


def _upload_text(out: dict[str, Any]) -> str:
    rows = [[f"{e['time_s']:.3f}", e["kind"], e["segment"], e["detail"]] for e in out["events"]]
    splits = ", ".join(f"a={a}: {c}" for a, c in out["queries_per_split"].items())
    done = out["uploaded_s"]
    lines = [
        format_table(["time s", "upload", "segment", "detail"], rows),
        f"{out['queries']} queries (end runs segments [0, a), edge the rest; {splits}); mean "
        f"{out['mean_ms']:.3f} ms, predicted {out['predicted_mean_ms']:.3f} ms; "
        f"{out['fallbacks']} fallbacks to the end",
        "upload " + ("not finished" if done is None else f"finished after {done:.3f} s"),
    ]
    if out.get("accuracy") is not None:
        lines.append(f"accuracy {out['accuracy']:.4f} on the test split")
    if out["error"]:
        lines.append(f"upload: {out['error']}")
    return "\n".join(lines)
