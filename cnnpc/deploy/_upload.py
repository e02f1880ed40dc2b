"""`deploy --upload`: a search's best model as an upload folder (IONN), priced as the search.

The model is the one `deploy` would cut (the best plan's keep fractions, the oracle's tuned
weights), cut at every split candidate instead of at the plan's splits; the layouts and the
upload order are priced with the search's device profile, links and keep fractions.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from cnnpc._files import check_folder_target
from cnnpc.deploy._search import (
    DeployInputs,
    open_best_plan,
    provenance,
    refuse_coded_search,
    tuned_at_size,
)
from cnnpc.deploy._segments import is_upload_folder, segment_parts, write_upload_folder
from cnnpc.records import KeepConfig, PlanChoice


@dataclass(frozen=True)
class UploadSummary:
    """What `deploy --upload` wrote: the parts, the upload order's steps and what they buy."""

    folder: Path
    model: str
    parts: tuple[tuple[str, int], ...]
    """(file, bytes) of each part."""
    steps: tuple[tuple[str, ...], ...]
    """The segments each upload step sends."""
    initial_ms: float
    full_ms: float
    whole_upload_s: float
    full_benefit_s: float

    def as_dict(self) -> dict[str, Any]:
        """The CLI's --json form."""
        return {
            "folder": str(self.folder),
            "model": self.model,
            "parts": [{"file": file, "bytes": size} for file, size in self.parts],
            "steps": [list(step) for step in self.steps],
            "initial_ms": self.initial_ms,
            "full_ms": self.full_ms,
            "whole_upload_s": self.whole_upload_s,
            "full_benefit_s": self.full_benefit_s,
        }


def deploy_upload(
    search_id: int,
    out: str | Path,
    *,
    upload_mbps: float | None = None,
    inputs: DeployInputs | None = None,
) -> UploadSummary:
    """Write search `search_id`'s best model to `out` as an upload folder."""
    inputs = inputs or DeployInputs()
    target = check_folder_target(
        out, force=inputs.force, owned=is_upload_folder, what="cnnpc upload"
    )
    priced = open_best_plan(search_id, inputs.storage_url)
    search, best, planner = priced.search, priced.best, priced.planner
    refuse_coded_search(search, "an upload folder")
    oracle = inputs.open_oracle(search)
    model, images, size = tuned_at_size(oracle, best.keep, inputs.image_size)
    parts, files = segment_parts(model, oracle.space, images, priced.names)
    head = replace(
        provenance(search, priced.url, priced.options, oracle.workload, size),
        plan=PlanChoice(keep=dict(best.keep), channels=oracle.kept_channels(best.keep)),
    )
    keep = KeepConfig.from_fractions(planner.profile.space, dict(best.keep))
    folder, order = write_upload_folder(
        target,
        parts,
        files,
        planner,
        head=head,
        priced=f"search {search.id}'s {search.device} profile and links",
        upload_mbps=upload_mbps,
        keep=keep,
        force=inputs.force,
    )
    return UploadSummary(
        folder=folder,
        model=search.model,
        parts=tuple((p.file, len(files[p.file])) for p in parts),
        steps=tuple(s.segments for s in order.steps),
        initial_ms=order.initial.latency_ms,
        full_ms=order.full.latency_ms,
        whole_upload_s=order.whole_upload_s,
        full_benefit_s=order.full_benefit_s,
    )
