"""Read `model_profiles/<model>/layers.csv`: the model's full layer graph, without TensorFlow.

The file is written once from the Keras model by ``python -m cnnpc.layergraph.generate`` so that
`cnnpc plan --granularity layer` can plan at layer granularity without importing TensorFlow. One
row per layer in topological order: name, op (Keras class), segment (the profile segment whose
time the layer shares), FLOPs, output shape and elements at the profile's input size, and the
names of the layers it reads (``;``-separated, empty for the input).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources.abc import Traversable
from pathlib import Path

from cnnpc._resources import model_file
from cnnpc.errors import ProfileError
from cnnpc.profiles._loader import read_csv_rows, user_folders
from cnnpc.profiles._schema import Profile

LAYER_COLUMNS = ("name", "op", "segment", "flops", "shape", "elements", "inputs")


@dataclass(frozen=True)
class LayerRow:
    """One layer of the model: what it computes, what it outputs, what it reads."""

    name: str
    op: str
    segment: int
    flops: int
    shape: tuple[int, ...]
    elements: int
    inputs: tuple[str, ...]


def _int(label: str, i: int, column: str, text: str, minimum: int) -> int:
    try:
        value = int(text)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise ProfileError(
            f"{label}: row {i}, column {column}: must be an integer >= {minimum}, got {text!r}"
        )
    return value


def _parse_row(label: str, i: int, row: dict[str, str], seen: set[str]) -> LayerRow:
    name = row["name"].strip()
    if not name or name in seen:
        raise ProfileError(f"{label}: row {i}, column name: empty or repeated name {name!r}")
    try:
        shape = tuple(int(d) for d in row["shape"].split("x"))
    except ValueError:
        shape = ()
    elements = _int(label, i, "elements", row["elements"], 1)
    if not shape or min(shape) < 1 or _product(shape) != elements:
        raise ProfileError(
            f"{label}: row {i}, column shape: {row['shape']!r} does not give {elements} elements"
        )
    inputs = tuple(x.strip() for x in row["inputs"].split(";") if x.strip())
    for source in inputs:
        if source not in seen:
            raise ProfileError(
                f"{label}: row {i}, column inputs: {source!r} is not an earlier layer "
                "(rows must be in topological order)"
            )
    if (i == 0) != (not inputs):
        raise ProfileError(f"{label}: row {i}, column inputs: only row 0 (the input) has none")
    return LayerRow(
        name=name,
        op=row["op"].strip(),
        segment=_int(label, i, "segment", row["segment"], 0),
        flops=_int(label, i, "flops", row["flops"], 0),
        shape=shape,
        elements=elements,
        inputs=inputs,
    )


def _product(values: tuple[int, ...]) -> int:
    out = 1
    for v in values:
        out *= v
    return out


def read_layers(resource: Traversable | Path, label: str | None = None) -> tuple[LayerRow, ...]:
    """Parse and validate a layers.csv file (names unique, inputs earlier, numbers sane)."""
    label = label or str(resource)
    rows: list[LayerRow] = []
    seen: set[str] = set()
    for i, raw in enumerate(read_csv_rows(resource, label, LAYER_COLUMNS)):
        row = _parse_row(label, i, raw, seen)
        seen.add(row.name)
        rows.append(row)
    return tuple(rows)


def check_layers(rows: tuple[LayerRow, ...], profile: Profile, label: str) -> None:
    """The layer file must fit the profile: segments in range and in order, boundary tensors equal.

    Boundary k >= 1 is produced by the last layer its search-space candidate names; that layer
    must end segment k-1 and output exactly the tensor tensors.csv lists.
    """
    n = profile.n_segments
    last = 0
    for i, row in enumerate(rows):
        if not last <= row.segment < n:
            raise ProfileError(
                f"{label}: row {i}, column segment: {row.segment} out of order or not in 0..{n - 1}"
            )
        last = row.segment
    if rows[0].elements != profile.input.elements:
        raise ProfileError(
            f"{label}: row 0: the input has {rows[0].elements} elements, tensors.csv "
            f"{profile.input.elements}"
        )
    index = {row.name: i for i, row in enumerate(rows)}
    for k, (cand, tensor) in enumerate(
        zip(profile.space.candidates, profile.candidates, strict=True), start=1
    ):
        layer = cand.layers[-1] if cand.layers else ""
        if layer not in index:
            raise ProfileError(f"{label}: no layer {layer!r} (the output of candidate {cand.name})")
        row = rows[index[layer]]
        if row.elements != tensor.elements or row.segment != k - 1:
            raise ProfileError(
                f"{label}: layer {layer}: {row.elements} elements in segment {row.segment}, but "
                f"candidate {cand.name} is {tensor.elements} elements ending segment {k - 1}"
            )


def load_layers(profile: Profile) -> tuple[LayerRow, ...]:
    """The layer graph of `profile`'s model at the profile's input size, checked against it.

    The model's own layers.csv is at the size its shipped or added profile prices (224); a
    profile measured at another size (``cnnpc profile --image-size``) writes its own beside it.
    """
    found = model_file(profile.model, "layers.csv")
    if found is None:
        raise ProfileError(f"unknown model {profile.model!r}")
    beside = [folder / "layers.csv" for folder in user_folders(profile.model)]
    candidates = [found, *((path, str(path)) for path in beside)]
    first_error: ProfileError | None = None
    for resource, label in candidates:
        if not resource.is_file():
            continue
        rows = read_layers(resource, label)
        try:
            check_layers(rows, profile, label)
        except ProfileError as exc:
            first_error = first_error or exc
            continue
        return rows
    if first_error is not None:
        raise first_error
    resource, label = found
    raise ProfileError(
        f"{label}: file not found (layer-granularity planning needs it; write it with "
        f"'python -m cnnpc.layergraph.generate {profile.model}')"
    )
