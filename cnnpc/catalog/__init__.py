"""The catalog of models cnnpc knows by name: shipped entries and the ones `cnnpc models add`
wrote, read, listed and removed without TensorFlow. `models` builds from it; `registry` (the add
step, above `models`) writes to it.
"""

from __future__ import annotations

from cnnpc.catalog._entry import (
    ARCHITECTURE_FILE,
    DEFAULT_TRAIN_SIZE,
    KINDS,
    ModelEntry,
    read_entry,
)
from cnnpc.catalog._store import (
    SIBLING_BYTES,
    check_new_name,
    fingerprint,
    list_models,
    max_name_bytes,
    model_entry,
    remove_model,
    saved_model_file,
    write_model_folder,
)

__all__ = [
    "ARCHITECTURE_FILE",
    "DEFAULT_TRAIN_SIZE",
    "KINDS",
    "SIBLING_BYTES",
    "ModelEntry",
    "check_new_name",
    "fingerprint",
    "list_models",
    "max_name_bytes",
    "model_entry",
    "read_entry",
    "remove_model",
    "saved_model_file",
    "write_model_folder",
]
