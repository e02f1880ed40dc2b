"""Write `model_profiles/<model>/layers.csv` from the Keras model (imports TensorFlow).

Run once per model, when its architecture changes: ``python -m cnnpc.layergraph.generate resnet``
(``--check`` compares with the shipped file instead of writing). The planner reads the CSV so
that `cnnpc plan --granularity layer` never loads TensorFlow. The model is built untrained at the
profile's input size (224x224): only shapes, FLOPs and connections are read.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cnnpc._files import write_text
from cnnpc._resources import data_root
from cnnpc.errors import CnnpcError, ProfileError

# Per-layer FLOPs use the same rule as count_flops (2 per multiply-accumulate of Conv2D,
# DepthwiseConv2D and Dense; 0 for BN, activations, adds and pooling), so they sum to it.
from cnnpc.models import DEPLOY_SIZE, build_model, count_flops, layer_flops
from cnnpc.profiles import LAYER_COLUMNS, LayerRow, check_layers, load_profile, read_layers

_NUM_CLASSES = 1000  # the profiles were measured on ImageNet classifiers


def _inputs_of(config: dict[str, Any]) -> tuple[str, ...]:
    nodes = config["inbound_nodes"]
    if len(nodes) > 1:
        raise CnnpcError(f"layer {config['name']} is called more than once; not supported")
    return tuple(str(entry[0]) for entry in nodes[0]) if nodes else ()


def _segments(
    names: list[str], inputs: dict[str, tuple[str, ...]], boundaries: Sequence[str]
) -> dict[str, int]:
    """Segment k holds the layers that feed boundary k's layer (itself included) but no earlier
    boundary's; the rest are the head, segment len(boundaries)."""
    segment: dict[str, int] = {}
    for k, boundary in enumerate(boundaries):
        stack = [boundary]
        while stack:
            name = stack.pop()
            if name in segment:
                continue
            segment[name] = k
            stack.extend(inputs[name])
    return {name: segment.get(name, len(boundaries)) for name in names}


def extract_layers(model: Any, boundaries: Sequence[str]) -> tuple[LayerRow, ...]:
    """Rows of a functional Keras model; `boundaries` names the layers that end segments 0..N-2."""
    configs = model.get_config()["layers"]
    names = [str(c["name"]) for c in configs]
    inputs = {str(c["name"]): _inputs_of(c) for c in configs}
    segments = _segments(names, inputs, boundaries)
    rows = []
    for name in names:
        layer = model.get_layer(name)
        shape = layer.output_shape
        shape = shape[0] if isinstance(shape, list) else shape
        dims = tuple(int(d) for d in shape[1:])
        elements = 1
        for d in dims:
            elements *= d
        rows.append(
            LayerRow(
                name=name,
                op=type(layer).__name__,
                segment=segments[name],
                flops=int(layer_flops(layer)),
                shape=dims,
                elements=elements,
                inputs=inputs[name],
            )
        )
    if sum(r.flops for r in rows) != count_flops(model):
        raise CnnpcError("per-layer FLOPs do not add up to count_flops(model)")
    return tuple(rows)


def model_layers(model_name: str) -> tuple[LayerRow, ...]:
    """Fresh rows for shipped model `model_name`, checked against its profile."""
    profile = load_profile(model_name, _any_device(model_name))
    size = profile.input.height
    if size != DEPLOY_SIZE or profile.input.width != size:
        raise ProfileError(f"{model_name}: profile input {size}x{profile.input.width} not square")
    model = build_model(model_name, _NUM_CLASSES, input_size=size)
    boundaries = [c.layers[-1] for c in profile.space.candidates]
    rows = extract_layers(model, boundaries)
    check_layers(rows, profile, f"{model_name} (Keras)")
    return rows


def _any_device(model_name: str) -> str:
    from cnnpc.profiles import list_profiles

    devices = list_profiles().get(model_name)
    if not devices:
        raise ProfileError(f"unknown model {model_name!r}")
    return devices[0]


def to_csv(rows: Sequence[LayerRow]) -> str:
    """The layers.csv text of `rows` (the exact bytes the loader reads back)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(LAYER_COLUMNS)
    for r in rows:
        shape = "x".join(str(d) for d in r.shape)
        writer.writerow([r.name, r.op, r.segment, r.flops, shape, r.elements, ";".join(r.inputs)])
    return out.getvalue()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m cnnpc.layergraph.generate", description=__doc__.splitlines()[0]
    )
    parser.add_argument("models", nargs="+", help="shipped model names, e.g. resnet mobilenet")
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if a shipped file differs; write nothing"
    )
    args = parser.parse_args(argv)
    stale = []
    for name in args.models:
        try:
            text = to_csv(model_layers(name))
        except CnnpcError as exc:
            print(f"{name}: error: {exc}", file=sys.stderr)
            return 2
        target = data_root("model_profiles") / name / "layers.csv"
        if args.check:
            if not target.is_file() or target.read_text(encoding="utf-8") != text:
                stale.append(name)
            continue
        path = write_text(Path(str(target)), text)
        read_layers(path)  # what was written parses
        print(f"wrote {path} ({text.count(chr(10)) - 1} layers)")
    if stale:
        print(f"stale layers.csv: {', '.join(stale)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
