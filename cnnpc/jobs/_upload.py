"""`cnnpc upload` as one library call: the upload order of a model's parts (IONN)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cnnpc.errors import InputError
from cnnpc.planner import LinkOptions


@dataclass(frozen=True)
class UploadJob:
    """What `cnnpc upload` is asked: the model's keep from `keep` or from a search's best."""

    model: str
    device: str
    upload_mbps: float | None
    query_rate: float
    param_bytes: float
    bandwidth_mbps: float
    keep: Mapping[str, float] = field(default_factory=dict)
    cloud: bool = False
    links: LinkOptions = field(default_factory=LinkOptions)
    search_id: int | None = None
    storage_url: str | None = None
    png: Path | None = None


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
        links=job.links,
    )
    data = report.as_dict()
    if job.png is not None:
        data["png"] = str(plot_upload(report, job.png))
    return data
