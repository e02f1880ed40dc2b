"""List, find and remove registry entries; write a new model folder all or nothing."""

from __future__ import annotations

import hashlib
import os
import shutil
import warnings
from collections.abc import Callable
from pathlib import Path

from cnnpc._files import fill_folder, make_folder
from cnnpc._resources import (
    ENTRY_FILE,
    data_root,
    shipped_models,
    user_model_dir,
    user_model_roots,
    user_models,
)
from cnnpc.catalog._entry import ARCHITECTURE_FILE, ModelEntry, read_entry
from cnnpc.errors import InputError, OwnCodeNote

_SHIPPED = {
    "mobilenet": ("MobileNetV2 (CNNPC's 7 candidates: 32, 16, 24, 32, 64, 96, 160 channels)", 64),
    "resnet": ("ResNet-18-style network (CNNPC's 4 candidates: 64, 64, 128, 256 channels)", 32),
}


SIBLING_BYTES = 14
"""Bytes a model folder's hidden siblings add to its name: ".NAME.xxxxxxxx.tmp" and
".NAME.old-xxxxxxxx" (fill_folder), ".rm-NAME-PID" (remove_model, a PID has at most 7 digits)."""


def max_name_bytes(root: Path) -> int:
    """The longest model name, in bytes, that `root` holds with its hidden siblings: the file
    system's limit on a name (255 on most) less SIBLING_BYTES."""
    probe = root
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        limit = int(os.pathconf(probe, "PC_NAME_MAX"))
    except (OSError, ValueError):
        limit = 255
    return min(limit, 255) - SIBLING_BYTES


def _shipped_entry(name: str) -> ModelEntry:
    description, train_size = _SHIPPED.get(name, (name, 32))
    return ModelEntry(
        name=name,
        kind="builtin",
        description=description,
        input_size=224,
        train_size=train_size,
        folder=str(data_root("model_profiles") / name),
        source="shipped with cnnpc (CNNPC's published profiles)",
    )


def list_models() -> list[ModelEntry]:
    """Every registered model: the shipped ones, then the user's."""
    entries = [_shipped_entry(n) for n in shipped_models()]
    for name in user_models():
        folder = user_model_dir(name)
        if folder is not None:
            entries.append(read_entry(folder / ENTRY_FILE))
    return entries


def model_entry(name: str) -> ModelEntry:
    """The entry called `name`; an unknown name lists the registered ones."""
    if name in shipped_models():
        return _shipped_entry(name)
    folder = user_model_dir(name)
    if folder is None:
        valid = ", ".join(e.name for e in list_models()) or "none"
        raise InputError(
            f"unknown model {name!r} (registered: {valid}; add one with 'cnnpc models add')"
        )
    entry = read_entry(folder / ENTRY_FILE)
    if entry.trust_code:
        warnings.warn(
            f"model {name!r} was added with --trust-code: building it runs code from its file",
            OwnCodeNote,
            stacklevel=2,
        )
    return entry


def fingerprint(name: str) -> str:
    """Hash of an added model's entry and saved file ('' for shipped models): cache keys use it,
    so re-adding a name with another architecture never reuses the old weights."""
    if name in shipped_models():
        return ""
    folder = user_model_dir(name)
    if folder is None:
        return ""
    digest = hashlib.sha256()
    for file in sorted(folder.rglob("*")):
        if file.is_file() and file.name in (ENTRY_FILE, ARCHITECTURE_FILE):
            digest.update(file.name.encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def saved_model_file(name: str) -> Path | None:
    """The saved model of an entry added with --keras (None for apps and shipped models)."""
    if name in shipped_models() or user_model_dir(name) is None:
        return None
    return model_entry(name).path


def check_new_name(name: str) -> Path:
    """The folder a new model `name` will get; clashes and bad names are one-line errors."""
    if not name or not all(c.isalnum() or c in "-_" for c in name) or name[0] in "-_":
        raise InputError(
            f"model name {name!r}: use letters, digits, '-' and '_', starting with a letter or "
            "digit"
        )
    root = user_model_roots()[0]
    size, limit = len(os.fsencode(name)), max_name_bytes(root)
    if size > limit:
        raise InputError(
            f"model name of {size} bytes: at most {limit} (it names a folder in {root}, and its "
            f"temporary siblings add {SIBLING_BYTES} to it within the file system's limit)"
        )
    if name in shipped_models():
        raise InputError(f"model name {name!r} is a shipped model: choose another name")
    existing = user_model_dir(name)
    if existing is not None:
        raise InputError(
            f"model {name!r} already exists in {existing}: remove it first ('cnnpc models remove "
            f"{name}') or choose another name"
        )
    return root / name


def write_model_folder(target: Path, fill: Callable[[Path], None]) -> Path:
    """Create `target` by filling a hidden sibling folder and renaming it: all or nothing."""
    make_folder(target.parent)
    return fill_folder(target, fill, what="model")


def remove_model(name: str) -> Path:
    """Delete user model `name`'s folder (shipped models cannot be removed)."""
    if name in shipped_models():
        raise InputError(f"{name!r} is a shipped model and cannot be removed")
    folder = user_model_dir(name)
    if folder is None:
        raise InputError(f"no user model {name!r} (see 'cnnpc models list')")
    if folder.is_symlink():  # an entry linked in from elsewhere: drop the link, not its target
        folder.unlink()
        return folder
    trash = folder.parent / f".rm-{name}-{os.getpid()}"
    folder.rename(trash)  # atomic: the name disappears at once
    shutil.rmtree(trash, ignore_errors=True)
    return folder
