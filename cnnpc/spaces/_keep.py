"""How many channels a keep fraction leaves: the one rule the latency model and the surgery share.

The planner prices the tensor the surgery will really produce, so both must round the same way.
The rule is ``floor(fraction x channels + 0.5)`` (half up, never half to even), clamped to
1..channels: at 20 channels and keep 0.125 both keep 3.
"""

from __future__ import annotations

import math

from cnnpc.errors import InputError


def kept_count(fraction: float, channels: int) -> int:
    """Channels left when keeping `fraction` of `channels` (rounded half up, at least one)."""
    if not math.isfinite(fraction) or not 0.0 < fraction <= 1.0:
        raise InputError(f"keep fraction must be in (0, 1], got {fraction!r}")
    if channels < 1:
        raise InputError(f"a tensor has at least one channel, got {channels}")
    return max(1, min(channels, math.floor(fraction * channels + 0.5)))
