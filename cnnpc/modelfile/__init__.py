"""Saved Keras model files from strangers: their format and configuration read without running
anything in them, and the layers that would run the author's code (no TensorFlow imported)."""

from __future__ import annotations

from cnnpc.modelfile._read import (
    MAX_DEPTH,
    MAX_FOLDER_FILES,
    MAX_MODEL_BYTES,
    ModelFile,
    code_layers,
    is_trusted,
    read_head,
    read_model_file,
    refuse_code,
    trust_model_file,
)

__all__ = [
    "MAX_DEPTH",
    "MAX_FOLDER_FILES",
    "MAX_MODEL_BYTES",
    "ModelFile",
    "code_layers",
    "is_trusted",
    "read_head",
    "read_model_file",
    "refuse_code",
    "trust_model_file",
]
