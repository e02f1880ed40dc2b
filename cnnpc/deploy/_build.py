"""Build a plan folder: one int8 TFLite file per tier and plan.json, written all at once."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from cnnpc.compression import split_layer
from cnnpc.deploy._convert import convert_parts
from cnnpc.deploy._layout import Layout
from cnnpc.deploy._plan import PLAN_FILE, SCHEMA_VERSION, LinkSpec, PartSpec, TensorSpec
from cnnpc.errors import CnnpcError
from cnnpc.spaces import SearchSpace


class DeployError(CnnpcError):
    """A plan cannot be deployed (nothing to deploy, or the folder cannot be written)."""


def build_deployment(
    model: Any,
    space: SearchSpace,
    layout: Layout,
    images: npt.NDArray[np.float32],
    rates: Mapping[str, float],
    mbit_bits: float,
    segment_names: tuple[str, ...] | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, bytes]]:
    """Parts (as plan.json entries), links and the TFLite files of `model` deployed as `layout`.

    `rates` gives each link's bandwidth in Mbps by sender tier ("end": end->edge, "edge":
    edge->cloud); `images` calibrate a float model (see ``convert_parts``).
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
    links = []
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
        links.append(LinkSpec(source, target, tensor, spec, rates[source], mbit_bits))
    return [p.as_dict() for p in parts], [lk.as_dict() for lk in links], files


def input_spec(image_size: int, channels: int = 3) -> TensorSpec:
    """The client's input: one float32 image of the deployed size."""
    return TensorSpec((1, image_size, image_size, channels), "float32", 0.0, 0)


def write_plan_folder(
    out: str | Path, plan: Mapping[str, Any], files: Mapping[str, bytes], force: bool = False
) -> Path:
    """Write plan.json and the part files into `out` at once (a temporary folder, a rename).

    An existing `out` is refused unless `force`, then replaced only once the new one is complete;
    on any error nothing new is left behind.
    """
    target = Path(out)
    if target.exists() and not force:
        raise DeployError(f"{target} already exists (remove it, or pass --force to replace it)")
    if target.exists() and not target.is_dir():
        raise DeployError(f"{target} exists and is not a folder")
    parent = target.parent
    if not parent.is_dir():
        raise DeployError(f"cannot write {target}: folder {parent} does not exist")
    try:
        tmp = Path(tempfile.mkdtemp(dir=parent, prefix=f".{target.name}.", suffix=".tmp"))
    except OSError as exc:
        raise DeployError(f"cannot write {target}: {exc.strerror or exc}") from None
    old: Path | None = None
    try:
        for name, data in files.items():
            (tmp / name).write_bytes(data)
        text = json.dumps(dict(plan), indent=1, allow_nan=False)
        (tmp / PLAN_FILE).write_text(text + "\n", encoding="utf-8")
        tmp.chmod(0o777 & ~_umask())
        if target.exists():
            old = parent / f".{target.name}.old-{os.getpid()}"
            target.rename(old)
        tmp.rename(target)
    except (OSError, ValueError) as exc:
        if old is not None and not target.exists():
            old.rename(target)
            old = None
        shutil.rmtree(tmp, ignore_errors=True)
        raise DeployError(
            f"cannot write {target}: {getattr(exc, 'strerror', None) or exc}"
        ) from None
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    return target


def plan_document(
    meta: Mapping[str, Any],
    image_size: int,
    parts: list[dict[str, Any]],
    links: list[dict[str, Any]],
) -> dict[str, Any]:
    """plan.json: `meta` (model, search, workload, keep, predicted ...), input, parts, links."""
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": "cnnpc.deployment",
        **dict(meta),
        "input": input_spec(image_size).as_dict(),
        "parts": parts,
        "links": links,
    }


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
