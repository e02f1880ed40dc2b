"""HOST:PORT parsing and which addresses a server may listen on.

`check_local` admits any address this machine holds (a user's own edge and cloud servers, or
a namespace's address seen from inside it); whether plaintext is allowed there is
`transport_policy`'s call (TLS off loopback).
"""

from __future__ import annotations

import errno
import ipaddress
import socket

from cnnpc.errors import InputError

LOOPBACK_NAMES = ("localhost",)


def is_loopback(host: str) -> bool:
    """Whether `host` names this machine's loopback: localhost, 127.0.0.0/8 or ::1 (any other
    name is taken as off loopback: it is not resolved)."""
    name = host.strip("[]")
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _owned(address: ipaddress.IPv4Address | ipaddress.IPv6Address, host: str) -> bool:
    """Whether a socket can be bound to `address` here: the kernel's own answer to "is it one
    of this machine's addresses" (in this network namespace), for every kind of interface."""
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.bind((str(address), 0))
    except OSError as exc:
        if exc.errno in (errno.EADDRNOTAVAIL, errno.EINVAL):
            return False
        raise InputError(f"cannot check address {host}: {exc.strerror or exc}") from None
    return True


def _resolve(host: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        found = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        why = getattr(exc, "strerror", None) or exc
        raise InputError(
            f"{host!r} is not an IP address or a name this machine resolves ({why})"
        ) from None
    addresses = []
    for family, *_, sockaddr in found:
        if family in (socket.AF_INET, socket.AF_INET6):
            addresses.append(ipaddress.ip_address(str(sockaddr[0]).partition("%")[0]))
    return list(dict.fromkeys(addresses))


def check_local(host: str) -> str:
    """`host` as the address to listen on, if this machine owns it, else an InputError.

    Local means loopback, 0.0.0.0 or :: (every address here), or an address one of this
    machine's interfaces holds in the current network namespace (checked by binding a socket
    to it). A name is resolved and all its addresses must be local; the first is returned.
    Off loopback the caller still needs TLS or --insecure (see `transport_policy`).
    """
    name = host.strip("[]")
    if name in LOOPBACK_NAMES:
        return "127.0.0.1"
    try:
        addresses = [ipaddress.ip_address(name)]
    except ValueError:
        addresses = _resolve(name)
    if not addresses:
        raise InputError(f"{host!r} resolves to no IP address")
    for address in addresses:
        if address.is_unspecified or address.is_loopback:
            continue
        if not _owned(address, host):
            why = "" if str(address) == name else f" ({host} is {address})"
            raise InputError(
                f"{address} is not an address of this machine{why}: serve on one of its own "
                "addresses (see 'ip addr'), or 0.0.0.0 for all of them"
            )
    return str(addresses[0])


def split_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` as (host, port) with PORT in 1..65535; the host is not checked (a client
    dials any address, a server checks its own with `check_local`). IPv6 in brackets."""
    host, sep, port_text = text.rpartition(":")
    if not sep or not host:
        raise InputError(f"expected HOST:PORT, got {text!r}")
    try:
        port = int(port_text)
    except ValueError:
        raise InputError(f"port must be a number in {text!r}") from None
    if not 1 <= port <= 65535:
        raise InputError(f"port must be in 1..65535, got {port}")
    return (host[1:-1] if host.startswith("[") and host.endswith("]") else host), port


def parse_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (PORT 1..65535) as (host, port). Whether plaintext may go there is the
    transport policy's (``_tls``): loopback, or TLS, or --insecure. `localhost` is 127.0.0.1."""
    host, port = split_address(text)
    return ("127.0.0.1" if host in LOOPBACK_NAMES else host), port
