"""HOST:PORT parsing, restricted to loopback: the runtime measures plans on one machine.

The one exception is `validate --netns`, whose servers listen on private addresses inside
network namespaces it created: it admits their network with `namespace_network` for as long as
the namespaces exist, and nothing else is ever accepted.
"""

from __future__ import annotations

import contextlib
import ipaddress
import threading
from collections import Counter
from collections.abc import Iterator

from cnnpc.errors import InputError

LOOPBACK_NAMES = ("localhost",)
_admitted: Counter[ipaddress.IPv4Network] = Counter()
_guard = threading.Lock()


@contextlib.contextmanager
def namespace_network(network: ipaddress.IPv4Network) -> Iterator[None]:
    """Accept addresses of `network` (a namespace run's private links) while inside."""
    with _guard:
        _admitted[network] += 1
    try:
        yield
    finally:
        with _guard:
            _admitted[network] -= 1
            if _admitted[network] <= 0:
                del _admitted[network]


def _admitted_here(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    with _guard:
        return any(address in network for network in _admitted)


def check_loopback(host: str) -> str:
    """`host` if it is a loopback address (127.0.0.0/8, ::1 or localhost) or one of a running
    namespace run's addresses (`namespace_network`), else an InputError."""
    name = host.strip("[]")
    if name in LOOPBACK_NAMES:
        return "127.0.0.1"
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        raise InputError(f"{host!r} is not an IP address (only loopback is served)") from None
    if not address.is_loopback and not _admitted_here(address):
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
