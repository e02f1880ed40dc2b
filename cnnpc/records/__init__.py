"""The records that cross the pipeline, frozen and typed, each with one JSON form: the numbers'
bounds and the links' settings. Low in the house (above `spaces` and `profiles`, below
`latency`, `planner`, `search`, `storage`, `deploy` and `runtime`), so every stage reads the
same record instead of re-assembling its own.
"""

from __future__ import annotations

from cnnpc.records._links import FloatArray, LinkSetting
from cnnpc.records._numbers import (
    MAX_MBPS,
    MAX_MS,
    MBIT_BINARY,
    MBIT_SI,
    MIN_MBPS,
    check_ms,
    check_number,
    check_rate,
)

__all__ = [
    "MAX_MBPS",
    "MAX_MS",
    "MBIT_BINARY",
    "MBIT_SI",
    "MIN_MBPS",
    "FloatArray",
    "LinkSetting",
    "check_ms",
    "check_number",
    "check_rate",
]
