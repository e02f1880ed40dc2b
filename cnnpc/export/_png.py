"""Charts as PNG files: rendered in memory, then written by cnnpc's one atomic write."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from cnnpc._files import write_bytes


def save_png(figure: Any, path: Path, dpi: int = 120) -> Path:
    """Render a matplotlib figure to PNG in memory, close it, then write the file atomically."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    plt.close(figure)
    return write_bytes(Path(path), buffer.getvalue())
