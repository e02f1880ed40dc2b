"""A client channel over several replicas of a tier, with gRPC's own machinery only.

`--edge A,B,...` and `--next A,B,...` name replicas; one channel holds a subchannel to each
(``channel_target``: gRPC's static address list), the ``round_robin`` policy spreads the calls
over the ready ones, and the service config's retry policy moves a call that failed on a dying
replica to another (``service_config``). There is no load balancer of cnnpc's own.

What is retried, and why:

- ``Infer`` is idempotent, so it is retried on UNAVAILABLE (the replica's connection broke or it
  is shutting down: a killed process, GOAWAY) and on CANCELLED (what a call in flight gets from
  a server stopped without grace, measured: ``server.stop(0)``). A call the client itself
  cancelled or whose deadline passed is never retried. The request stays buffered until the
  answer starts (``grpc.per_rpc_retry_buffer_size`` is set to the message limit: a larger
  request would be committed to its first replica and not retried).
- ``GetHoldings`` only reads, so it is retried on UNAVAILABLE.
- ``Upload`` is not retried: a stream whose chunks a replica took cannot be replayed blindly, and
  an upload edge's holdings are its own state. The uploader resumes from GetHoldings instead,
  on a channel to one edge (an upload edge is not replicated).
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Sequence

from cnnpc.errors import InputError
from cnnpc.runtime._address import parse_address
from cnnpc.runtime._limits import MAX_MESSAGE, MESSAGE_MARGIN, MIN_CLIENT_PING_S

SERVICE = "cnnpc.v1.Tier"
MAX_REPLICAS = 16
MAX_RETRIES = 4
"""gRPC caps maxAttempts at 5: the first attempt and at most four retries."""
DEFAULT_RETRIES = 3
KEEPALIVE_TIMEOUT_S = 20.0
RECONNECT_BACKOFF_S = (0.2, 10.0)
"""First and largest wait before reconnecting to a replica that went away: a restarted replica
takes calls again within 10 s."""


def parse_addresses(text: str) -> tuple[tuple[str, int], ...]:
    """``HOST:PORT[,HOST:PORT...]`` as (host, port) pairs; each item as ``parse_address`` reads
    it, no duplicates, at most ``MAX_REPLICAS``."""
    items = [item.strip() for item in text.split(",")]
    if any(not item for item in items):
        raise InputError(f"expected HOST:PORT[,HOST:PORT...], got {text!r}")
    if len(items) > MAX_REPLICAS:
        raise InputError(f"at most {MAX_REPLICAS} replicas, got {len(items)}")
    addresses: list[tuple[str, int]] = []
    for item in items:
        address = parse_address(item)
        if address in addresses:
            raise InputError(f"replica {item} is listed twice")
        addresses.append(address)
    return tuple(addresses)


def _uri_host(host: str) -> tuple[str, int]:
    """`host` as a target URI writes it, with its family (4, 6, or 0 for a name)."""
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return host, 0
    if isinstance(address, ipaddress.IPv6Address):
        return "[" + str(address).replace("%", "%25") + "]", 6
    return str(address), 4


def channel_target(addresses: Sequence[tuple[str, int]]) -> str:
    """The gRPC target for one or several replicas: ``ipv4:a:p,b:p`` or ``ipv6:[a]:p,...``
    (gRPC resolves a static list without DNS); one host name: ``dns:///name:port``."""
    if not addresses:
        raise InputError("no replica address given")
    if len(set(addresses)) != len(addresses):
        raise InputError("a replica is listed twice")
    hosts = [(*_uri_host(host), port) for host, port in addresses]
    families = {family for _, family, _ in hosts}
    if families == {0}:
        if len(hosts) > 1:
            raise InputError("several replicas must be given as IP addresses, not host names")
        name, _, port = hosts[0]
        return f"dns:///{name}:{port}"
    if len(families) > 1:
        raise InputError("replicas cannot mix IPv4 and IPv6 addresses or host names")
    scheme = "ipv6" if families == {6} else "ipv4"
    return f"{scheme}:" + ",".join(f"{host}:{port}" for host, _, port in hosts)


