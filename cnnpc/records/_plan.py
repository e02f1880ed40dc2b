"""plan.json: what each tier runs and what crosses each link (schema_version 1).

Written by `deploy`, read by the runtime and `validate`. Reading never imports TensorFlow and
checks everything the runtime relies on (files present, shapes, dtypes, quantisation), so a
missing or corrupt plan folder is one line, not a crash inside a server.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cnnpc.codec import DEFAULT_CODEC, Codec, coded_bytes
from cnnpc.errors import InputError
from cnnpc.records._head import PlanError, PlanHead

SCHEMA_VERSION = 1
PLAN_FILE = "plan.json"
PLAN_KIND = "cnnpc.deployment"
TIERS = ("end", "edge", "cloud")
DTYPES = ("int8", "uint8", "float32")


@dataclass(frozen=True)
class TensorSpec:
    """A tensor at a part's edge: shape (batch 1 first), dtype and int8 quantisation."""

    shape: tuple[int, ...]
    dtype: str
    scale: float
    zero_point: int

    @property
    def nbytes(self) -> int:
        size = 4 if self.dtype == "float32" else 1
        return math.prod(self.shape) * size

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["shape"] = list(self.shape)
        return out

    @staticmethod
    def parse(raw: Any, what: str) -> TensorSpec:
        if not isinstance(raw, dict):
            raise PlanError(f"{what}: expected an object")
        shape = raw.get("shape")
        if (
            not isinstance(shape, list)
            or not shape
            or not all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in shape)
        ):
            raise PlanError(f"{what}.shape: expected a list of positive integers")
        dtype = raw.get("dtype")
        if dtype not in DTYPES:
            raise PlanError(f"{what}.dtype: expected one of {', '.join(DTYPES)}, got {dtype!r}")
        scale, zero = raw.get("scale"), raw.get("zero_point")
        if not isinstance(scale, int | float) or not math.isfinite(scale) or scale < 0:
            raise PlanError(f"{what}.scale: expected a finite number >= 0")
        if not isinstance(zero, int) or isinstance(zero, bool):
            raise PlanError(f"{what}.zero_point: expected an integer")
        if dtype != "float32" and scale <= 0:
            raise PlanError(f"{what}: an {dtype} tensor needs a scale > 0")
        return TensorSpec(tuple(shape), dtype, float(scale), zero)


@dataclass(frozen=True)
class PartSpec:
    """One tier's TFLite model and the profile segments it runs."""

    tier: str
    file: str
    span: tuple[int, int]
    """The profile segments [start, stop) it runs."""
    segments: tuple[str, ...]
    input: TensorSpec
    output: TensorSpec

    def as_dict(self) -> dict[str, Any]:
        return {
            "tier": self.tier,
            "file": self.file,
            "span": list(self.span),
            "segments": list(self.segments),
            "input": self.input.as_dict(),
            "output": self.output.as_dict(),
        }


@dataclass(frozen=True)
class LinkSpec:
    """The tensor one tier sends the next, as the sender quantised it, its codec, and the
    link's rate."""

    source: str
    target: str
    tensor: str
    """The split candidate the tensor is cut at ("input" for the raw image)."""
    spec: TensorSpec
    bandwidth_mbps: float
    mbit_bits: float
    codec: Codec = DEFAULT_CODEC
    """How the tensor travels (`cnnpc.codec`); the default, int8 as it is, is not written."""
    entropy_ratio: float | None = None
    """With an entropy coder: packed bytes / coded bytes, measured by `deploy` on the
    calibration images (None: not measured, priced at 1)."""

    def __post_init__(self) -> None:
        if not self.codec.is_default and self.spec.dtype == "float32":
            raise PlanError(f"{self.source}->{self.target}: a float32 tensor takes no codec")
        ratio = self.entropy_ratio
        if ratio is not None and (
            self.codec.entropy == "none" or not math.isfinite(ratio) or ratio <= 0
        ):
            raise PlanError(
                f"{self.source}->{self.target}: an entropy ratio is a finite number > 0 of a "
                f"codec with an entropy coder, got {ratio} with {self.codec.label}"
            )

    @property
    def bytes(self) -> int:
        """The tensor's own bytes (what a runtime without codecs sends)."""
        return self.spec.nbytes

    @property
    def coded_bytes(self) -> int:
        """Its packed bytes under the codec, before any entropy coder (= `bytes` by default)."""
        if self.codec.bits == 8:
            return self.bytes
        return coded_bytes(math.prod(self.spec.shape), self.codec)

    @property
    def predicted_bytes(self) -> float:
        """The bytes the planners price it at: coded bytes over the coder's recorded ratio."""
        return self.coded_bytes / (self.entropy_ratio or 1.0)

    @property
    def rate_bytes_per_s(self) -> float:
        return self.bandwidth_mbps * self.mbit_bits / 8.0

    def as_dict(self) -> dict[str, Any]:
        return (
            {
                "from": self.source,
                "to": self.target,
                "tensor": self.tensor,
                **self.spec.as_dict(),
                "bytes": self.bytes,
                "bandwidth_mbps": self.bandwidth_mbps,
                "mbit_bits": self.mbit_bits,
            }
            | (
                {}
                if self.codec.is_default
                else {"codec": self.codec.as_dict(), "coded_bytes": self.coded_bytes}
            )
            | ({} if self.entropy_ratio is None else {"entropy_ratio": self.entropy_ratio})
        )


