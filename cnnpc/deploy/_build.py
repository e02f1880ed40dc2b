"""Build a plan folder: one int8 TFLite file per tier and plan.json, written all at once."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from cnnpc._files import check_folder_target, write_folder
from cnnpc.compression import split_layer
from cnnpc.deploy._convert import convert_parts
from cnnpc.deploy._layout import Layout
from cnnpc.errors import CnnpcError
from cnnpc.records import (
    PLAN_FILE,
    PLAN_KIND,
    SCHEMA_VERSION,
    LinkSetting,
    LinkSpec,
    PartSpec,
    PlanDocument,
    PlanHead,
    TensorSpec,
    document_bytes,
    peek_document,
)
from cnnpc.spaces import SearchSpace

if TYPE_CHECKING:
    from cnnpc._keras import KerasModel


class DeployError(CnnpcError):
    """A plan cannot be deployed (nothing to deploy, or the folder cannot be written)."""


def build_deployment(
    model: KerasModel,
    space: SearchSpace,
    layout: Layout,
    images: npt.NDArray[np.float32],
    links: LinkSetting,
    segment_names: tuple[str, ...] | None = None,
) -> tuple[list[PartSpec], list[LinkSpec], dict[str, bytes]]:
    """Parts, links and the TFLite files of `model` deployed as `layout`.

    `links` gives each link's rate (end->edge: uplink, edge->cloud: bandwidth) and unit;
    `images` calibrate a float model (see ``convert_parts``).
    """
    names = segment_names or tuple(f"segment{k}" for k in range(layout.n))
    cuts = layout.cuts()
    boundaries = [split_layer(space.candidates[k - 1]) for k in cuts]
    converted = convert_parts(model, boundaries, images)
    parts: list[PartSpec] = []
    files: dict[str, bytes] = {}
    for (tier, (start, stop)), part in zip(layout.ranges().items(), converted, strict=True):
        file = f"{tier}.tflite"
        files[file] = part.buffer
        parts.append(
            PartSpec(tier, file, (start, stop), names[start:stop], part.input, part.output)
        )
    rates = {"end": links.uplink_mbps, "edge": links.bandwidth_mbps}
    specs = []
    for source, target, k in layout.links():
        if k == 0:
            spec = parts[0].input
        else:
            spec = next(
                p.output
                for p, span in zip(parts, layout.ranges().values(), strict=True)
                if span[1] == k
            )
        tensor = "input" if k == 0 else space.candidates[k - 1].name
        specs.append(LinkSpec(source, target, tensor, spec, rates[source], links.mbit_bits))
    return parts, specs, files


def input_spec(image_size: int, channels: int = 3) -> TensorSpec:
    """The client's input: one float32 image of the deployed size."""
    return TensorSpec((1, image_size, image_size, channels), "float32", 0.0, 0)


def is_plan_folder(folder: Path) -> bool:
    """Whether `folder` holds a cnnpc deployment (plan.json of cnnpc's kind and schema)."""
    raw = peek_document(folder / PLAN_FILE)
    return (
        raw is not None
        and raw.get("kind") == PLAN_KIND
        and raw.get("schema_version") == SCHEMA_VERSION
    )


def check_plan_target(out: str | Path, force: bool = False) -> Path:
    """Refuse, before minutes of building, an `out` that write_plan_folder would refuse."""
    return check_folder_target(out, force=force, owned=is_plan_folder, what="cnnpc plan")


def write_plan_folder(
    out: str | Path, plan: PlanDocument, files: Mapping[str, bytes], force: bool = False
) -> Path:
    """Write plan.json and the part files into `out` at once (a temporary folder, a rename).

    An existing `out` is refused unless `force`, and even then unless it holds a cnnpc plan
    (never empty a user's folder); it is replaced only once the new one is complete.
    """
    try:
        document = document_bytes(plan.as_dict())
    except ValueError as exc:
        raise DeployError(f"cannot write {out}: {exc}") from None
    contents = {**files, PLAN_FILE: document}
    return write_folder(out, contents, force=force, owned=is_plan_folder, what="cnnpc plan")


def plan_document(
    head: PlanHead,
    image_size: int,
    parts: Sequence[PartSpec],
    links: Sequence[LinkSpec],
    files: Mapping[str, bytes],
) -> PlanDocument:
    """plan.json: the head (model, search, workload, plan, predicted ...), input, parts (each
    with the sha256 of its file in `files`, the bytes written), links."""
    return PlanDocument(
        head=head,
        input=input_spec(image_size),
        parts=tuple(parts),
        digests=tuple(hashlib.sha256(files[p.file]).hexdigest() for p in parts),
        links=tuple(links),
    )
