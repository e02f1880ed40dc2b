"""Run a deployed plan: edge and cloud servers and an end-device client over loopback TCP.

Frames are length-prefixed binary (``_frames``); links can be shaped to the plan's bandwidths by
a token bucket in each sender (``_shaper``), so a plan can be measured on one machine. Loading a
part imports TensorFlow (its TFLite interpreter); frames and shaping do not.
"""

from __future__ import annotations

from cnnpc.runtime._adaptive import AdaptiveClient, AdaptiveResult, LinkEstimate, SwitchEvent
from cnnpc.runtime._address import check_loopback, namespace_network, parse_address
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
    HOLDINGS,
    INFER,
    MAGIC,
    RESULT,
    STATUS,
    UPLOAD,
    VERSION,
    Frame,
    FrameError,
    PayloadError,
    PeerClosed,
    decode_chunk,
    decode_result,
    decode_status,
    decode_tensor,
    encode_chunk,
    encode_header,
    encode_result,
    encode_status,
    encode_tensor,
    read_frame,
    send_frame,
)
from cnnpc.runtime._hostprice import host_upload_planner, time_parts
from cnnpc.runtime._listener import FrameServer
from cnnpc.runtime._part import Part, dequantize, quantize, requantize
from cnnpc.runtime._rpc import RpcServer
from cnnpc.runtime._server import Limits, PartServer, ServerStats, running_servers
from cnnpc.runtime._setserver import PlanSetServer, plan_numbers, running_set_servers
from cnnpc.runtime._shaper import TokenBucket, send_shaped
from cnnpc.runtime._upload import IncrementalClient, Uploader, UploadEvent, UploadResult
from cnnpc.runtime._uploadedge import CHUNK_BYTES, UploadEdgeServer
from cnnpc.runtime._uploadrun import UploadRun, run_during_upload
from cnnpc.runtime._verify import verify_plan

__all__ = [
    "CHUNK_BYTES",
    "COMPONENTS",
    "ERROR",
    "HEADER",
    "HOLDINGS",
    "INFER",
    "MAGIC",
    "RESULT",
    "STATUS",
    "UPLOAD",
    "VERSION",
    "AdaptiveClient",
    "AdaptiveResult",
    "EdgeConnection",
    "Frame",
    "FrameError",
    "FrameServer",
    "IncrementalClient",
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
    "RpcServer",
    "ServerStats",
    "SwitchEvent",
    "TokenBucket",
    "UploadEdgeServer",
    "UploadEvent",
    "UploadResult",
    "UploadRun",
    "Uploader",
    "check_loopback",
    "decode_chunk",
    "decode_result",
    "decode_status",
    "decode_tensor",
    "dequantize",
    "encode_chunk",
    "encode_header",
    "encode_result",
    "encode_status",
    "encode_tensor",
    "host_upload_planner",
    "namespace_network",
    "parse_address",
    "plan_numbers",
    "quantize",
    "read_frame",
    "requantize",
    "run_during_upload",
    "running_servers",
    "running_set_servers",
    "send_frame",
    "send_shaped",
    "split_timings",
    "time_parts",
    "verify_plan",
]
