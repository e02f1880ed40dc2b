"""Run a deployed plan: edge and cloud servers and an end-device client over loopback TCP.

Frames are length-prefixed binary (``_frames``); links can be shaped to the plan's bandwidths by
a token bucket in each sender (``_shaper``), so a plan can be measured on one machine. Loading a
part imports TensorFlow (its TFLite interpreter); frames and shaping do not.
"""

from __future__ import annotations

from cnnpc.runtime._adaptive import AdaptiveClient, AdaptiveResult, LinkEstimate, SwitchEvent
from cnnpc.runtime._address import check_loopback, parse_address
from cnnpc.runtime._client import (
    COMPONENTS,
    EdgeConnection,
    InferResult,
    PlanClient,
    RequestError,
    split_timings,
)
from cnnpc.runtime._frames import (
    ERROR,
    HEADER,
    INFER,
    MAGIC,
    RESULT,
    VERSION,
    Frame,
    FrameError,
    PayloadError,
    PeerClosed,
    decode_result,
    decode_tensor,
    encode_header,
    encode_result,
    encode_tensor,
    read_frame,
    send_frame,
)
from cnnpc.runtime._part import Part, dequantize, quantize, requantize
from cnnpc.runtime._server import Limits, PartServer, ServerStats, running_servers
from cnnpc.runtime._setserver import PlanSetServer, plan_numbers, running_set_servers
from cnnpc.runtime._shaper import TokenBucket, send_shaped

__all__ = [
    "COMPONENTS",
    "ERROR",
    "HEADER",
    "INFER",
    "MAGIC",
    "RESULT",
    "VERSION",
    "AdaptiveClient",
    "AdaptiveResult",
    "EdgeConnection",
    "Frame",
    "FrameError",
    "InferResult",
    "Limits",
    "LinkEstimate",
    "Part",
    "PartServer",
    "PayloadError",
    "PeerClosed",
    "PlanClient",
    "PlanSetServer",
    "RequestError",
    "ServerStats",
    "SwitchEvent",
    "TokenBucket",
    "check_loopback",
    "decode_result",
    "decode_tensor",
    "dequantize",
    "encode_header",
    "encode_result",
    "encode_tensor",
    "parse_address",
    "plan_numbers",
    "quantize",
    "read_frame",
    "requantize",
    "running_servers",
    "running_set_servers",
    "send_frame",
    "send_shaped",
    "split_timings",
]
