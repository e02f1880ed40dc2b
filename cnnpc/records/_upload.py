"""upload.json (IONN): an upload folder's parts, upload order and layout prices (schema_version 1).

`deploy --upload` builds an `UploadDocument` and writes its one JSON form; the runtime reads it
back as an `UploadPlan` (the document and its folder) and picks layouts with the prices
(``cnnpc.upload.LayoutChooser.of_prices``). Reading never imports TensorFlow.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cnnpc.errors import InputError
from cnnpc.records._head import PlanError, PlanHead
from cnnpc.records._plan import PartSpec, TensorSpec, check_part_file, read_document

UPLOAD_FILE = "upload.json"
UPLOAD_KIND = "cnnpc.upload"
UPLOAD_SCHEMA = 1
MAX_SEGMENTS = 255
"""A request names the span it asks of the edge in the frame's u16 (start and stop, a byte each)."""


@dataclass(frozen=True)
class UploadLayout:
    """An end/edge(/cloud) layout [a, b) and its predicted latency."""

    latency_ms: float
    a: int
    b: int
    mode: str


@dataclass(frozen=True)
class UploadStep:
    """One upload: the segments sent, when it completes, and the per-query latency from then on."""

    step: int
    segments: tuple[str, ...]  # names of the segments sent in this step
    first: int  # index of the first and last segment sent
    last: int
    bytes: float
    cumulative_bytes: float
    done_s: float
    latency_ms: float
    benefit_ms: float
    a: int
    b: int
    mode: str


@dataclass(frozen=True)
class LayoutPrices:
    """Every layout's latency (inf: not allowed) and traffic, as (N+1) x (N+1) matrices."""

    latency_ms: tuple[tuple[float, ...], ...]
    traffic: tuple[tuple[float, ...], ...]

    @property
    def n(self) -> int:
        """The segments the prices are for."""
        return len(self.latency_ms) - 1

    def as_dict(self) -> dict[str, list[list[float | None]]]:
        """JSON-safe (a layout not allowed is null)."""
        return {"latency_ms": _finite(self.latency_ms), "traffic": _finite(self.traffic)}

    @staticmethod
    def from_dict(raw: Any) -> LayoutPrices:
        try:
            lat, traffic = (
                tuple(tuple(math.inf if v is None else float(v) for v in row) for row in raw[key])
                for key in ("latency_ms", "traffic")
            )
        except (KeyError, TypeError, ValueError):
            raise InputError("layout prices must be latency_ms and traffic matrices") from None
        size = len(lat)
        if size < 2 or any(len(row) != size for row in lat):
            raise InputError("layout latencies must be an (N+1) x (N+1) matrix")
        if len(traffic) != size or any(len(row) != size for row in traffic):
            raise InputError("layout traffic must match the latencies (and no NaN)")
        if any(math.isnan(v) for m in (lat, traffic) for row in m for v in row):
            raise InputError("layout traffic must match the latencies (and no NaN)")
        if not any(math.isfinite(lat[k][k]) for k in range(size)):
            raise InputError("some layout that needs no edge must be allowed")
        return LayoutPrices(lat, traffic)


def _finite(matrix: tuple[tuple[float, ...], ...]) -> list[list[float | None]]:
    return [[float(v) if math.isfinite(v) else None for v in row] for row in matrix]


@dataclass(frozen=True)
class UploadDocument:
    """upload.json: where the parts come from, each segment's part (span (k, k + 1)) with its
    size and sha256, the upload order priced at `upload_mbps`, and every layout's price."""

    head: PlanHead
    priced: str | None
    """What the order was priced on (None: not recorded)."""
    input: TensorSpec
    uplink_mbps: float
    upload_mbps: float
    mbit_bits: float
    parts: tuple[PartSpec, ...]
    """Segment k's part is parts[k], span (k, k + 1)."""
    sizes: tuple[int, ...]
    digests: tuple[str, ...]
    order: tuple[UploadStep, ...]
    steps: tuple[tuple[int, ...], ...]
    """The segments (indices) each upload step of `order` sends."""
    initial: UploadLayout
    full: UploadLayout
    whole_upload_s: float
    layouts: LayoutPrices

    @property
    def n_segments(self) -> int:
        return len(self.parts)

    @property
    def image_size(self) -> int:
        return int(self.input.shape[1])

    def as_dict(self) -> dict[str, Any]:
        """upload.json, in its key order."""
        return {
            "schema_version": UPLOAD_SCHEMA,
            "kind": UPLOAD_KIND,
            **self.head.as_dict(),
            **({} if self.priced is None else {"priced": self.priced}),
            "input": self.input.as_dict(),
            "uplink_mbps": self.uplink_mbps,
            "upload_mbps": self.upload_mbps,
            "mbit_bits": self.mbit_bits,
            "parts": [
                p.as_dict() | {"bytes": size, "sha256": digest}
                for p, size, digest in zip(self.parts, self.sizes, self.digests, strict=True)
            ],
            "steps": [
                dataclasses.asdict(s) | {"indices": list(indices)}
                for s, indices in zip(self.order, self.steps, strict=True)
            ],
            "initial": dataclasses.asdict(self.initial),
            "full": dataclasses.asdict(self.full),
            "whole_upload_s": self.whole_upload_s,
            "layouts": self.layouts.as_dict(),
        }

    @staticmethod
    def parse(raw: Mapping[str, Any], what: str) -> UploadDocument:
        """The document `raw` (`what` names it in errors), checked as the runtime relies on."""
        try:
            return _parse(raw, what)
        except (KeyError, TypeError, ValueError, InputError) as exc:
            detail = str(exc) if isinstance(exc, InputError) else f"{type(exc).__name__} {exc}"
            raise PlanError(f"{what}: malformed ({detail}); deploy it again") from None