def _duration(seconds: float) -> str:
    """A protobuf JSON Duration ("0.05s"), never in exponent notation."""
    return f"{seconds:.3f}".rstrip("0").rstrip(".") + "s"


def service_config(
    retries: int = DEFAULT_RETRIES,
    *,
    initial_backoff_s: float = 0.05,
    max_backoff_s: float = 1.0,
    backoff_multiplier: float = 2.0,
) -> str:
    """The channel's service config (JSON): round_robin, and the retry policies above with
    ``retries`` retries (0..4) after the first attempt; 0 retries: no retry policy."""
    if not 0 <= retries <= MAX_RETRIES:
        raise InputError(f"retries must be in 0..{MAX_RETRIES}, got {retries}")
    if not 0.001 <= initial_backoff_s <= max_backoff_s <= 60.0:
        raise InputError("backoffs must satisfy 0.001 <= initial <= max <= 60 s")
    if not 1.0 <= backoff_multiplier <= 10.0:
        raise InputError(f"backoff_multiplier must be in 1..10, got {backoff_multiplier}")
    method_configs: list[object] = []

    def policy(*codes: str) -> dict[str, object]:
        return {
            "maxAttempts": retries + 1,
            "initialBackoff": _duration(initial_backoff_s),
            "maxBackoff": _duration(max_backoff_s),
            "backoffMultiplier": backoff_multiplier,
            "retryableStatusCodes": list(codes),
        }

    if retries:
        method_configs = [
            {
                "name": [{"service": SERVICE, "method": "Infer"}],
                "retryPolicy": policy("UNAVAILABLE", "CANCELLED"),
            },
            {
                "name": [{"service": SERVICE, "method": "GetHoldings"}],
                "retryPolicy": policy("UNAVAILABLE"),
            },
        ]
    config = {"loadBalancingConfig": [{"round_robin": {}}], "methodConfig": method_configs}
    return json.dumps(config, sort_keys=True)


def channel_options(
    max_message: int,
    keepalive_s: float,
    *,
    retries: int = DEFAULT_RETRIES,
    keepalive_timeout_s: float = KEEPALIVE_TIMEOUT_S,
) -> list[tuple[str, int | str]]:
    """Options for ``grpc.secure_channel``/``insecure_channel`` over `channel_target`'s replicas:
    messages up to `max_message` both ways (``message_limit``), a keepalive ping every
    `keepalive_s` while calls are open (at least ``MIN_CLIENT_PING_S``, which servers enforce),
    round_robin and bounded retries."""
    if not 1 <= max_message <= MAX_MESSAGE:
        raise InputError(f"max_message must be in 1..{MAX_MESSAGE}, got {max_message}")
    if not MIN_CLIENT_PING_S <= keepalive_s <= 86_400.0:
        raise InputError(f"keepalive must be in {MIN_CLIENT_PING_S:g}..86400 s, got {keepalive_s}")
    if not 0.0 < keepalive_timeout_s <= 3_600.0:
        raise InputError(f"keepalive timeout must be in (0, 3600] s, got {keepalive_timeout_s}")
    first, largest = RECONNECT_BACKOFF_S
    return [
        ("grpc.max_send_message_length", max_message),
        ("grpc.max_receive_message_length", max_message),
        ("grpc.keepalive_time_ms", round(keepalive_s * 1000)),
        ("grpc.keepalive_timeout_ms", round(keepalive_timeout_s * 1000)),
        ("grpc.keepalive_permit_without_calls", 0),
        ("grpc.enable_retries", 1 if retries else 0),
        ("grpc.per_rpc_retry_buffer_size", min(max_message + MESSAGE_MARGIN, MAX_MESSAGE)),
        ("grpc.lb_policy_name", "round_robin"),
        ("grpc.service_config", service_config(retries)),
        ("grpc.service_config_disable_resolution", 1),  # ours, never one from DNS TXT
        ("grpc.initial_reconnect_backoff_ms", round(first * 1000)),
        ("grpc.max_reconnect_backoff_ms", round(largest * 1000)),
    ]
