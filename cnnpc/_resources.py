"""Find the data shipped inside the package (profiles, search spaces) with importlib.resources."""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable


def data_root(kind: str) -> Traversable:
    """Return the packaged folder `kind` (``model_profiles`` or ``search_spaces``)."""
    return files("cnnpc") / kind


def available_models() -> list[str]:
    """Models that have both a profile folder and a search space."""
    profiles = data_root("model_profiles")
    spaces = data_root("search_spaces")
    names = {p.name for p in profiles.iterdir() if p.is_dir() and not p.name.startswith("_")}
    with_space = {
        p.name.removesuffix(".yaml") for p in spaces.iterdir() if p.name.endswith(".yaml")
    }
    return sorted(names & with_space)
