"""The user's own trained model (``--weights FILE``), read from disk and checked against a space.

Two kinds of file: a whole saved model (``.keras``, a SavedModel folder, or an ``.h5`` with a model
config) is used as it is, provided its split candidates' layers exist with the search space's
channel counts; a weights-only file (``.weights.h5`` or an ``.h5`` without a config) is loaded
into cnnpc's own architecture of that name, e.g. an ImageNet MobileNetV2 weights file.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from cnnpc._keras import tf
from cnnpc.compression import split_layer
from cnnpc.errors import InputError, first_line
from cnnpc.modelfile import ModelFile, is_trusted
from cnnpc.models import build_model, check_model_file, input_size, load_checked, tensor_hwc
from cnnpc.oracle._baseline import Baseline
from cnnpc.spaces import SearchSpace


def _checked(path: Path) -> ModelFile:
    """The file's configuration, read without running it; layers that carry code are refused
    unless the user trusted this file (--trust-code)."""
    return check_model_file(path, "--weights", is_trusted(path))


def is_whole_model(path: Path) -> bool:
    """Whether `path` holds an architecture (True) or only weights (False)."""
    if path.name.endswith(".weights.h5"):
        _checked(path)  # a regular, bounded HDF5 file
        return False
    return _checked(path).config is not None


def load_whole_model(path: str | Path) -> Any:
    """Load a saved Keras model (not compiled) after its layers are checked; failures are one
    line."""
    file = _checked(Path(path))
    if file.config is None:
        raise InputError(f"--weights {path}: holds weights only, no model")
    return load_checked(file, "--weights", is_trusted(path))


def saved_input_size(path: str | Path) -> int | None:
    """The input size a whole saved model was built for (None for weights-only files)."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"--weights {path}: no such file")
    return input_size(load_whole_model(path)) if is_whole_model(path) else None


def _check_architecture(model: Any, path: Path, space: SearchSpace, num_classes: int) -> None:
    shape = model.input_shape
    if not isinstance(shape, tuple) or len(shape) != 4 or shape[-1] != 3:
        raise InputError(f"--weights {path}: expected a model over RGB images, input {shape}")
    if int(model.output_shape[-1]) != num_classes:
        raise InputError(
            f"--weights {path}: the model predicts {model.output_shape[-1]} classes, the data "
            f"has {num_classes}"
        )
    names = {layer.name for layer in model.layers}
    for cand in space.candidates:
        layer = split_layer(cand)
        if layer not in names:
            raise InputError(
                f"--weights {path}: wrong architecture for {space.model}: no layer {layer!r} "
                f"(candidate {cand.name})"
            )
        channels = tensor_hwc(model.get_layer(layer))[2]  # a Flatten's: its input's channels
        if channels != cand.channels:
            raise InputError(
                f"--weights {path}: wrong architecture for {space.model}: {layer!r} has "
                f"{channels} channels, candidate {cand.name} needs {cand.channels}"
            )


def user_baseline(
    model_name: str, path: str | Path, space: SearchSpace, num_classes: int, size: int
) -> Baseline:
    """The user's trained model as the baseline (never downloaded, never retrained)."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"--weights {path}: no such file")
    if is_whole_model(path):
        model = load_whole_model(path)
    else:
        model = build_model(model_name, num_classes, size)
        try:
            model.load_weights(path)
        except (ValueError, OSError, KeyError, IndexError, tf.errors.OpError) as exc:
            raise InputError(
                f"--weights {path}: does not fit the {model_name} architecture with "
                f"{num_classes} classes: {first_line(exc)}"
            ) from None
    _check_architecture(model, path, space, num_classes)
    digest = hashlib.sha256()
    for file in sorted(path.rglob("*")) if path.is_dir() else [path]:
        if file.is_file():
            digest.update(file.read_bytes())
    return Baseline(model_name, model, digest.hexdigest()[:20], f"weights:{path}")
