"""`cnnpc certs`: a private CA and the keys and certificates for mutual TLS between tiers."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from cnnpc.cli._common import bounded_int, library_type, output
from cnnpc.records import CERT_DAYS, MAX_CERT_DAYS

if TYPE_CHECKING:
    from cnnpc.certs import Address


def _hosts(text: str) -> dict[str, tuple[Address, ...]]:
    from cnnpc.certs import parse_hosts  # not at import: it loads cryptography

    return parse_hosts(text)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "certs",
        help="make a private CA and TLS keys and certificates for the servers and end device",
        description="Writes ca.crt and ca.key, NAME.crt and NAME.key per server (its addresses "
        "in the certificate's subjectAltName) and client.crt and client.key for the end device "
        "into DIR. Keys are mode 0600; an existing file is never replaced.",
    )
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="folder to write in")
    p.add_argument(
        "--hosts",
        type=library_type(_hosts, "hosts"),
        required=True,
        metavar="NAME=ADDR,...",
        help="each server's name and the IP address or DNS name clients dial, e.g. "
        "edge=10.0.0.2,cloud=10.0.0.3 (a name given twice: one certificate for both addresses)",
    )
    p.add_argument(
        "--days",
        type=bounded_int(1, MAX_CERT_DAYS, "days"),
        default=CERT_DAYS,
        help=f"days the certificates stay valid (default {CERT_DAYS}, at most {MAX_CERT_DAYS})",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from cnnpc.jobs import cert_set_document, cert_set_text, make_cert_set

    made = make_cert_set(args.out, args.hosts, args.days)
    return output(args.json, cert_set_document(made), lambda: cert_set_text(made))
