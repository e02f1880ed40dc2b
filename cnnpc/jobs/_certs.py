"""`cnnpc certs` as one library call: a private CA and the deployment's keys and
certificates, and the text that says which file goes to which machine.

cnnpc.certs (and so `cryptography`) is imported inside the call: importing cnnpc.jobs, which
every command does, stays cheap.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cnnpc.certs import Address, CertSet


def make_cert_set(
    out: Path, hosts: Mapping[str, str | Address | Sequence[str | Address]], days: int
) -> CertSet:
    """Write the CA, one key and certificate per server in `hosts` and the end device's into
    `out` (see cnnpc.certs.make_certs): nothing existing is replaced."""
    from cnnpc.certs import make_certs

    return make_certs(out, hosts, days=days)


def cert_set_document(certs: CertSet) -> dict[str, object]:
    """What `cnnpc certs --json` prints: every file and the validity dates."""
    return {
        "folder": str(certs.folder),
        "ca": {"cert": str(certs.ca_cert), "key": str(certs.ca_key)},
        "servers": {
            s.name: {"cert": str(s.cert), "key": str(s.key), "addresses": list(s.addresses)}
            for s in certs.servers
        },
        "client": {"cert": str(certs.client.cert), "key": str(certs.client.key)},
        "not_before": certs.not_before.isoformat(),
        "not_after": certs.not_after.isoformat(),
    }


def cert_set_text(certs: CertSet) -> str:
    """The files written and which machine takes which, with the options that use them."""
    stamp = "%Y-%m-%d %H:%M UTC"
    ca = certs.ca_cert.name
    rows = [
        (ca, f"the private CA: every machine gets it (--tls-ca {ca})"),
        (certs.ca_key.name, "signs certificates: keep it here, copy it to no machine"),
    ]
    for s in certs.servers:
        rows.append(
            (
                f"{s.cert.name}, {s.key.name}",
                f"server {s.name} ({', '.join(s.addresses)}): serve --tls-cert {s.cert.name} "
                f"--tls-key {s.key.name} --tls-ca {ca}",
            )
        )
    c = certs.client
    rows.append(
        (
            f"{c.cert.name}, {c.key.name}",
            f"the end device: infer --tls-cert {c.cert.name} --tls-key {c.key.name} --tls-ca {ca}",
        )
    )
    width = max(len(name) for name, _ in rows)
    return "\n".join(
        [
            f"wrote {len(certs.files())} files in {certs.folder} (valid "
            f"{certs.not_before.strftime(stamp)} to {certs.not_after.strftime(stamp)}):",
            *(f"  {name:<{width}}  {what}" for name, what in rows),
            "copy each machine its own .crt and .key (keys stay mode 0600) and the CA's .crt",
        ]
    )
