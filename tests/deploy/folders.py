"""A plan-set folder and an upload folder made from the session's three-tier plan, without a
search: the runtime tests and the three-host tests deploy the same folders.

The plan set: P1 is the three-tier plan (end [0, 2) / edge [2, 5) / cloud [5, 8)), P2 runs
[2, 8) on the edge; their compute is set in planset.json (P1: 1 + 1 + 0 ms, P2: 1 + 4 + 0 ms)
so that P1 wins while the edge->cloud link carries its small tensor in under ~3 ms: at FAST
Mbps P1, at SLOW P2 (what the plan set's own rule, the sweep's, predicts at those rates).

The coded plan set: the three-tier plan twice, int8 and 2 bits on edge->cloud (`deploy
--adaptive --bits 8,2`'s selection, `coded_plan_set`), its coding time made up so that the two
cross at CODED_MBPS, between SLOW and FAST: at SLOW P1 (2 bits), at FAST P2 (int8).

The upload folder: the same model cut at block1 and block10 (3 segments: the three-tier plan's
cuts, whose conversions are reused), priced with a fixed profile (end 1, 5 and 20 ms, edge a
tenth or twentieth of that, the parts' int8 tensors) so that the order and the best splits are
deterministic: segment 2 first, then segment 1, and segment 0 is never needed. The pricing's
uplink would carry the whole model in UPLOAD_S.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
from deploy.plans import RATES, SIZE, SPACE

from cnnpc.deploy import (
    ConvertedPart,
    Layout,
    build_deployment,
    io_specs,
    plan_document,
    segment_parts,
    write_plan_folder,
    write_upload_folder,
)
from cnnpc.latency import Conventions
from cnnpc.planner import Planner
from cnnpc.profiles import make_profile
from cnnpc.records import (
    PLAN_FILE,
    PLANSET_FILE,
    PLANSET_KIND,
    DeployedPlan,
    LinkSetting,
    PartSpec,
    PlanDocument,
    PlanHead,
    PlanSet,
    SetPlan,
    UploadPlan,
    load_plan,
    switches,
)
from cnnpc.runtime import Part, dequantize, quantize, requantize
from cnnpc.upload import UploadOrder
from cnnpc.workloads import Workload

FAST, SLOW = 1.0, 0.05  # edge->cloud Mbps
CODED_MBPS = (FAST * SLOW) ** 0.5
UPLOAD_S = 0.6
TIMES = [(1.0, 0.1, 0.1), (5.0, 0.5, 0.5), (20.0, 1.0, 1.0)]


def _set_plan(label: str, plan: DeployedPlan, compute: tuple[float, float, float]) -> SetPlan:
    up, down = plan.link("end"), plan.link("edge")
    assert up is not None
    return SetPlan(
        label=label,
        file=f"plan-{label}.json",
        config_key="test",
        keep={},
        a=plan.parts["end"].span[1],
        b=8 if down is None else plan.parts["edge"].span[1],
        n_segments=8,
        mode="end_edge" if down is None else "end_edge_cloud",
        splits=(),
        val_accuracy=0.9,
        compute_ms=compute,
        overhead_ms=0.0,
        uplink_bytes=float(up.bytes),
        downlink_bytes=0.0 if down is None else float(down.bytes),
        best_mbps=(),
    )


def plan_set_folder(
    three_tier: DeployedPlan, qat_model: Any, data: Workload, folder: Path
) -> tuple[PlanSet, dict[str, DeployedPlan]]:
    """Writes the plan set (module doc) to `folder` (plan.json is P1); its table and plans."""
    files = {f"p1-{t}.tflite": three_tier.part_path(t).read_bytes() for t in three_tier.parts}
    one = PlanDocument.parse(json.loads((three_tier.folder / PLAN_FILE).read_text()), "one")
    one = dataclasses.replace(
        one, parts=tuple(dataclasses.replace(p, file=f"p1-{p.tier}.tflite") for p in one.parts)
    )
    parts, links, built = build_deployment(qat_model, SPACE, Layout(2, 8, 8), data.train.x, RATES)
    for part in parts:
        files[f"p2-{part.tier}.tflite"] = built[part.file]
    parts = [dataclasses.replace(p, file=f"p2-{p.tier}.tflite") for p in parts]
    two = plan_document(PlanHead(model="mobilenet"), SIZE, parts, links, files)
    files |= {
        n: json.dumps(d.as_dict()).encode()
        for n, d in (("plan-P1.json", one), ("plan-P2.json", two))
    }
    write_plan_folder(folder, one, files)
    plans = {"P1": load_plan(folder, "plan-P1.json"), "P2": load_plan(folder, "plan-P2.json")}
    rows = (
        _set_plan("P1", plans["P1"], (1.0, 1.0, 0.0)),
        _set_plan("P2", plans["P2"], (1.0, 4.0, 0.0)),
    )
    design = LinkSetting(uplink_mbps=20.0, bandwidth_mbps=FAST)
    table = PlanSet("mobilenet", "test", SLOW, FAST, 0.1, design, rows, switches(rows, design, 0.1))
    document = {"schema_version": 1, "kind": PLANSET_KIND, **table.as_dict()}
    (folder / PLANSET_FILE).write_text(json.dumps(document))
    return table, plans


def coded_set_folder(
    three_tier: DeployedPlan, folder: Path
) -> tuple[PlanSet, dict[str, DeployedPlan]]:
    """Writes the coded plan set (module doc) to `folder`: its table and plans (no conversion:
    both plans run the three-tier plan's parts)."""
    from cnnpc.codec import CodecChoice, CodecMeasure
    from cnnpc.deploy._setcodecs import coded_plan_set

    files = {f"p1-{t}.tflite": three_tier.part_path(t).read_bytes() for t in three_tier.parts}
    one = PlanDocument.parse(json.loads((three_tier.folder / PLAN_FILE).read_text()), "one")
    one = dataclasses.replace(
        one, parts=tuple(dataclasses.replace(p, file=f"p1-{p.tier}.tflite") for p in one.parts)
    )
    up, down = three_tier.link("end"), three_tier.link("edge")
    assert up is not None and down is not None
    design = LinkSetting(uplink_mbps=20.0, bandwidth_mbps=FAST)
    saved_ms = float(design.ms(down.bytes * 6 / 8, CODED_MBPS))  # 2 bits instead of 8
    measures = (
        CodecMeasure(down.tensor, 2, 1.0, saved_ms / 2, saved_ms / 2),
        CodecMeasure(up.tensor, 2, 1.0, 1e3, 1e3),  # never on the uplink
    )
    row = _set_plan("P1", three_tier, (1.0, 1.0, 0.0))
    table = PlanSet("mobilenet", "test", SLOW, FAST, 0.1, design, (row,), ())
    coded, chosen = coded_plan_set(table, {"P1": one.links}, {"P1": measures}, CodecChoice((8, 2)))
    documents = {
        f"plan-{k}.json": dataclasses.replace(one, links=c.links) for k, c in chosen.items()
    }
    files |= {name: json.dumps(d.as_dict()).encode() for name, d in documents.items()}
    write_plan_folder(folder, documents["plan-P1.json"], files)
    (folder / PLANSET_FILE).write_text(
        json.dumps({"schema_version": 1, "kind": PLANSET_KIND, **coded.as_dict()})
    )
    return coded, {k: load_plan(folder, f"plan-{k}.json") for k in chosen}


def reused_segments(
    three_tier: DeployedPlan, qat_model: Any, data: Workload
) -> tuple[list[PartSpec], dict[str, bytes]]:
    """segment_parts at block1 and block10, whose conversions the three-tier plan already made
    (the same model, cuts and converter): no TFLite conversion of its own."""
    import pytest

    import cnnpc.deploy._segments as segments
    from cnnpc.compression import split_layer

    space = dataclasses.replace(SPACE, candidates=(SPACE.candidates[1], SPACE.candidates[4]))
    buffers = [three_tier.part_path(t).read_bytes() for t in ("end", "edge", "cloud")]
    asked = []

    def convert(model: Any, boundaries: list[str], images: Any) -> list[ConvertedPart]:
        asked.append((model, list(boundaries)))
        return [ConvertedPart(b, *io_specs(b)) for b in buffers]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(segments, "convert_parts", convert)
        parts, files = segment_parts(qat_model, space, data.train.x, ["head", "middle", "tail"])
    assert asked == [(qat_model, [split_layer(c) for c in space.candidates])]
    assert [(p.span, p.segments, p.file) for p in parts] == [
        ((k, k + 1), (name,), f"segment-{k}.tflite")
        for k, name in enumerate(("head", "middle", "tail"))
    ]
    return parts, files


def upload_planner(parts: list[PartSpec], files: dict[str, bytes]) -> Planner:
    """The fixed pricing of the module doc."""
    tensors = []
    for p in parts:
        _, h, w, c = p.input.shape
        tensors.append((h, w, c))
    total = sum(len(b) for b in files.values())
    rate = total * 8 / UPLOAD_S / 1e6
    profile = make_profile(TIMES, tensors, model="mobilenet", device="test")
    return Planner(profile, LinkSetting(uplink_mbps=rate, bandwidth_mbps=rate), Conventions(0.0))


def upload_folder(
    built: tuple[list[PartSpec], dict[str, bytes]], data: Workload, out: Path
) -> tuple[Path, UploadOrder]:
    """Writes the upload folder (module doc) to `out`: its path and upload order."""
    parts, files = built
    meta = {"model": "mobilenet", "workload": {"name": "digits", "classes": list(data.classes)}}
    return write_upload_folder(
        out, parts, files, upload_planner(parts, files), head=PlanHead.parse(meta, "test")
    )


def local_scores(plan: UploadPlan, images: Any) -> Any:
    """Scores of all parts run in turn in this process: the whole model on the end."""
    parts = [Part(plan.part_path(k), plan.parts[k]) for k in range(plan.n_segments)]
    out = []
    for image in images:
        spec = parts[0].spec.input
        q = quantize(image[np.newaxis], spec)
        for part in parts:
            q, _ = part.run(requantize(q, spec, part.spec.input))
            spec = part.spec.output
        out.append(dequantize(q, spec)[0])
    return np.array(out)
