"""An upload folder (IONN): the model as one int8 TFLite part per profile segment, and upload.json.

The end device holds every part and can run any prefix of the model; an edge that starts empty
(`cnnpc serve --empty`) receives parts one by one in the upload order and runs the suffix it
holds. The unit is `upload-plan`'s: a profile segment. upload.json records each part (span,
input and output tensors, bytes, sha256), the upload order (segments per step, as
`upload_order` finds it from the parts' real sizes and the upload rate) and the price of every
end/edge layout (a `LayoutChooser`), so the runtime picks a split with the latency model that
made the order. Reading it (`cnnpc.records.load_upload`) never imports TensorFlow.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from cnnpc._files import write_folder
from cnnpc.compression import split_layer
from cnnpc.deploy._build import input_spec
from cnnpc.deploy._convert import convert_parts
from cnnpc.errors import InputError
from cnnpc.planner import Planner
from cnnpc.records import (
    MAX_SEGMENTS,
    NO_PRUNING,
    UPLOAD_FILE,
    UPLOAD_KIND,
    KeepConfig,
    PartSpec,
    PlanHead,
    UploadDocument,
    document_bytes,
    peek_document,
)
from cnnpc.spaces import SearchSpace
from cnnpc.upload import LayoutChooser, UploadOrder, upload_order

if TYPE_CHECKING:
    from cnnpc._keras import KerasModel


def segment_parts(
    model: KerasModel,
    space: SearchSpace,
    images: npt.NDArray[np.float32],
    names: Sequence[str],
) -> tuple[list[PartSpec], dict[str, bytes]]:
    """`model` cut at every split candidate of `space`: one int8 TFLite part per segment
    (``convert_parts``, the cut every deployment uses)."""
    if len(names) != len(space.candidates) + 1:
        raise InputError(f"{len(names)} segment names for {len(space.candidates) + 1} segments")
    if len(names) > MAX_SEGMENTS:
        raise InputError(f"an upload folder holds at most {MAX_SEGMENTS} segments")
    converted = convert_parts(model, [split_layer(c) for c in space.candidates], images)
    parts, files = [], {}
    for k, (name, part) in enumerate(zip(names, converted, strict=True)):
        file = f"segment-{k}.tflite"
        files[file] = part.buffer
        parts.append(PartSpec(f"segment {k}", file, (k, k + 1), (name,), part.input, part.output))
    return parts, files


def write_upload_folder(
    out: str | Path,
    parts: Sequence[PartSpec],
    files: Mapping[str, bytes],
    planner: Planner,
    *,
    head: PlanHead,
    priced: str | None = None,
    upload_mbps: float | None = None,
    keep: KeepConfig = NO_PRUNING,
    force: bool = False,
) -> tuple[Path, UploadOrder]:
    """upload.json and the parts into `out` at once; the order is `upload_order` over the parts'
    sizes at `upload_mbps` (default: the planner's uplink), end/edge layouts only (IONN).
    `head` says where the parts come from; `priced` what their order was priced on."""
    n = planner.profile.n_segments
    if len(parts) != n:
        raise InputError(f"{len(parts)} parts for a profile of {n} segments")
    sizes = [len(files[p.file]) for p in parts]
    links = planner.links
    rate = links.uplink_mbps if upload_mbps is None else upload_mbps
    order = upload_order(planner, sizes, rate, keep, cloud=False)
    chooser = LayoutChooser.of_planner(planner, keep, cloud=False)
    index = {s.name: k for k, s in enumerate(planner.profile.segments)}
    document = UploadDocument(
        head=head,
        priced=priced,
        input=input_spec(parts[0].input.shape[1]),
        uplink_mbps=links.uplink_mbps,
        upload_mbps=rate,
        mbit_bits=links.mbit_bits,
        parts=tuple(parts),
        sizes=tuple(sizes),
        digests=tuple(hashlib.sha256(files[p.file]).hexdigest() for p in parts),
        order=order.steps,
        steps=tuple(tuple(index[name] for name in s.segments) for s in order.steps),
        initial=order.initial,
        full=order.full,
        whole_upload_s=order.whole_upload_s,
        layouts=chooser.prices(),
    )
    contents = {p.file: files[p.file] for p in parts} | {
        UPLOAD_FILE: document_bytes(document.as_dict())
    }
    folder = write_folder(out, contents, force=force, owned=is_upload_folder, what="cnnpc upload")
    return folder, order


def is_upload_folder(folder: Path) -> bool:
    raw = peek_document(folder / UPLOAD_FILE)
    return raw is not None and raw.get("kind") == UPLOAD_KIND
