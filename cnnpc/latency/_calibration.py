"""Fixed costs measured on a host and stored with its profile (``cnnpc validate --calibrate``).

`<device>_calibration.json` beside the device's profile in a user profile folder holds the
runtime's fixed cost per request (quantising, framing, copies, thread hand-offs: what the
client measures beyond compute and transfers) and each link's fixed cost per message (what a
transfer takes beyond bytes / rate). A planner on that profile adds them: the runtime cost is
the overhead (unless --overhead-ms is given), the link costs are the links' per-message costs.

It also holds each tier's compute scale: the runtime's measured compute of that tier over the
profile's prediction, in the calibrating run (the served int8 parts, back to back with the
others, against segments profiled alone). Only `validate` applies them (a planner prices tiers
from their own device profiles, not from this host's).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cnnpc.errors import InputError
from cnnpc.profiles import user_profile_roots

SUFFIX = "_calibration.json"


@dataclass(frozen=True)
class Calibration:
    runtime_ms: float
    uplink_message_ms: float
    message_ms: float
    requests: int = 0
    source: str = ""
    end_compute_scale: float = 1.0
    edge_compute_scale: float = 1.0
    cloud_compute_scale: float = 1.0
    signed_links: bool = False
    """The link costs are intercepts that may be negative (a shaper's bucket lets a message's
    first bytes through at once). Only validate's own keys hold such a calibration: a planner's
    per-message costs are >= 0, and planners read the device's key, never those."""

    def __post_init__(self) -> None:
        from cnnpc.records import check_number

        check_number("runtime_ms", self.runtime_ms)
        for name in ("uplink_message_ms", "message_ms"):
            check_number(name, getattr(self, name), minimum=-math.inf if self.signed_links else 0)
        for tier in ("end", "edge", "cloud"):
            check_number(f"{tier}_compute_scale", self.compute_scale(tier), strict=True)

    def compute_scale(self, tier: str) -> float:
        """Measured over predicted compute of `tier` ("end", "edge" or "cloud")."""
        scale: float = getattr(self, f"{tier}_compute_scale")
        return scale

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def calibration_path(folder: str | Path, device: str) -> Path:
    return Path(folder) / f"{device}{SUFFIX}"


def read_calibration(path: Path) -> Calibration:
    """One calibration file; a malformed one is a one-line error naming it."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return Calibration(
            runtime_ms=float(raw["runtime_ms"]),
            uplink_message_ms=float(raw["uplink_message_ms"]),
            message_ms=float(raw["message_ms"]),
            requests=int(raw.get("requests", 0)),
            source=str(raw.get("source", "")),
            end_compute_scale=float(raw.get("end_compute_scale", 1.0)),
            edge_compute_scale=float(raw.get("edge_compute_scale", 1.0)),
            cloud_compute_scale=float(raw.get("cloud_compute_scale", 1.0)),
            signed_links=bool(raw.get("signed_links", False)),
        )
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise InputError(
            f"{path}: not a calibration file ({exc}); run validate --calibrate"
        ) from None
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from None


def find_calibration(model: str, device: str) -> Calibration | None:
    """The calibration of `model` on `device` in the user profile roots (first found)."""
    for root in user_profile_roots():
        path = calibration_path(root / model, device)
        if path.is_file():
            found = read_calibration(path)
            if found.signed_links:
                raise InputError(f"{path}: signed link costs are validate's, not a planner's")
            return found
    return None
