"""`deploy --upload`: a search's best model as an upload folder (IONN), priced as the search.

The model is the one `deploy` would cut (the best plan's keep fractions, the oracle's tuned
weights), cut at every split candidate instead of at the plan's splits; the layouts and the
upload order are priced with the search's device profile, links and keep fractions.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cnnpc._files import check_folder_target
from cnnpc.deploy._search import DeployInputs, open_best_plan, provenance, tuned_at_size
from cnnpc.deploy._segments import is_upload_folder, segment_parts, write_upload_folder
from cnnpc.records import KeepConfig, PlanChoice

if TYPE_CHECKING:
    pass


def deploy_upload(
    search_id: int,
    out: str | Path,
    *,
    upload_mbps: float | None = None,
    inputs: DeployInputs | None = None,
) -> tuple[Path, dict[str, Any]]:
    """Write search `search_id`'s best model to `out` as an upload folder; (folder, summary)."""
    inputs = inputs or DeployInputs()
    target = check_folder_target(
        out, force=inputs.force, owned=is_upload_folder, what="cnnpc upload"
    )
    priced = open_best_plan(search_id, inputs.storage_url)
    search, best, planner = priced.search, priced.best, priced.planner
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
    summary = {
        "folder": str(folder),
        "model": search.model,
        "parts": [{"file": p.file, "bytes": len(files[p.file])} for p in parts],
        "steps": [list(s.segments) for s in order.steps],
        "initial_ms": order.initial.latency_ms,
        "full_ms": order.full.latency_ms,
        "whole_upload_s": order.whole_upload_s,
        "full_benefit_s": order.full_benefit_s,
    }
    return folder, summary
