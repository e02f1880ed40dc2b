"""Keys and certificates for a deployment's mutual TLS: `make_certs` writes a private CA and
one key and certificate per server and for the end device (`cnnpc certs`); the readers check a
key and certificate the way a server or client loads them, one line per problem.

No TensorFlow and no gRPC here: the runtime turns these files into gRPC credentials.
"""

from __future__ import annotations

from cnnpc.certs._make import DEFAULT_DAYS, MAX_DAYS, CertSet, Identity, make_certs
from cnnpc.certs._names import CA, CLIENT, Address, check_hosts, parse_host_address, parse_hosts
from cnnpc.certs._read import (
    CertError,
    Pem,
    PrivateKey,
    check_dates,
    check_pair,
    check_private_mode,
    check_usage,
    read_certificates,
    read_private_key,
)
from cnnpc.certs._write import CERT_MODE, KEY_MODE

__all__ = [
    "CA",
    "CERT_MODE",
    "CLIENT",
    "DEFAULT_DAYS",
    "KEY_MODE",
    "MAX_DAYS",
    "Address",
    "CertError",
    "CertSet",
    "Identity",
    "Pem",
    "PrivateKey",
    "check_dates",
    "check_hosts",
    "check_pair",
    "check_private_mode",
    "check_usage",
    "make_certs",
    "parse_host_address",
    "parse_hosts",
    "read_certificates",
    "read_private_key",
]
