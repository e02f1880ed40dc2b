"""Reading a key and certificates back, with the checks that turn a TLS handshake failure
(one opaque line in gRPC's log, on the other machine) into one line naming the file at start.

A private key that group or others may read is REFUSED, not warned about: whoever can read it
can pose as this server or client, and a warning scrolls by on a server's every start. The fix
is one `chmod 600 FILE`, which the error says.
"""

from __future__ import annotations

import datetime as dt
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from cnnpc._files import check_input_file, read_input
from cnnpc.errors import CnnpcError

MAX_PEM_BYTES = 1024 * 1024
"""A certificate chain or a key is a few kilobytes; a larger file is not one."""

PrivateKey = (
    ec.EllipticCurvePrivateKey
    | rsa.RSAPrivateKey
    | ed25519.Ed25519PrivateKey
    | ed448.Ed448PrivateKey
)


class CertError(CnnpcError):
    """A key or certificate file cannot be used: unreadable, not PEM, expired, not matching."""


@dataclass(frozen=True)
class Pem:
    """A file's PEM bytes as read, for gRPC, which takes bytes, not paths."""

    path: Path
    data: bytes


def _read(path: Path, what: str) -> Pem:
    label = f"{what} {path}"
    return Pem(path, read_input(check_input_file(path, label, MAX_PEM_BYTES), label, MAX_PEM_BYTES))


def _stamp(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def check_dates(cert: x509.Certificate, where: str, now: dt.datetime | None = None) -> None:
    """A CertError naming `where` and the dates when `cert` is expired or not yet valid."""
    now = now or dt.datetime.now(dt.UTC)
    start, end = cert.not_valid_before_utc, cert.not_valid_after_utc
    span = f"valid {_stamp(start)} to {_stamp(end)}, now {_stamp(now)}"
    if now > end:
        raise CertError(f"{where}: certificate expired ({span}); make new ones with cnnpc certs")
    if now < start:
        raise CertError(f"{where}: certificate not valid yet ({span}); is this clock right?")


def read_certificates(
    path: Path, what: str = "certificate", now: dt.datetime | None = None
) -> tuple[Pem, tuple[x509.Certificate, ...]]:
    """The PEM certificates in `path` (a chain, leaf first, or a CA bundle), each within its
    validity dates."""
    pem = _read(path, what)
    try:
        certs = tuple(x509.load_pem_x509_certificates(pem.data))
    except ValueError:
        raise CertError(f"{what} {path}: no PEM certificate in it") from None
    for index, cert in enumerate(certs):
        check_dates(cert, f"{what} {path}" + (f" (certificate {index + 1})" if index else ""), now)
    return pem, certs


def check_private_mode(path: Path, what: str = "key") -> None:
    """Refuse a key file that group or others may access (see the module's docstring)."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise CertError(
            f"{what} {path}: group or others may read it (mode {mode:04o}); "
            f"refused: run 'chmod 600 {path}'"
        )


def read_private_key(path: Path, what: str = "key") -> tuple[Pem, PrivateKey]:
    """The unencrypted PEM private key in `path`, whose mode lets only its owner read it."""
    check_input_file(path, f"{what} {path}", MAX_PEM_BYTES)
    check_private_mode(path, what)
    pem = _read(path, what)
    try:
        key = serialization.load_pem_private_key(pem.data, password=None)
    except TypeError:
        raise CertError(
            f"{what} {path}: the key is encrypted; give an unencrypted one (mode 0600)"
        ) from None
    except (ValueError, UnsupportedAlgorithm):
        raise CertError(f"{what} {path}: no PEM private key in it") from None
    if not isinstance(key, PrivateKey):
        raise CertError(f"{what} {path}: a {type(key).__name__} cannot be used for TLS")
    return pem, key


def _public(value: x509.Certificate | PrivateKey) -> bytes:
    return value.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def check_pair(cert: x509.Certificate, cert_path: Path, key: PrivateKey, key_path: Path) -> None:
    """A CertError when `cert` is not the certificate of `key` (two files from two sets)."""
    if _public(cert) != _public(key):
        raise CertError(
            f"certificate {cert_path} is not the certificate of key {key_path} "
            "(give the key and certificate made together)"
        )


def check_usage(cert: x509.Certificate, path: Path, *, server: bool) -> None:
    """A CertError when `cert` says (extended key usage) it may not be used this way: a client
    certificate given to a server, or the reverse, fails later at every handshake."""
    try:
        usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return
    wanted, name = (
        (ExtendedKeyUsageOID.SERVER_AUTH, "serverAuth")
        if server
        else (ExtendedKeyUsageOID.CLIENT_AUTH, "clientAuth")
    )
    if wanted not in usages:
        role, other = ("server", "client") if server else ("client", "server")
        raise CertError(
            f"certificate {path} is for a {other}, not a {role} (its extended key usage lacks "
            f"{name}); give the {role}'s own certificate"
        )
