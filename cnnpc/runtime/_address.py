"""HOST:PORT parsing, restricted to loopback: the runtime measures plans on one machine."""

from __future__ import annotations

import ipaddress

from cnnpc.errors import InputError

LOOPBACK_NAMES = ("localhost",)


def check_loopback(host: str) -> str:
    """`host` if it is a loopback address (127.0.0.0/8, ::1 or localhost), else an InputError."""
    name = host.strip("[]")
    if name in LOOPBACK_NAMES:
        return "127.0.0.1"
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        raise InputError(f"{host!r} is not an IP address (only loopback is served)") from None
    if not address.is_loopback:
        raise InputError(f"{host} is not a loopback address: cnnpc's runtime only uses loopback")
    return name


def parse_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (loopback HOST, PORT 1..65535) as (host, port)."""
    host, sep, port_text = text.rpartition(":")
    if not sep or not host:
        raise InputError(f"expected HOST:PORT, got {text!r}")
    try:
        port = int(port_text)
    except ValueError:
        raise InputError(f"port must be a number in {text!r}") from None
    if not 1 <= port <= 65535:
        raise InputError(f"port must be in 1..65535, got {port}")
    return check_loopback(host), port
