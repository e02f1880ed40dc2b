"""Find model data: shipped inside the package (importlib.resources) or added by the user.

A shipped model has ``model_profiles/<model>/`` and ``search_spaces/<model>.yaml`` in the
package. A model added with ``cnnpc models add`` has one folder ``<root>/<model>/`` holding the same
files (``space.yaml`` for the search space) plus ``model.yaml``; the roots are ``$CNNPC_MODELS``
(os.pathsep-separated) and ``./results/models``. Shipped names are searched first.
"""

from __future__ import annotations

import os
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

MODELS_ENV = "CNNPC_MODELS"
"""Environment variable: folder(s) of user models, searched before ./results/models."""
ENTRY_FILE = "model.yaml"
SPACE_FILE = "space.yaml"


def data_root(kind: str) -> Traversable:
    """Return the packaged folder `kind` (``model_profiles`` or ``search_spaces``)."""
    return files("cnnpc") / kind


def shipped_models() -> list[str]:
    """Models shipped in the package: a profile folder and a search space each."""
    profiles = data_root("model_profiles")
    spaces = data_root("search_spaces")
    names = {p.name for p in profiles.iterdir() if p.is_dir() and not p.name.startswith("_")}
    with_space = {
        p.name.removesuffix(".yaml") for p in spaces.iterdir() if p.name.endswith(".yaml")
    }
    return sorted(names & with_space)


def user_model_roots() -> list[Path]:
    """Folders that hold user models (``<root>/<model>/model.yaml``), in search order."""
    env = os.environ.get(MODELS_ENV, "")
    roots = [Path(p) for p in env.split(os.pathsep) if p.strip()]
    roots.append(Path.cwd() / "results" / "models")
    return roots


def user_model_dir(model: str) -> Path | None:
    """The folder of user model `model` (None if no root has it)."""
    if not model or "/" in model or model.startswith("."):
        return None
    for root in user_model_roots():
        try:
            if (root / model / ENTRY_FILE).is_file():
                return root / model
        except OSError:  # a name no folder can have (over the file system's 255 bytes)
            continue
    return None


def user_models() -> list[str]:
    """Names of the user models found in the roots (first root wins on a clash)."""
    found: list[str] = []
    shipped = set(shipped_models())
    for root in user_model_roots():
        if not root.is_dir():
            continue
        for folder in sorted(root.iterdir()):
            ok = folder.is_dir() and not folder.name.startswith(".")
            if ok and (folder / ENTRY_FILE).is_file() and folder.name not in [*found, *shipped]:
                found.append(folder.name)
    return found


def model_dir(model: str) -> Traversable | Path | None:
    """The profile folder of `model` (meta.yaml, tensors.csv, layers.csv ...), shipped first."""
    if model in shipped_models():
        return data_root("model_profiles") / model
    return user_model_dir(model)


def model_file(model: str, name: str) -> tuple[Traversable | Path, str] | None:
    """File `name` of `model`'s profile folder and the label errors name it by (None: unknown)."""
    if model in shipped_models():
        return data_root("model_profiles") / model / name, f"model_profiles/{model}/{name}"
    folder = user_model_dir(model)
    return None if folder is None else (folder / name, str(folder / name))


def space_resource(model: str) -> tuple[Traversable | Path, str] | None:
    """The search space file of `model` and the label errors name it by (None: unknown)."""
    if model in shipped_models():
        return data_root("search_spaces") / f"{model}.yaml", f"search_spaces/{model}.yaml"
    folder = user_model_dir(model)
    if folder is None:
        return None
    return folder / SPACE_FILE, str(folder / SPACE_FILE)


def available_models() -> list[str]:
    """Every model cnnpc can plan for: the shipped ones, then the user's."""
    return shipped_models() + user_models()