@dataclass(frozen=True)
class UploadPlan(UploadDocument):
    """An upload folder as read back: its document and where its part files are."""

    folder: Path

    def part_path(self, k: int) -> Path:
        return self.folder / self.parts[k].file


def _parse(raw: Mapping[str, Any], what: str) -> UploadDocument:
    parts, sizes, digests = [], [], []
    for k, item in enumerate(raw["parts"]):
        file, size, digest = str(item["file"]), int(item["bytes"]), str(item["sha256"])
        if "/" in file or size <= 0 or list(item["span"]) != [k, k + 1]:
            raise PlanError(f"{what}: parts[{k}]: expected segment {k}'s file, bytes and span")
        at = f"{what}: parts[{k}]"
        parts.append(
            PartSpec(
                f"segment {k}",
                file,
                (k, k + 1),
                tuple(str(s) for s in item["segments"]),
                TensorSpec.parse(item["input"], f"{at}.input"),
                TensorSpec.parse(item["output"], f"{at}.output"),
            )
        )
        sizes.append(size)
        digests.append(digest)
    n = len(parts)
    if not 0 < n <= MAX_SEGMENTS:
        raise PlanError(f"{what}: expected 1..{MAX_SEGMENTS} parts, got {n}")
    steps = tuple(tuple(int(i) for i in step["indices"]) for step in raw["steps"])
    if any(not 0 <= i < n for step in steps for i in step):
        raise PlanError(f"{what}: an upload step names a segment the folder does not have")
    layouts = LayoutPrices.from_dict(raw["layouts"])
    if layouts.n != n:
        raise PlanError(f"{what}: layouts priced for {layouts.n} segments, the folder has {n}")
    rates = [float(raw[k]) for k in ("uplink_mbps", "upload_mbps", "mbit_bits")]
    if not all(r > 0 and r != float("inf") for r in rates):
        raise PlanError(f"{what}: rates must be finite numbers > 0")
    priced = raw.get("priced")
    return UploadDocument(
        head=PlanHead.parse(raw, what),
        priced=None if priced is None else str(priced),
        input=TensorSpec.parse(raw["input"], f"{what}: input"),
        uplink_mbps=rates[0],
        upload_mbps=rates[1],
        mbit_bits=rates[2],
        parts=tuple(parts),
        sizes=tuple(sizes),
        digests=tuple(digests),
        order=tuple(_step(step) for step in raw["steps"]),
        steps=steps,
        initial=_layout(raw["initial"]),
        full=_layout(raw["full"]),
        whole_upload_s=float(raw["whole_upload_s"]),
        layouts=layouts,
    )


def _step(raw: Mapping[str, Any]) -> UploadStep:
    return UploadStep(
        step=int(raw["step"]),
        segments=tuple(str(s) for s in raw["segments"]),
        first=int(raw["first"]),
        last=int(raw["last"]),
        bytes=float(raw["bytes"]),
        cumulative_bytes=float(raw["cumulative_bytes"]),
        done_s=float(raw["done_s"]),
        latency_ms=float(raw["latency_ms"]),
        benefit_ms=float(raw["benefit_ms"]),
        a=int(raw["a"]),
        b=int(raw["b"]),
        mode=str(raw["mode"]),
    )


def _layout(raw: Mapping[str, Any]) -> UploadLayout:
    return UploadLayout(float(raw["latency_ms"]), int(raw["a"]), int(raw["b"]), str(raw["mode"]))


def load_upload(folder: str | Path, *, with_files: bool = True) -> UploadPlan:
    """Read and check ``<folder>/upload.json``; `with_files`: every part file must be there and
    intact (the end device); the empty edge needs only the document (sizes and digests)."""
    root = Path(folder)
    path = root / UPLOAD_FILE
    raw = read_document(root, UPLOAD_FILE, "write an upload folder with 'cnnpc deploy --upload'")
    if not isinstance(raw, dict) or raw.get("kind") != UPLOAD_KIND:
        raise PlanError(f"{path}: not an upload folder's document")
    if raw.get("schema_version") != UPLOAD_SCHEMA:
        raise PlanError(f"{path}: not a schema_version {UPLOAD_SCHEMA} upload folder")
    document = UploadDocument.parse(raw, str(path))
    if with_files:
        for part, size, digest in zip(
            document.parts, document.sizes, document.digests, strict=True
        ):
            check_part_file(root / part.file, digest, UPLOAD_FILE, size)
    fields = {f.name: getattr(document, f.name) for f in dataclasses.fields(document)}
    return UploadPlan(**fields, folder=root)
