"""Adding models to the catalog: `add_model` analyses a Keras model's graph (imports
TensorFlow), derives its split candidates and channel groups and writes its planning tables;
`describe` reports an entry. Reading, listing and removing entries is `cnnpc.catalog`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cnnpc.registry._describe import CandidateReport, ModelReport, describe, devices_of
from cnnpc.registry._text import (
    added_text,
    model_text,
    models_document,
    models_text,
    parse_candidates,
)

if TYPE_CHECKING:
    from cnnpc.registry._add import Added


def add_model(name: str, **kwargs: Any) -> Added:
    """Analyse a Keras model's graph and register it (see `cnnpc.registry._add.add_model`)."""
    from cnnpc.registry._add import add_model as _add

    return _add(name, **kwargs)


__all__ = [
    "CandidateReport",
    "ModelReport",
    "add_model",
    "added_text",
    "describe",
    "devices_of",
    "model_text",
    "models_document",
    "models_text",
    "parse_candidates",
]
