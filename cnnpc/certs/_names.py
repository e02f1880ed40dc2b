"""What `--hosts edge=ADDR,cloud=ADDR` may say: server names that become file names, and
addresses that become subjectAltNames (an IP address or a DNS name, never a wildcard)."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence

from cnnpc.errors import InputError

CLIENT = "client"
"""The end device's key and certificate (client.crt, client.key)."""
CA = "ca"
"""The private CA's key and certificate (ca.crt, ca.key)."""
RESERVED = (CA, CLIENT)

_NAME = re.compile(r"[a-z][a-z0-9_-]{0,31}")
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")

Address = ipaddress.IPv4Address | ipaddress.IPv6Address | str
"""An IP address, or a DNS name (lower case) for a DNS subjectAltName."""


def check_name(name: str) -> str:
    """`name` if it can name a server's files (NAME.crt, NAME.key): a-z first, then a-z, 0-9,
    '_' or '-', at most 32 characters, and not 'ca' or 'client' (those files are taken)."""
    if not _NAME.fullmatch(name):
        raise InputError(
            f"server name {name!r} must start with a-z and hold only a-z, 0-9, '_' or '-' "
            "(at most 32 characters): it names the files NAME.crt and NAME.key"
        )
    if name in RESERVED:
        raise InputError(
            f"server name {name!r} is taken ({CA}.crt is the CA, {CLIENT}.crt the end "
            "device): pick another"
        )
    return name


def parse_host_address(text: str) -> Address:
    """An IP address (v4 or v6, brackets allowed) or a DNS name, as it goes in a certificate.

    Why the refusals: a certificate names the address a client dials, so 0.0.0.0, ::, a
    multicast or broadcast address, a name with a wildcard or a port is never what is meant.
    """
    name = text.strip()
    bare = name[1:-1] if name.startswith("[") and name.endswith("]") else name
    try:
        address = ipaddress.ip_address(bare)
    except ValueError:
        address = None
    if address is not None:
        if address.is_unspecified or address.is_multicast or str(address) == "255.255.255.255":
            raise InputError(
                f"{text} cannot be in a certificate: give the address clients dial, not "
                "a wildcard, multicast or broadcast address"
            )
        return address
    dns = bare.lower().rstrip(".")
    if ":" in dns:
        raise InputError(f"{text!r} is not an IP address or a DNS name (no port here)")
    if not dns or len(dns) > 253 or not all(_LABEL.fullmatch(p) for p in dns.split(".")):
        raise InputError(
            f"{text!r} is not an IP address or a DNS name (labels of a-z, 0-9 and '-', no wildcard)"
        )
    if dns.replace(".", "").isdigit():
        raise InputError(f"{text!r} is not an IP address (and all digits is no DNS name)")
    return dns


def parse_hosts(text: str) -> dict[str, tuple[Address, ...]]:
    """``NAME=ADDR,NAME=ADDR,...`` as {name: addresses}. A name given twice gets one
    certificate holding all its addresses (a replica set sharing one key)."""
    hosts: dict[str, list[Address]] = {}
    items = [item.strip() for item in text.split(",")]
    if not text.strip() or any(not item for item in items):
        raise InputError(f"expected NAME=ADDR[,NAME=ADDR...], got {text!r}")
    for item in items:
        name, sep, address = item.partition("=")
        if not sep or not name.strip() or not address.strip():
            raise InputError(f"expected NAME=ADDR in --hosts, got {item!r}")
        hosts.setdefault(check_name(name.strip()), []).append(parse_host_address(address))
    return check_hosts(hosts)


def check_hosts(
    hosts: Mapping[str, str | Address | Sequence[str | Address]],
) -> dict[str, tuple[Address, ...]]:
    """The servers' names and addresses checked (see check_name, parse_host_address): at least
    one server, each with at least one address, none twice."""
    checked: dict[str, tuple[Address, ...]] = {}
    for name, given in hosts.items():
        values = (
            [given]
            if isinstance(given, (str, ipaddress.IPv4Address, ipaddress.IPv6Address))
            else list(given)
        )
        addresses = tuple(parse_host_address(str(v)) for v in values)
        if not addresses:
            raise InputError(f"server {name!r} has no address")
        if len(set(addresses)) != len(addresses):
            raise InputError(f"server {name!r} lists an address twice")
        checked[check_name(name)] = addresses
    if not checked:
        raise InputError("no server named: give at least one NAME=ADDR")
    return checked