@dataclass(frozen=True)
class DeployedPlan:
    """A plan folder as read back: parts by tier, links in order, and the head of plan.json."""

    folder: Path
    parts: dict[str, PartSpec]
    links: tuple[LinkSpec, ...]
    input: TensorSpec
    """The model input as the client holds it (float32 images at the deployed size)."""
    head: PlanHead

    def part(self, tier: str) -> PartSpec | None:
        return self.parts.get(tier)

    def part_path(self, tier: str) -> Path:
        return self.folder / self.parts[tier].file

    def link(self, source: str) -> LinkSpec | None:
        return next((lk for lk in self.links if lk.source == source), None)

    @property
    def predicted(self) -> dict[str, float]:
        """The predicted latency's parts (empty when the document has none)."""
        predicted = self.head.predicted
        return {} if predicted is None else dict(predicted.breakdown)

    @property
    def image_size(self) -> int:
        return int(self.input.shape[1])


def document_bytes(document: Mapping[str, object]) -> bytes:
    """The one file form of a deployed document (plan.json, planset.json, upload.json), the
    form `read_document` reads back; a NaN or inf in it is a ValueError."""
    return (json.dumps(document, indent=1, allow_nan=False) + "\n").encode()


def read_document(root: Path, file: str, missing_hint: str) -> Any:
    """A deploy folder's JSON document (plan.json, planset.json, upload.json), or one line
    saying why it cannot be read; `missing_hint` says what writes it."""
    path = root / file
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PlanError(f"{root}: no {file} ({missing_hint})") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise PlanError(f"{path}: cannot read it: {exc}") from None


def peek_document(path: Path) -> dict[str, Any] | None:
    """The JSON object at `path`, or None: whether a folder is cnnpc's to replace."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return raw if isinstance(raw, dict) else None


def check_part_file(path: Path, recorded: object, what: str, size: int | None = None) -> None:
    """A damaged part file is refused here: TFLite may crash on one instead of raising.
    `recorded` is the sha256 the document holds (None: written before digests were)."""
    if recorded is None and size is None:
        return
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PlanError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    if size is not None and len(data) != size:
        raise PlanError(f"{path}: damaged (not the size {what} records); deploy it again")
    if recorded is not None and hashlib.sha256(data).hexdigest() != recorded:
        raise PlanError(
            f"{path}: damaged (its sha256 is not the one {what} records); deploy the plan again"
        )


@dataclass(frozen=True)
class PlanDocument:
    """plan.json (and each plan-<label>.json of a plan set): the head, the client's input, each
    tier's part with the sha256 of its file, and the links. `deploy` builds it; its one JSON
    form is `as_dict` / `parse`."""

    head: PlanHead
    input: TensorSpec
    parts: tuple[PartSpec, ...]
    digests: tuple[str | None, ...]
    """Each part file's sha256 (None: written before digests were)."""
    links: tuple[LinkSpec, ...]

    def as_dict(self) -> dict[str, Any]:
        """plan.json, in its key order."""
        return {
            "schema_version": SCHEMA_VERSION,
            "kind": PLAN_KIND,
            **self.head.as_dict(),
            "input": self.input.as_dict(),
            "parts": [
                p.as_dict() | ({} if d is None else {"sha256": d})
                for p, d in zip(self.parts, self.digests, strict=True)
            ],
            "links": [lk.as_dict() for lk in self.links],
        }

    @staticmethod
    def parse(raw: object, what: str) -> PlanDocument:
        """The document `raw` (`what` names it in errors), checked as the runtime relies on
        (the part files are the folder's: see ``load_plan``)."""
        if not isinstance(raw, dict) or raw.get("schema_version") != SCHEMA_VERSION:
            raise PlanError(f"{what}: not a schema_version {SCHEMA_VERSION} deployment plan")
        parts: dict[str, PartSpec] = {}
        digests: dict[str, str | None] = {}
        for i, item in enumerate(_list(raw, "parts", what)):
            at = f"{what}: parts[{i}]"
            if not isinstance(item, dict) or item.get("tier") not in TIERS:
                raise PlanError(f"{at}.tier: expected one of {', '.join(TIERS)}")
            file = item.get("file")
            if not isinstance(file, str) or "/" in file:
                raise PlanError(f"{at}.file: missing part file {file!r}")
            segments = item.get("segments", [])
            span = item.get("span")
            if (
                not isinstance(span, list)
                or len(span) != 2
                or not all(isinstance(k, int) and not isinstance(k, bool) for k in span)
                or not 0 <= span[0] < span[1]
            ):
                raise PlanError(f"{at}.span: expected [start, stop) segment indices")
            digest = item.get("sha256")
            digests[item["tier"]] = None if digest is None else str(digest)
            parts[item["tier"]] = PartSpec(
                tier=item["tier"],
                file=file,
                span=(span[0], span[1]),
                segments=tuple(str(s) for s in segments) if isinstance(segments, list) else (),
                input=TensorSpec.parse(item.get("input"), f"{at}.input"),
                output=TensorSpec.parse(item.get("output"), f"{at}.output"),
            )
        if not parts:
            raise PlanError(f"{what}: no parts")
        return PlanDocument(
            head=PlanHead.parse(raw, what),
            input=TensorSpec.parse(raw.get("input"), f"{what}: input"),
            parts=tuple(parts.values()),
            digests=tuple(digests.values()),
            links=tuple(_links(raw, what)),
        )


