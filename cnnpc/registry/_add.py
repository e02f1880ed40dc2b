"""`cnnpc models add`: analyse a Keras graph and write the model's folder (imports TensorFlow)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from cnnpc._resources import ENTRY_FILE, SPACE_FILE
from cnnpc.catalog import (
    ARCHITECTURE_FILE,
    DEFAULT_TRAIN_SIZE,
    ModelEntry,
    check_new_name,
    write_model_folder,
)
from cnnpc.errors import InputError

if TYPE_CHECKING:  # the analysis imports TensorFlow: only when a model is added
    from cnnpc.registry._analyse import Analysis

DEFAULT_KEEP_GRID = (0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875, 1.0)
_MODEL_FILE = "model.keras"


@dataclass(frozen=True)
class Added:
    """What `models add` wrote: the entry and the analysis behind it."""

    entry: ModelEntry
    analysis: Analysis


def add_model(
    name: str,
    *,
    keras_file: str | Path | None = None,
    app: str | None = None,
    input_size: int | None = None,
    classes: int | None = None,
    candidates: Sequence[str] | None = None,
    train_size: int | None = None,
    trust_code: bool = False,
) -> Added:
    """Register a model: analyse its graph, write `<root>/<name>/` in the shipped format.

    A saved model whose layers carry code (a Lambda) is refused before it is read, unless
    `trust_code`; the entry then remembers it and every later use says so."""
    if (keras_file is None) == (app is None):
        raise InputError("give exactly one of --keras FILE and --app APP")
    for label, value in (("--input-size", input_size), ("--train-size", train_size)):
        if value is not None and value < 8:
            raise InputError(f"{label} must be at least 8 pixels, got {value}")
    if classes is not None and classes < 2:
        raise InputError(f"--classes must be at least 2, got {classes}")
    target = check_new_name(name)
    from cnnpc.models import app_function, build_app, load_saved, reconfigure
    from cnnpc.models import input_size as model_input_size
    from cnnpc.registry._analyse import analyse

    if app is not None:
        function = app_function(app)
        size, n_classes = input_size or 224, classes or 1000
        model = build_app(app, size, n_classes, bn_momentum=None)
        entry = ModelEntry(
            name=name,
            kind="app",
            description=f"tf_keras.applications.{function} (random weights)",
            input_size=size,
            train_size=train_size or DEFAULT_TRAIN_SIZE,
            classes=n_classes,
            app=function,
            source=f"tf_keras.applications.{function}",
        )
        saved = None
    else:
        path = Path(str(keras_file))
        saved = load_saved(path, trust_code)
        own = model_input_size(saved)
        size = input_size or own or 224
        n_classes = classes or int(saved.output_shape[-1])
        model = saved if size == own and n_classes == int(saved.output_shape[-1]) else None
        if model is None:
            model = reconfigure(saved, size, n_classes, bn_momentum=None, trust_code=trust_code)
        entry = ModelEntry(
            name=name,
            kind="keras",
            description=f"{path.name} ({saved.name})",
            input_size=size,
            train_size=train_size or own or DEFAULT_TRAIN_SIZE,
            classes=n_classes,
            file=_MODEL_FILE,
            source=str(path.resolve()),
            trust_code=trust_code,
        )
    analysis = analyse(model, candidates)
    entry = replace(
        entry,
        analysis_seconds=round(analysis.seconds, 3),
        layers=analysis.layers,
        cut_points=len(analysis.cut_points),
    )

    def fill(folder: Path) -> None:
        for file, text in model_files(entry, analysis).items():
            (folder / file).write_text(text, encoding="utf-8")
        (folder / ARCHITECTURE_FILE).write_text(model.to_json(), encoding="utf-8")
        if saved is not None:
            saved.save(folder / _MODEL_FILE)

    folder = write_model_folder(target, fill)
    return Added(entry=replace(entry, folder=str(folder)), analysis=analysis)


def model_files(entry: ModelEntry, analysis: Analysis) -> dict[str, str]:
    """The folder's text files: model.yaml, space.yaml and the profile files (no device yet)."""
    from cnnpc.layergraph.generate import to_csv
    from cnnpc.upload import params_csv

    return {
        ENTRY_FILE: entry.to_yaml(),
        SPACE_FILE: space_yaml(entry.name, analysis),
        "meta.yaml": meta_yaml(entry, analysis),
        "tensors.csv": tensors_csv(analysis),
        "layers.csv": to_csv(analysis.layer_rows),
        "params.csv": params_csv(
            [
                (k, n, p)
                for k, (n, p) in enumerate(
                    zip(analysis.segment_names, analysis.params, strict=True)
                )
            ]
        ),
    }


def space_yaml(name: str, analysis: Analysis) -> str:
    candidates = []
    for cand in analysis.candidates:
        item: dict[str, Any] = {
            "name": cand.name,
            "channels": cand.channels,
            "prunable": cand.prunable,
            "layers": list(cand.layers),
        }
        if cand.parts:
            item["parts"] = list(cand.parts)
        if cand.reason:
            item["reason"] = cand.reason
        candidates.append(item)
    doc = {
        "model": name,
        "candidates": candidates,
        "keep_grid": list(DEFAULT_KEEP_GRID),
        "groups": [list(g) for g in analysis.ties],
    }
    header = (
        f"# Search space of {name}, derived from its graph by cnnpc models add: every layer after\n"
        "# which a single tensor crosses (runs of batch norm / activation merged), its channel\n"
        "# group, whether the surgery can prune it (reason if not) and the candidates tied by\n"
        "# shared channels (groups).\n"
    )
    return header + yaml.safe_dump(doc, sort_keys=False, width=100)


def meta_yaml(entry: ModelEntry, analysis: Analysis) -> str:
    doc = {
        "model": entry.name,
        "description": entry.description,
        "source": f"cnnpc models add ({entry.source}); no device measured yet: run cnnpc profile",
        "input_shape": [analysis.input.height, analysis.input.width, analysis.input.channels],
        "bytes_per_element": 1,
        "units": {"time": "ms", "tensor": "elements"},
        "devices": {},
        "source_mbit_bits": 1000000,
    }
    return yaml.safe_dump(doc, sort_keys=False)


def tensors_csv(analysis: Analysis) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("boundary", "name", "height", "width", "channels", "elements"))
    for i, t in enumerate((analysis.input, *analysis.tensors)):
        writer.writerow((i, t.name, t.height, t.width, t.channels, t.elements))
    return out.getvalue()


__all__ = ["Added", "add_model", "model_files"]
