"""Load search spaces from the packaged `search_spaces/` folder or any YAML file."""

from __future__ import annotations

from pathlib import Path

import yaml

from cnnpc._resources import available_models, space_resource
from cnnpc.errors import SearchSpaceError
from cnnpc.spaces._schema import SearchSpace, parse_space


def _parse_text(text: str, source: str, expected_model: str | None) -> SearchSpace:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "YAML"
        raise SearchSpaceError(f"{source}: {where}: not valid YAML") from None
    return parse_space(raw, source, expected_model)


def load_space_file(path: str | Path) -> SearchSpace:
    """Load a user-supplied search space file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SearchSpaceError(f"{path}: cannot read: {exc.strerror}") from None
    return _parse_text(text, str(path), None)


def load_space(model: str) -> SearchSpace:
    """Load the search space of `model` (shipped or added); unknown models list the valid ones."""
    found = space_resource(model)
    if found is None or not found[0].is_file():
        valid = ", ".join(available_models()) or "none"
        raise SearchSpaceError(f"unknown model {model!r} (valid: {valid})")
    resource, label = found
    return _parse_text(resource.read_text(encoding="utf-8"), label, model)
