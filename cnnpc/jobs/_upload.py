"""`cnnpc upload` as one library call: the upload order of a model's parts (IONN)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cnnpc.errors import InputError
from cnnpc.jobs._links import LinkChoice, device_option, model_option
from cnnpc.jobs._options import bounded_float, keep_spec, option, options, positive_int, rate_mbps


@dataclass(frozen=True, kw_only=True)
class UploadJob:
    """What `cnnpc upload-plan` is asked: the model's keep from `keep` or from a search's best."""

    model: str = model_option()
    device: str = device_option()
    bandwidth_mbps: float = option(
        "--bandwidth",
        default=10.0,
        type=rate_mbps,
        metavar="MBPS",
        help="edge->cloud Mbps (used with --cloud; default 10)",
    )
    links: LinkChoice = options(LinkChoice)
    upload_mbps: float | None = option(
        "--upload-rate",
        default=None,
        type=rate_mbps,
        metavar="MBPS",
        help="rate of the model upload (default: the end->edge uplink)",
    )
    query_rate: float = option(
        "--query-rate",
        default=1.0,
        type=bounded_float(1e-6, 1e6, name="queries per second"),
        metavar="QPS",
        help="queries per second issued during the upload (1; at most 1e6)",
    )
    param_bytes: float = option(
        "--param-bytes",
        default=4.0,
        type=bounded_float(0.125, 8.0, name="bytes per parameter"),
        metavar="B",
        help="bytes per parameter: 4 for fp32 weights (default), 1 for int8 (0.125 to 8)",
    )
    keep: Mapping[str, float] = option(
        "--keep",
        factory=dict,
        type=keep_spec,
        metavar="NAME=FRACTION[,...]",
        help="the plan's kept channel fractions (default: no pruning)",
    )
    search_id: int | None = option(
        "--search",
        default=None,
        type=positive_int,
        metavar="ID",
        help="take the keep fractions from a stored search's best plan (see --storage)",
    )
    storage_url: str | None = option(
        "--storage", default=None, metavar="URL", help="database of --search"
    )
    cloud: bool = option(
        "--cloud", action="store_true", help="also use the cloud (holds the model)"
    )
    png: Path | None = option("--png", default=None, type=Path, metavar="FILE", help="write a plot")


def keep_of_search(storage_url: str | None, search_id: int, model: str) -> dict[str, float]:
    """The keep of a search's best feasible trial (the search must be of `model`)."""
    from cnnpc.storage import Storage, resolve_url

    with Storage(resolve_url(storage_url), create=False) as storage:
        search = storage.get_search(search_id)
        if search.model != model:
            raise InputError(f"search {search_id} is of model {search.model}, not {model}")
        best = storage.best_trial(search_id)
        if best is None:
            raise InputError(f"search {search_id} has no feasible plan")
        return {k: float(v) for k, v in best.keep.items()}


def plan_upload(job: UploadJob) -> dict[str, Any]:
    """The upload plan's report (`cnnpc upload --json`), with its plot if asked."""
    from cnnpc._files import check_file_target
    from cnnpc.upload import plot_upload, upload_plan

    if job.search_id is not None and job.keep:
        raise InputError("give --keep or --search, not both")
    if job.png is not None:
        check_file_target(job.png)
    keep = job.keep
    if job.search_id is not None:
        keep = keep_of_search(job.storage_url, job.search_id, job.model)
    report = upload_plan(
        job.model,
        job.device,
        upload_mbps=job.upload_mbps,
        query_rate=job.query_rate,
        param_bytes=job.param_bytes,
        bandwidth_mbps=job.bandwidth_mbps,
        keep=dict(keep),
        cloud=job.cloud,
        links=job.links.link_options(),
    )
    data = report.as_dict()
    if job.png is not None:
        data["png"] = str(plot_upload(report, job.png))
    return data
