"""Latency profiles: per-segment run times (T_R) and the tensors that cross each boundary."""

from __future__ import annotations

from cnnpc.profiles._layers import (
    LAYER_COLUMNS,
    LayerRow,
    check_layers,
    load_layers,
    read_layers,
)
from cnnpc.profiles._loader import (
    MAX_TABLE_BYTES,
    MEMORY_COLUMN,
    PROFILES_ENV,
    SEGMENT_COLUMNS,
    TENSOR_COLUMNS,
    default_user_root,
    device_names,
    list_profiles,
    load_profile,
    load_profile_dir,
    model_tensors,
    read_csv_rows,
    user_profile_roots,
    user_profiles,
)
from cnnpc.profiles._params import PARAMS_COLUMNS, PARAMS_FILE, load_params
from cnnpc.profiles._schema import TIERS, Profile, Segment, Tensor
from cnnpc.profiles._synthetic import make_profile, synthetic_profile
from cnnpc.profiles._weights import SegmentWeights, WeightTerm, profile_weights, segment_weights

__all__ = [
    "LAYER_COLUMNS",
    "MAX_TABLE_BYTES",
    "MEMORY_COLUMN",
    "PARAMS_COLUMNS",
    "PARAMS_FILE",
    "PROFILES_ENV",
    "SEGMENT_COLUMNS",
    "TENSOR_COLUMNS",
    "TIERS",
    "LayerRow",
    "Profile",
    "Segment",
    "SegmentWeights",
    "Tensor",
    "WeightTerm",
    "check_layers",
    "default_user_root",
    "device_names",
    "list_profiles",
    "load_layers",
    "load_params",
    "load_profile",
    "load_profile_dir",
    "make_profile",
    "model_tensors",
    "profile_weights",
    "read_csv_rows",
    "read_layers",
    "segment_weights",
    "synthetic_profile",
    "user_profile_roots",
    "user_profiles",
]
