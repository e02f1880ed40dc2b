"""Run a deployed plan: edge and cloud servers and an end-device client, over gRPC.

Every tier serves the Tier service of ``proto/cnnpc_tier.proto`` (``_rpc``: tensors as
messages, errors as status codes, the server and channel mechanics); links can be shaped to the
plan's bandwidths by a token bucket in each sender (``_shaper``), so a plan can be measured on
one machine. Parts run in LiteRT's interpreter (``cnnpc._litert``): nothing here imports
TensorFlow.
"""

from __future__ import annotations

from cnnpc.runtime._adaptive import AdaptiveClient, AdaptiveResult, LinkEstimate, SwitchEvent
from cnnpc.runtime._address import (
    check_local,
    is_loopback,
    parse_address,
    split_address,
)
from cnnpc.runtime._client import (
    COMPONENTS,
    EdgeConnection,
    InferResult,
    PlanClient,
    RequestError,
    split_timings,
)
from cnnpc.runtime._hostprice import host_upload_planner, time_parts
from cnnpc.runtime._limits import (
    MESSAGE_MARGIN,
    MIN_CLIENT_PING_S,
    Limits,
    ReadDeadlineInterceptor,
    limited_server,
    message_limit,
    server_options,
)
from cnnpc.runtime._metrics import (
    LATENCY_BUCKETS,
    CallRecord,
    Metrics,
    MetricsEndpoint,
    MetricsInterceptor,
    plan_label,
    serve_metrics,
)
from cnnpc.runtime._part import Part, dequantize, quantize, requantize
from cnnpc.runtime._replicas import (
    MAX_REPLICAS,
    MAX_RETRIES,
    channel_options,
    channel_target,
    parse_addresses,
    service_config,
)
from cnnpc.runtime._rpc import RpcServer
from cnnpc.runtime._server import PartServer, ServerStats, running_servers
from cnnpc.runtime._setserver import PlanSetServer, plan_numbers, running_set_servers
from cnnpc.runtime._shaper import TokenBucket, pay
from cnnpc.runtime._stream import (
    SERVER_CALLS,
    Frame,
    PacedPart,
    StreamResult,
    check_window,
    pace_client,
    pace_server,
    paced_servers,
    pipeline_fps,
    plan_stages,
    stream,
    warmup_frames,
)
from cnnpc.runtime._tls import (
    TlsFiles,
    Transport,
    add_port,
    channel_credentials,
    host_port,
    server_credentials,
    shared_identity,
    transport_policy,
)
from cnnpc.runtime._upload import IncrementalClient, Uploader, UploadEvent, UploadResult
from cnnpc.runtime._uploadedge import CHUNK_BYTES, UploadEdgeServer
from cnnpc.runtime._uploadrun import UploadRun, run_during_upload
from cnnpc.runtime._verify import verify_plan

__all__ = [
    "CHUNK_BYTES",
    "COMPONENTS",
    "LATENCY_BUCKETS",
    "MAX_REPLICAS",
    "MAX_RETRIES",
    "MESSAGE_MARGIN",
    "MIN_CLIENT_PING_S",
    "SERVER_CALLS",
    "AdaptiveClient",
    "AdaptiveResult",
    "CallRecord",
    "EdgeConnection",
    "Frame",
    "IncrementalClient",
    "InferResult",
    "Limits",
    "LinkEstimate",
    "Metrics",
    "MetricsEndpoint",
    "MetricsInterceptor",
    "PacedPart",
    "Part",
    "PartServer",
    "PlanClient",
    "PlanSetServer",
    "ReadDeadlineInterceptor",
    "RequestError",
    "RpcServer",
    "ServerStats",
    "StreamResult",
    "SwitchEvent",
    "TlsFiles",
    "TokenBucket",
    "Transport",
    "UploadEdgeServer",
    "UploadEvent",
    "UploadResult",
    "UploadRun",
    "Uploader",
    "add_port",
    "channel_credentials",
    "channel_options",
    "channel_target",
    "check_local",
    "check_window",
    "dequantize",
    "host_port",
    "host_upload_planner",
    "is_loopback",
    "limited_server",
    "message_limit",
    "pace_client",
    "pace_server",
    "paced_servers",
    "parse_address",
    "parse_addresses",
    "pay",
    "pipeline_fps",
    "plan_label",
    "plan_numbers",
    "plan_stages",
    "quantize",
    "requantize",
    "run_during_upload",
    "running_servers",
    "running_set_servers",
    "serve_metrics",
    "server_credentials",
    "server_options",
    "service_config",
    "shared_identity",
    "split_address",
    "split_timings",
    "stream",
    "time_parts",
    "transport_policy",
    "verify_plan",
    "warmup_frames",
]
