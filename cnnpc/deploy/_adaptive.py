"""`deploy --adaptive`: every plan that is best somewhere in a bandwidth range, in one folder.

The folder holds planset.json (the plans, what their latencies are made of, the switching
table), one plan-<label>.json per plan (the same schema as plan.json, so each loads and runs
alone) and the parts. A part is identified by the configuration it was cut from and its segment
span: plans that run the same span of the same model (on any tier) share one file. plan.json is
the plan that is best at the search's own bandwidth, so the folder also works as a plain plan.
With a codec choice (`--bits`/`--entropy`) each plan is also offered at every codec of its links
and the set may hold plans that differ only in their codec (`_setcodecs`): they share the parts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from cnnpc import __version__
from cnnpc.deploy._build import (
    DeployError,
    build_deployment,
    check_plan_target,
    plan_document,
    write_plan_folder,
)
from cnnpc.deploy._codecs import entropy_measures, split_tensors
from cnnpc.deploy._layout import Layout
from cnnpc.deploy._search import (
    DeployInputs,
    DeployResult,
    held_out_images,
    provenance,
    refuse_coded_search,
    tuned_at_size,
)
from cnnpc.deploy._setcodecs import CodedPlan, coded_plan_set
from cnnpc.errors import InputError
from cnnpc.planner import LinkOptions, search_planner
from cnnpc.planset import DEFAULT_HYSTERESIS, check_hysteresis, sweep_plan_set
from cnnpc.records import (
    PLANSET_FILE,
    AccuracyRef,
    LinkSpec,
    PartSpec,
    PlanChoice,
    PlanDocument,
    PlanHead,
    PlanSetDocument,
    Predicted,
    SearchRef,
    SetPlan,
    document_bytes,
)
from cnnpc.storage import SearchRecord, Storage, display_url, resolve_url

if TYPE_CHECKING:
    from cnnpc.oracle import AccuracyOracle
    from cnnpc.workloads import Workload


def part_file(config_key: str, span: tuple[int, int]) -> str:
    """The shared file name of a configuration's segments [start, stop)."""
    digest = hashlib.sha1(config_key.encode(), usedforsecurity=False).hexdigest()[:10]
    return f"part-{span[0]}-{span[1]}-{digest}.tflite"


def deploy_adaptive(
    search_id: int,
    out: str | Path,
    *,
    low_mbps: float,
    high_mbps: float,
    hysteresis: float = DEFAULT_HYSTERESIS,
    inputs: DeployInputs | None = None,
) -> DeployResult[PlanSetDocument]:
    """Write the plan set of search `search_id` over [low, high] edge->cloud Mbps to `out`."""
    check_hysteresis(hysteresis)
    if not 0 < low_mbps < high_mbps:
        raise InputError(f"the bandwidth range needs 0 < START < STOP, got {low_mbps}:{high_mbps}")
    inputs = inputs or DeployInputs()
    target = check_plan_target(out, inputs.force)  # fail before minutes of work
    url = resolve_url(inputs.storage_url)
    with Storage(url, create=False) as storage:
        search = storage.get_search(search_id)
        refuse_coded_search(search, "a plan set")
        if search.mode != "acc_floor":
            raise DeployError(
                f"search {search_id} has a latency budget: a plan set needs a search with "
                "--acc-floor (every plan keeps the floor)"
            )
        options, planner = search_planner(search)
        source = inputs.open_source(search)
        oracle = source.oracle
        runs = oracle.finetunes
        table = sweep_plan_set(
            search.model,
            search.device,
            acc_floor=search.target,
            options=options,
            low_mbps=low_mbps,
            high_mbps=high_mbps,
            hysteresis=hysteresis,
            design_mbps=search.links.bandwidth_mbps,
            source=source,
            storage=storage,
        )
    names = tuple(s.name for s in planner.profile.segments)
    workload = oracle.workload
    files: dict[str, bytes] = {}
    shared: dict[str, PartSpec] = {}
    built_plans: dict[str, tuple[list[PartSpec], list[LinkSpec]]] = {}
    measures = {}
    for config_key in dict.fromkeys(p.config_key for p in table.plans):
        members = [p for p in table.plans if p.config_key == config_key]
        model, images, size = tuned_at_size(oracle, members[0].keep, inputs.image_size)
        for plan in members:
            layout = Layout(plan.a, plan.b, len(names))
            built_parts, built_links, built = build_deployment(
                model, oracle.space, layout, images, planner.links, names
            )
            parts = []
            for part in built_parts:
                name = part_file(config_key, part.span)
                if name not in shared:
                    files[name] = built[part.file]
                    shared[name] = part
                first = shared[name]
                parts.append(replace(part, file=name, input=first.input, output=first.output))
            links = _match_links(layout, parts, built_links)
            built_plans[plan.label] = parts, links
            if inputs.codecs is not None:  # the coder's ratio on the parts' own tensors
                tensors = split_tensors(parts, files, held_out_images(workload, size))
                measures[plan.label] = entropy_measures(links, tensors, inputs.codecs, timed=True)
    coded = {p.label: CodedPlan(p.label, tuple(built_plans[p.label][1])) for p in table.plans}
    if inputs.codecs is not None:  # each plan at every codec: those best somewhere stay
        links_of = {label: links for label, (_, links) in built_plans.items()}
        table, coded = coded_plan_set(table, links_of, measures, inputs.codecs)
    documents: dict[str, PlanDocument] = {}
    for plan in table.plans:
        parts = built_plans[coded[plan.label].source][0]
        meta = _meta(search, url, workload, size, plan, oracle, options)
        documents[plan.file] = plan_document(meta, size, parts, coded[plan.label].links, files)
    design = table.best(planner.links)
    planset = PlanSetDocument(
        created_at=datetime.now(UTC).isoformat(),
        cnnpc_version=__version__,
        search=SearchRef(id=search.id, storage=display_url(url), device=search.device),
        image_size=size,
        design_plan=design.label,
        table=table,
    )
    texts = {name: d.as_dict() for name, d in documents.items()} | {PLANSET_FILE: planset.as_dict()}
    files |= {name: document_bytes(document) for name, document in texts.items()}
    folder = write_plan_folder(target, documents[design.file], files, force=inputs.force)
    return DeployResult(folder, planset, oracle.finetunes > runs)


def _match_links(
    layout: Layout, parts: Sequence[PartSpec], links: Sequence[LinkSpec]
) -> list[LinkSpec]:
    """Each link carries the tensor at its boundary as the (possibly shared) part that makes
    it quantises it: the first part's input for the raw image (as build_deployment)."""
    out = []
    for (_, _, k), link in zip(layout.links(), links, strict=True):
        spec = parts[0].input
        if k > 0:
            spec = next(p.output for p in parts if p.span[1] == k)
        out.append(replace(link, spec=spec))
    return out


def _meta(
    search: SearchRecord,
    url: str,
    workload: Workload,
    size: int,
    plan: SetPlan,
    oracle: AccuracyOracle,
    options: LinkOptions,
) -> PlanHead:
    return replace(
        provenance(search, url, options, workload, size),
        plan=PlanChoice(
            label=plan.label,
            mode=plan.mode,
            splits=tuple(plan.splits),
            keep=plan.keep,
            channels=oracle.kept_channels(plan.keep),
        ),
        accuracy=AccuracyRef(val=plan.val_accuracy, test=None),
        predicted=Predicted(
            source=f"plan set of search {search.id}, {search.device} profile",
            latency_ms=None,
            breakdown={},
        ),
    )
