"""cnnpc: joint model partition and compression for end-edge-cloud CNN inference."""

from __future__ import annotations

__version__ = "0.1.0"
