"""Write a file all at once: a temporary file beside the target, then os.replace.

A failed or interrupted export leaves the old file (or none) and never a truncated one.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from cnnpc.errors import CnnpcError


class ExportError(CnnpcError):
    """An export cannot be written, or the search has nothing to export."""


def write_atomically(path: Path, write: Callable[[BinaryIO], None]) -> Path:
    """Call `write` on a temporary file in path's folder, then move it over `path`."""
    path = Path(path)
    if path.is_dir():
        raise ExportError(f"cannot write {path}: it is a directory")
    parent = path.parent
    if not parent.is_dir():
        raise ExportError(f"cannot write {path}: directory {parent} does not exist")
    try:
        fd, tmp_name = tempfile.mkstemp(dir=parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise ExportError(f"cannot write {path}: {exc.strerror or exc}") from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.chmod(0o666 & ~_umask())
        tmp.replace(path)
    except OSError as exc:
        raise ExportError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return path


def _umask() -> int:
    # mkstemp creates 0600; give the export the permissions a plain open() would.
    current = os.umask(0)
    os.umask(current)
    return current


def save_png(figure: Any, path: Path, dpi: int = 120) -> Path:
    """Render a matplotlib figure to PNG in memory, close it, then write the file atomically."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    plt.close(figure)

    def write(handle: BinaryIO) -> None:
        handle.write(buffer.getvalue())

    return write_atomically(Path(path), write)
