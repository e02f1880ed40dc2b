"""Latency profiles: per-segment run times (T_R) and the tensors that cross each boundary."""

from __future__ import annotations

from cnnpc.profiles._loader import device_names, list_profiles, load_profile, load_profile_dir
from cnnpc.profiles._schema import TIERS, Profile, Segment, Tensor
from cnnpc.profiles._synthetic import make_profile, synthetic_profile

__all__ = [
    "TIERS",
    "Profile",
    "Segment",
    "Tensor",
    "device_names",
    "list_profiles",
    "load_profile",
    "load_profile_dir",
    "make_profile",
    "synthetic_profile",
]
