"""Search spaces: split candidates, keep-fraction grids and tied channel groups."""

from __future__ import annotations

from cnnpc.spaces._keep import kept_count
from cnnpc.spaces._loader import load_space, load_space_file
from cnnpc.spaces._schema import (
    CHANNELS,
    Candidate,
    KeepGrid,
    SearchSpace,
    parse_keep_grid,
    parse_space,
)

__all__ = [
    "CHANNELS",
    "Candidate",
    "KeepGrid",
    "SearchSpace",
    "kept_count",
    "load_space",
    "load_space_file",
    "parse_keep_grid",
    "parse_space",
]
