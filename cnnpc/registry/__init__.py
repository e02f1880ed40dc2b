"""The model registry: the models cnnpc knows by name, shipped or added by the user.

Listing, showing and removing never import TensorFlow; `add_model` (and `analyse`) do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cnnpc.registry._describe import CandidateReport, ModelReport, describe, devices_of
from cnnpc.registry._entry import DEFAULT_TRAIN_SIZE, ModelEntry, read_entry
from cnnpc.registry._store import (
    check_new_name,
    fingerprint,
    list_models,
    model_entry,
    remove_model,
    saved_model_file,
)

if TYPE_CHECKING:
    from cnnpc.registry._add import Added


def add_model(name: str, **kwargs: Any) -> Added:
    """Analyse a Keras model's graph and register it (see `cnnpc.registry._add.add_model`)."""
    from cnnpc.registry._add import add_model as _add

    return _add(name, **kwargs)


__all__ = [
    "DEFAULT_TRAIN_SIZE",
    "CandidateReport",
    "ModelEntry",
    "ModelReport",
    "add_model",
    "check_new_name",
    "describe",
    "devices_of",
    "fingerprint",
    "list_models",
    "model_entry",
    "read_entry",
    "remove_model",
    "saved_model_file",
]
