"""A private CA and the keys and certificates of a deployment's servers and end device.

Why a private CA: cnnpc's tiers trust only each other, so each side is given the CA's
certificate (--tls-ca) instead of the system's roots, and a certificate from anyone else,
however valid on the web, is refused. ECDSA P-256 keys and SHA-256 signatures: what every TLS
stack (gRPC's BoringSSL, Android, iOS) accepts, and fast to make.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from cnnpc.certs._names import CA, CLIENT, Address, check_hosts
from cnnpc.certs._write import write_new_files
from cnnpc.errors import InputError
from cnnpc.records import CERT_DAYS, MAX_CERT_DAYS

DEFAULT_DAYS = CERT_DAYS
MAX_DAYS = MAX_CERT_DAYS
CLOCK_SKEW = dt.timedelta(minutes=5)
"""Certificates start this long before now, so a peer whose clock is a little behind accepts
them at once."""


@dataclass(frozen=True)
class Identity:
    """One key and the certificate for it; `addresses` are its subjectAltNames."""

    name: str
    cert: Path
    key: Path
    addresses: tuple[str, ...]


@dataclass(frozen=True)
class CertSet:
    """The files `make_certs` wrote. Servers use their own cert and key plus `ca_cert`;
    `ca_key` only signs and stays where it was made."""

    folder: Path
    ca_cert: Path
    ca_key: Path
    servers: tuple[Identity, ...]
    client: Identity
    not_before: dt.datetime
    not_after: dt.datetime

    def server(self, name: str) -> Identity:
        for identity in self.servers:
            if identity.name == name:
                return identity
        raise InputError(f"no server {name!r} in {self.folder} (have {self.names()})")

    def names(self) -> str:
        return ", ".join(s.name for s in self.servers)

    def files(self) -> tuple[Path, ...]:
        pairs = [(i.cert, i.key) for i in (*self.servers, self.client)]
        return (self.ca_cert, self.ca_key, *(p for pair in pairs for p in pair))


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _name(common: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "cnnpc"),
            x509.NameAttribute(NameOID.COMMON_NAME, common),
        ]
    )


def _san(address: Address) -> x509.GeneralName:
    if isinstance(address, str):
        return x509.DNSName(address)
    return x509.IPAddress(address)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


@dataclass(frozen=True)
class _Issuer:
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate
    not_before: dt.datetime
    not_after: dt.datetime

    def sign(
        self,
        common: str,
        key: ec.EllipticCurvePrivateKey,
        addresses: Sequence[Address],
        usages: Sequence[x509.ObjectIdentifier],
    ) -> x509.Certificate:
        public = key.public_key()
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(common))
            .issuer_name(self.cert.subject)
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(self.not_before)
            .not_valid_after(self.not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_usage(cert_sign=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage(list(usages)), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False,
            )
        )
        if addresses:
            names = [_san(a) for a in addresses]
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        return builder.sign(self.key, hashes.SHA256())


def _usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _authority(not_before: dt.datetime, not_after: dt.datetime) -> _Issuer:
    """A self-signed CA that may sign leaf certificates only (path length 0)."""
    key = _key()
    name = _name(f"cnnpc private CA {secrets.token_hex(4)}")
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    return _Issuer(key, cert, not_before, not_after)


def _validity(days: int, valid_from: dt.datetime | None) -> tuple[dt.datetime, dt.datetime]:
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise InputError(f"days must be a whole number in 1..{MAX_DAYS}, got {days!r}")
    if valid_from is None:
        start = dt.datetime.now(dt.UTC) - CLOCK_SKEW
    elif valid_from.tzinfo is None:
        raise InputError("valid_from must carry a time zone (e.g. datetime.UTC)")
    else:
        start = valid_from.astimezone(dt.UTC)
    start = start.replace(microsecond=0)
    return start, start + dt.timedelta(days=days)


def make_certs(
    out: Path,
    hosts: Mapping[str, str | Address | Sequence[str | Address]],
    *,
    days: int = DEFAULT_DAYS,
    valid_from: dt.datetime | None = None,
) -> CertSet:
    """Write a private CA, a key and certificate per server (its addresses as subjectAltNames:
    an IP SAN for an IP, a DNS SAN for a name) and one for the end device into `out`.

    A server's certificate also names the server itself (DNS SAN `edge`): a client of a
    replica set dials several addresses on one channel, whose TLS name check needs one name
    every replica holds (gRPC channel option grpc.ssl_target_name_override=edge; give the
    replicas one name, `edge=A,edge=B`, and they share one key and certificate). Server
    certificates may authenticate both ways (serverAuth and clientAuth: the edge is the
    cloud's client); the end device's is clientAuth only. Keys are created 0600 and no existing
    file is replaced: on any error nothing new is left in `out`. `valid_from` (default: five
    minutes ago) and `days` set every certificate's validity; a past `valid_from` makes expired
    certificates for tests.
    """
    servers = check_hosts(hosts)
    not_before, not_after = _validity(days, valid_from)
    out = Path(out)
    ca = _authority(not_before, not_after)
    files: dict[str, tuple[bytes, bool]] = {
        f"{CA}.crt": (_cert_pem(ca.cert), False),
        f"{CA}.key": (_key_pem(ca.key), True),
    }
    server_auth = ExtendedKeyUsageOID.SERVER_AUTH
    client_auth = ExtendedKeyUsageOID.CLIENT_AUTH
    identities: list[Identity] = []
    for name, addresses in servers.items():
        key = _key()
        names = (*addresses, name) if name not in addresses else addresses
        cert = ca.sign(f"cnnpc {name}", key, names, (server_auth, client_auth))
        files[f"{name}.crt"] = (_cert_pem(cert), False)
        files[f"{name}.key"] = (_key_pem(key), True)
        shown = tuple(str(a) for a in addresses)
        identities.append(Identity(name, out / f"{name}.crt", out / f"{name}.key", shown))
    key = _key()
    cert = ca.sign(f"cnnpc {CLIENT}", key, (CLIENT,), (client_auth,))  # RFC 5280: a SAN
    files[f"{CLIENT}.crt"] = (_cert_pem(cert), False)
    files[f"{CLIENT}.key"] = (_key_pem(key), True)
    write_new_files(out, files)
    client = Identity(CLIENT, out / f"{CLIENT}.crt", out / f"{CLIENT}.key", ())
    return CertSet(
        out, out / f"{CA}.crt", out / f"{CA}.key", tuple(identities), client, not_before, not_after
    )
