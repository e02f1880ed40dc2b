"""The manifest of a device export: which file is which segment at which width, and its sha256.

`cnnpc profile export` writes it beside the ``.tflite`` files; `cnnpc profile device` reads it on
the device (no TensorFlow: this module needs only the standard library) and `cnnpc profile
import` checks every result against it, so a timing can never be filed under the wrong segment
or come from another export.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from cnnpc._files import MiB, read_input_text
from cnnpc.errors import InputError, ProfileError

MANIFEST = "manifest.json"
RESULTS = "results"
SUMMARY = "summary.json"
MANIFEST_VERSION = 1
MAX_MANIFEST_BYTES = 4 * MiB
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_FILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}\.tflite$")


@dataclass(frozen=True)
class ExportFile:
    """One exported segment at one keep fraction, with the features the regressor prices."""

    file: str
    segment: int
    name: str
    keep: float
    keep_in: float
    keep_out: float
    in_channels: int
    out_channels: int
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    flops: int
    params: int
    in_bytes: int
    out_bytes: int
    bytes: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    """What `cnnpc profile export` wrote (model, input size, tier and its TFLite format)."""

    model: str
    image_size: int
    tier: str
    format: str
    keep_fractions: tuple[float, ...]
    created: str
    files: tuple[ExportFile, ...]

    def by_name(self) -> dict[str, ExportFile]:
        return {f.file: f for f in self.files}


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def manifest_bytes(manifest: Manifest) -> bytes:
    data = {"manifest_version": MANIFEST_VERSION, **asdict(manifest)}
    return (json.dumps(data, indent=2) + "\n").encode("utf-8")


def _fail(path: Path, what: str) -> ProfileError:
    return ProfileError(f"{path}: {what}")


def _file(path: Path, i: int, raw: object) -> ExportFile:
    if not isinstance(raw, dict):
        raise _fail(path, f"files[{i}]: must be an object")
    values: dict[str, object] = {}
    for field in fields(ExportFile):
        value = raw.get(field.name)
        kind = str(field.type)
        ok: bool
        if kind == "str":
            ok = isinstance(value, str)
        elif kind == "int":
            ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
        elif kind == "float":
            ok = (
                isinstance(value, int | float)
                and not isinstance(value, bool)
                and math.isfinite(value)
                and 0 < value <= 1
            )
        else:  # a shape
            ok = isinstance(value, list) and all(
                isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in value
            )
            value = tuple(value) if ok and isinstance(value, list) else value
        if not ok:
            raise _fail(path, f"files[{i}].{field.name}: bad value {value!r}")
        values[field.name] = float(value) if kind == "float" else value  # type: ignore[arg-type]
    entry = ExportFile(**values)  # type: ignore[arg-type]
    if not _FILE.match(entry.file) or not _SHA256.match(entry.sha256):
        raise _fail(path, f"files[{i}]: bad file name or sha256")
    return entry


def read_manifest(folder: Path) -> Manifest:
    """The manifest of export folder `folder`, validated (one-line errors naming the file)."""
    if folder.exists() and not folder.is_dir():
        raise InputError(f"{folder}: is a file, not the folder 'cnnpc profile export' wrote")
    path = folder / MANIFEST
    if not path.is_file():
        raise InputError(f"{folder}: no {MANIFEST} (not a folder 'cnnpc profile export' wrote)")
    text = read_input_text(path, str(path), MAX_MANIFEST_BYTES)
    try:
        data = json.loads(text)
    except ValueError:
        raise _fail(path, "not valid JSON (truncated?)") from None
    if not isinstance(data, dict) or data.get("manifest_version") != MANIFEST_VERSION:
        raise _fail(path, f"not a version {MANIFEST_VERSION} cnnpc export manifest")
    raw_files = data.get("files")
    if not isinstance(raw_files, list) or not raw_files:
        raise _fail(path, "files: must be a non-empty list")
    files = tuple(_file(path, i, f) for i, f in enumerate(raw_files))
    if len({f.file for f in files}) != len(files):
        raise _fail(path, "a file is listed twice")
    keeps = data.get("keep_fractions")
    size = data.get("image_size")
    if not isinstance(keeps, list) or not all(isinstance(k, int | float) for k in keeps):
        raise _fail(path, "keep_fractions: must be a list of numbers")
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise _fail(path, "image_size: must be a positive integer")
    strings = {k: data.get(k) for k in ("model", "tier", "format", "created")}
    bad = [k for k, v in strings.items() if not isinstance(v, str) or not v]
    if bad:
        raise _fail(path, f"{bad[0]}: must be a non-empty string")
    return Manifest(
        model=str(strings["model"]),
        image_size=size,
        tier=str(strings["tier"]),
        format=str(strings["format"]),
        keep_fractions=tuple(float(k) for k in keeps),
        created=str(strings["created"]),
        files=files,
    )