def _links(raw: dict[str, Any], what: str) -> list[LinkSpec]:
    links = []
    for i, item in enumerate(_list(raw, "links", what)):
        at = f"{what}: links[{i}]"
        if not isinstance(item, dict):
            raise PlanError(f"{at}: expected an object")
        rate, unit = item.get("bandwidth_mbps"), item.get("mbit_bits")
        for name, value in (("bandwidth_mbps", rate), ("mbit_bits", unit)):
            if not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
                raise PlanError(f"{at}.{name}: expected a finite number > 0")
        pair = (item.get("from"), item.get("to"))
        if pair not in (("end", "edge"), ("edge", "cloud")):
            raise PlanError(f"{at}: a link goes end->edge or edge->cloud, got {pair}")
        try:
            codec = Codec.from_dict(item["codec"]) if "codec" in item else DEFAULT_CODEC
        except InputError as exc:
            raise PlanError(f"{at}.codec: {exc}") from None
        if not codec.is_default and item.get("dtype") == "float32":
            raise PlanError(f"{at}.codec: a float32 tensor takes no codec")
        ratio = item.get("entropy_ratio")
        if ratio is not None and (
            not isinstance(ratio, int | float) or isinstance(ratio, bool) or codec.entropy == "none"
        ):
            raise PlanError(f"{at}.entropy_ratio: a number, with a codec's entropy coder only")
        links.append(
            LinkSpec(
                source=str(pair[0]),
                target=str(pair[1]),
                tensor=str(item.get("tensor", "")),
                spec=TensorSpec.parse(item, at),
                bandwidth_mbps=float(rate),  # type: ignore[arg-type]
                mbit_bits=float(unit),  # type: ignore[arg-type]
                codec=codec,
                entropy_ratio=None if ratio is None else float(ratio),
            )
        )
    return links


def load_plan(folder: str | Path, plan_file: str = PLAN_FILE) -> DeployedPlan:
    """Read and check ``<folder>/plan.json`` (or another plan file of a plan set there) and
    that every part file it names is there and intact."""
    root = Path(folder)
    path = root / plan_file
    if not root.is_dir():
        raise PlanError(f"{root}: no such plan folder (write one with 'cnnpc deploy')")
    raw = read_document(root, plan_file, "is it a 'cnnpc deploy' folder?")
    document = PlanDocument.parse(raw, str(path))
    for i, (part, digest) in enumerate(zip(document.parts, document.digests, strict=True)):
        if not (root / part.file).is_file():
            raise PlanError(f"{path}: parts[{i}].file: missing part file {part.file!r}")
        check_part_file(root / part.file, digest, f"{path}: parts[{i}]")
    return DeployedPlan(
        folder=root,
        parts={p.tier: p for p in document.parts},
        links=document.links,
        input=document.input,
        head=document.head,
    )


def _list(raw: dict[str, Any], key: str, what: str) -> list[Any]:
    value = raw.get(key)
    if not isinstance(value, list):
        raise PlanError(f"{what}: {key}: expected a list")
    return value
