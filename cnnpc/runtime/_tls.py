"""TLS for the tiers: the --tls-cert/--tls-key/--tls-ca files as gRPC credentials, and the
rule that decides between TLS and plaintext for an address.

The rule (`transport_policy`): loopback may be plaintext (one machine, nothing on a wire);
off loopback TLS is required, and plaintext needs an explicit --insecure, which returns a
warning to print on every start. A server given --tls-ca requires a client certificate signed
by it (mutual TLS). Every file is checked when credentials are made, so a wrong file is one
line naming it at start rather than a handshake failure in gRPC's log on the peer.

Key files that group or others may read are refused, not warned about
(`cnnpc.certs.check_private_mode`: the error says `chmod 600 FILE`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import grpc

from cnnpc.certs import (
    Pem,
    check_pair,
    check_usage,
    read_certificates,
    read_private_key,
)
from cnnpc.errors import InputError
from cnnpc.runtime._address import is_loopback


@dataclass(frozen=True)
class TlsFiles:
    """The PEM files one server or client was given; each may be absent.

    `cert` and `key` (this side's identity) go together; `ca` is whom this side trusts: on a
    server it also turns on mutual TLS, on a client it replaces the system's roots.
    """

    cert: Path | None = None
    key: Path | None = None
    ca: Path | None = None

    def __post_init__(self) -> None:
        if (self.cert is None) != (self.key is None):
            raise InputError("--tls-cert and --tls-key go together: give both or neither")

    @property
    def given(self) -> bool:
        return any(p is not None for p in (self.cert, self.key, self.ca))


@dataclass(frozen=True)
class Transport:
    """What `transport_policy` decided: TLS with `tls`, or plaintext (`tls` None), and the
    warning to print on every start when plaintext leaves loopback."""

    tls: TlsFiles | None
    warning: str | None = None

    @property
    def secure(self) -> bool:
        return self.tls is not None


def transport_policy(host: str, tls: TlsFiles | None, insecure: bool) -> Transport:
    """TLS or plaintext for a server listening on, or a client dialing, `host`.

    TLS files given: TLS (with --insecure too: an error, the two contradict). None given:
    plaintext on loopback; off loopback only with `insecure`, and then with a warning.
    """
    files = tls if tls is not None and tls.given else None
    if files is not None:
        if insecure:
            raise InputError("--insecure and --tls-* contradict each other: give one")
        return Transport(files)
    if is_loopback(host):
        return Transport(None)
    if insecure:
        return Transport(
            None,
            f"warning: plaintext on {host} (--insecure): anyone on that network can read "
            "the tensors and send this server requests",
        )
    raise InputError(
        f"{host} is not loopback, so TLS is required: give --tls-cert, --tls-key and "
        "--tls-ca (make them with 'cnnpc certs'), or --insecure for plaintext"
    )


def shared_identity(tls: TlsFiles) -> Transport:
    """TLS for tiers that all run on this host with one identity (`validate --tls-*`): the
    edge and cloud serve with the certificate, and the end device and the edge present it as
    clients (a `cnnpc certs` server certificate for 127.0.0.1 authenticates both ways). Every
    file is checked now, before anything is deployed."""
    if tls.cert is None or tls.key is None:
        raise InputError(
            "--tls-ca needs --tls-cert and --tls-key: the edge and cloud serve with them (a "
            "'cnnpc certs --hosts edge=127.0.0.1' server certificate)"
        )
    server_credentials(tls)
    channel_credentials(tls)
    return Transport(tls)


def _identity(cert: Path, key: Path, *, server: bool, now: dt.datetime | None) -> tuple[Pem, Pem]:
    cert_pem, chain = read_certificates(cert, "--tls-cert", now)
    key_pem, private = read_private_key(key, "--tls-key")
    check_pair(chain[0], cert, private, key)
    check_usage(chain[0], cert, server=server)
    return cert_pem, key_pem


def server_credentials(tls: TlsFiles, now: dt.datetime | None = None) -> grpc.ServerCredentials:
    """Credentials for a TLS server: its cert and key (required); with `ca`, clients must
    present a certificate signed by it (mutual TLS). Checked: readable files, PEM that
    parses, cert matching key, dates valid `now`, the key's mode (see the module)."""
    if tls.cert is None or tls.key is None:
        raise InputError(
            "a TLS server needs --tls-cert and --tls-key (make them with 'cnnpc certs')"
        )
    cert_pem, key_pem = _identity(tls.cert, tls.key, server=True, now=now)
    roots = read_certificates(tls.ca, "--tls-ca", now)[0].data if tls.ca is not None else None
    return grpc.ssl_server_credentials(
        [(key_pem.data, cert_pem.data)],
        root_certificates=roots,
        require_client_auth=roots is not None,
    )


def channel_credentials(tls: TlsFiles, now: dt.datetime | None = None) -> grpc.ChannelCredentials:
    """Credentials for a TLS client: trust `ca` (without it, the system's roots) and present
    `cert` and `key` when given (what a mutual-TLS server requires). Checked as for a server."""
    roots = read_certificates(tls.ca, "--tls-ca", now)[0].data if tls.ca is not None else None
    if tls.cert is None or tls.key is None:
        return grpc.ssl_channel_credentials(root_certificates=roots)
    cert_pem, key_pem = _identity(tls.cert, tls.key, server=False, now=now)
    return grpc.ssl_channel_credentials(
        root_certificates=roots, private_key=key_pem.data, certificate_chain=cert_pem.data
    )


def host_port(host: str, port: int) -> str:
    """``host:port`` as gRPC spells it (an IPv6 address in brackets)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def add_port(server: grpc.Server, host: str, port: int, transport: Transport) -> int:
    """Listen on `host`:`port` (0: any free port) with TLS or plaintext as `transport` says;
    the port bound. A port gRPC cannot bind is one line. (gRPC sets SO_REUSEPORT unless the
    server was made with the option ("grpc.so_reuseport", 0): without it a second server on a
    port in use binds it too, silently sharing it.)"""
    address = host_port(host, port)
    try:
        if transport.tls is not None:
            bound = server.add_secure_port(address, server_credentials(transport.tls))
        else:
            bound = server.add_insecure_port(address)
    except RuntimeError:
        bound = 0
    if bound == 0:
        raise InputError(f"cannot listen on {address}: in use, or not an address of this machine")
    return bound
