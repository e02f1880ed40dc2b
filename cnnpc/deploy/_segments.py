"""An upload folder (IONN): the model as one int8 TFLite part per profile segment, and upload.json.

The end device holds every part and can run any prefix of the model; an edge that starts empty
(`cnnpc serve --empty`) receives parts one by one in the upload order and runs the suffix it
holds. The unit is `upload-plan`'s: a profile segment. upload.json records each part (span,
input and output tensors, bytes, sha256), the upload order (segments per step, as
`upload_order` finds it from the parts' real sizes and the upload rate) and the price of every
end/edge layout (a `LayoutChooser`), so the runtime picks a split with the latency model that
made the order. Reading it (`load_upload`) never imports TensorFlow.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cnnpc._files import write_folder
from cnnpc.compression import split_layer
from cnnpc.deploy._build import input_spec
from cnnpc.deploy._convert import convert_parts
from cnnpc.errors import InputError
from cnnpc.planner import Planner
from cnnpc.records import (
    NO_PRUNING,
    KeepConfig,
    PartSpec,
    PlanError,
    PlanHead,
    TensorSpec,
    check_part_file,
    peek_document,
    read_document,
)
from cnnpc.spaces import SearchSpace
from cnnpc.upload import LayoutChooser, UploadOrder, upload_order

UPLOAD_FILE = "upload.json"
UPLOAD_KIND = "cnnpc.upload"
SCHEMA_VERSION = 1
MAX_SEGMENTS = 255
"""A request names the span it asks of the edge in the frame's u16 (start and stop, a byte each)."""


@dataclass(frozen=True)
class UploadPlan:
    """An upload folder as read back (see the module doc)."""

    folder: Path
    parts: tuple[PartSpec, ...]
    """Segment k's part is parts[k], span (k, k + 1)."""
    sizes: tuple[int, ...]
    digests: tuple[str, ...]
    input: TensorSpec
    steps: tuple[tuple[int, ...], ...]
    """The segments each upload step sends, in order."""
    chooser: LayoutChooser
    uplink_mbps: float
    upload_mbps: float
    mbit_bits: float
    head: PlanHead
    """Where the upload folder comes from (the search, the workload, the plan's keep)."""

    @property
    def n_segments(self) -> int:
        return len(self.parts)

    def part_path(self, k: int) -> Path:
        return self.folder / self.parts[k].file

    @property
    def image_size(self) -> int:
        return int(self.input.shape[1])


def segment_parts(
    model: Any, space: SearchSpace, images: Any, names: Sequence[str]
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
    document = {
        "schema_version": SCHEMA_VERSION,
        "kind": UPLOAD_KIND,
        **head.as_dict(),
        **({} if priced is None else {"priced": priced}),
        "input": input_spec(parts[0].input.shape[1]).as_dict(),
        "uplink_mbps": links.uplink_mbps,
        "upload_mbps": rate,
        "mbit_bits": links.mbit_bits,
        "parts": [
            p.as_dict() | {"bytes": size, "sha256": hashlib.sha256(files[p.file]).hexdigest()}
            for p, size in zip(parts, sizes, strict=True)
        ],
        "steps": [
            dataclasses.asdict(s) | {"indices": [index[name] for name in s.segments]}
            for s in order.steps
        ],
        "initial": dataclasses.asdict(order.initial),
        "full": dataclasses.asdict(order.full),
        "whole_upload_s": order.whole_upload_s,
        "layouts": chooser.as_dict(),
    }
    text = json.dumps(document, indent=1, allow_nan=False) + "\n"
    contents = {p.file: files[p.file] for p in parts} | {UPLOAD_FILE: text.encode()}
    folder = write_folder(out, contents, force=force, owned=is_upload_folder, what="cnnpc upload")
    return folder, order


def is_upload_folder(folder: Path) -> bool:
    raw = peek_document(folder / UPLOAD_FILE)
    return raw is not None and raw.get("kind") == UPLOAD_KIND


def load_upload(folder: str | Path, *, with_files: bool = True) -> UploadPlan:
    """Read and check ``<folder>/upload.json``; `with_files`: every part file must be there and
    intact (the end device); the empty edge needs only the document (sizes and digests)."""
    root = Path(folder)
    path = root / UPLOAD_FILE
    raw = read_document(root, UPLOAD_FILE, "write an upload folder with 'cnnpc deploy --upload'")
    if not isinstance(raw, dict) or raw.get("kind") != UPLOAD_KIND:
        raise PlanError(f"{path}: not an upload folder's document")
    if raw.get("schema_version") != SCHEMA_VERSION:
        raise PlanError(f"{path}: not a schema_version {SCHEMA_VERSION} upload folder")
    try:
        return _parse(root, path, raw, with_files)
    except (KeyError, TypeError, ValueError, InputError) as exc:
        detail = str(exc) if isinstance(exc, InputError) else f"{type(exc).__name__} {exc}"
        raise PlanError(f"{path}: malformed ({detail}); deploy it again") from None


def _parse(root: Path, path: Path, raw: dict[str, Any], with_files: bool) -> UploadPlan:
    parts, sizes, digests = [], [], []
    for k, item in enumerate(raw["parts"]):
        file, size, digest = str(item["file"]), int(item["bytes"]), str(item["sha256"])
        if "/" in file or size <= 0 or list(item["span"]) != [k, k + 1]:
            raise PlanError(f"{path}: parts[{k}]: expected segment {k}'s file, bytes and span")
        if with_files:
            check_part_file(root / file, digest, UPLOAD_FILE, size)
        what = f"{path}: parts[{k}]"
        parts.append(
            PartSpec(
                f"segment {k}",
                file,
                (k, k + 1),
                tuple(str(s) for s in item["segments"]),
                TensorSpec.parse(item["input"], f"{what}.input"),
                TensorSpec.parse(item["output"], f"{what}.output"),
            )
        )
        sizes.append(size)
        digests.append(digest)
    n = len(parts)
    if not 0 < n <= MAX_SEGMENTS:
        raise PlanError(f"{path}: expected 1..{MAX_SEGMENTS} parts, got {n}")
    steps = tuple(tuple(int(i) for i in step["indices"]) for step in raw["steps"])
    if any(not 0 <= i < n for step in steps for i in step):
        raise PlanError(f"{path}: an upload step names a segment the folder does not have")
    chooser = LayoutChooser.from_dict(raw["layouts"])
    if chooser.n != n:
        raise PlanError(f"{path}: layouts priced for {chooser.n} segments, the folder has {n}")
    rates = [float(raw[k]) for k in ("uplink_mbps", "upload_mbps", "mbit_bits")]
    if not all(r > 0 and r != float("inf") for r in rates):
        raise PlanError(f"{path}: rates must be finite numbers > 0")
    return UploadPlan(
        folder=root,
        parts=tuple(parts),
        sizes=tuple(sizes),
        digests=tuple(digests),
        input=TensorSpec.parse(raw["input"], f"{path}: input"),
        steps=steps,
        chooser=chooser,
        uplink_mbps=rates[0],
        upload_mbps=rates[1],
        mbit_bits=rates[2],
        head=PlanHead.parse(raw, str(path)),
    )
