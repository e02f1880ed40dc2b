"""Host profiling: time a model's segments on this machine, import tables measured elsewhere,
and price pruned segments whose widths were not timed. Device profiling: export the segments as
deployed (`export_device`), time them on the device with LiteRT's benchmark (`run_device`, no
TensorFlow) and import the results (`import_profile` with results folders).

``cnnpc profile`` writes a user profile (``$CNNPC_PROFILES`` or ``./results/profiles``) in the
shipped format, so ``cnnpc plan --device host`` reads it like any other. Importing this package
does not import TensorFlow; measuring and pricing unmeasured widths do.
"""

from __future__ import annotations

from cnnpc.profiling._assemble import parse_tier_scale
from cnnpc.profiling._cost import HostCostModel, host_cost_model
from cnnpc.profiling._device import run_device
from cnnpc.profiling._device_export import export_device
from cnnpc.profiling._device_import import import_device
from cnnpc.profiling._import import import_profile
from cnnpc.profiling._power_import import import_power
from cnnpc.profiling._regressor import FEATURES, KINDS, evaluate, fit_regressor, heldout_keeps
from cnnpc.profiling._run import DEFAULT_KEEPS, profile_host
from cnnpc.profiling._store import HOST_DEVICE, Measurement, read_measurements
from cnnpc.profiling._text import (
    device_text,
    export_text,
    import_text,
    power_text,
    profile_text,
)

__all__ = [
    "DEFAULT_KEEPS",
    "FEATURES",
    "HOST_DEVICE",
    "KINDS",
    "HostCostModel",
    "Measurement",
    "device_text",
    "evaluate",
    "export_device",
    "export_text",
    "fit_regressor",
    "heldout_keeps",
    "host_cost_model",
    "import_device",
    "import_power",
    "import_profile",
    "import_text",
    "parse_tier_scale",
    "power_text",
    "profile_host",
    "profile_text",
    "read_measurements",
    "run_device",
]
