"""cnnpc certs: the CA, the servers' and end device's files, their names and usages, modes,
and the refusals (bad --hosts, existing files, unwritable places, half-written folders)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import verification
from cryptography.x509.oid import ExtendedKeyUsageOID

from cnnpc._files import WriteError
from cnnpc.certs import (
    CertError,
    check_dates,
    check_pair,
    make_certs,
    parse_hosts,
    read_certificates,
    read_private_key,
)
from cnnpc.certs import _write as write_module
from cnnpc.cli import main
from cnnpc.errors import InputError

FILES = {"ca.crt", "ca.key", "edge.crt", "edge.key", "cloud.crt", "cloud.key"}
FILES |= {"client.crt", "client.key"}


def _cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def _sans(cert: x509.Certificate) -> list[x509.GeneralName]:
    return list(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)


def _usages(cert: x509.Certificate) -> set[x509.ObjectIdentifier]:
    return set(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    out = tmp_path_factory.mktemp("certs") / "deploy"
    return make_certs(out, parse_hosts("edge=10.0.0.2,cloud=cloud.example.org,edge=fd00::2"))


def test_the_files_are_written_with_keys_private(made):
    assert {p.name for p in made.folder.iterdir()} == FILES
    assert set(made.files()) == {made.folder / n for n in FILES}
    for path in made.files():
        mode = stat.S_IMODE(path.stat().st_mode)
        if path.suffix == ".key":
            assert mode == 0o600, path
        else:
            assert mode & 0o022 == 0, path


def test_the_ca_signs_and_only_signs(made):
    ca = _cert(made.ca_cert)
    assert ca.issuer == ca.subject
    constraints = ca.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca and constraints.value.path_length == 0
    assert ca.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign
    key = serialization.load_pem_private_key(made.ca_key.read_bytes(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1"


def test_servers_hold_their_addresses_and_verify_against_the_ca(made):
    store = verification.Store([_cert(made.ca_cert)])
    edge, cloud = made.server("edge"), made.server("cloud")
    assert edge.addresses == ("10.0.0.2", "fd00::2") and cloud.addresses == ("cloud.example.org",)
    edge_cert, cloud_cert = _cert(edge.cert), _cert(cloud.cert)
    assert _sans(edge_cert) == [
        x509.IPAddress(ipaddress.ip_address("10.0.0.2")),
        x509.IPAddress(ipaddress.ip_address("fd00::2")),
        x509.DNSName("edge"),
    ]
    assert _sans(cloud_cert) == [x509.DNSName("cloud.example.org"), x509.DNSName("cloud")]
    for cert, subject in (
        (edge_cert, verification.IPAddress(ipaddress.ip_address("10.0.0.2"))),
        (edge_cert, verification.IPAddress(ipaddress.ip_address("fd00::2"))),
        (cloud_cert, verification.DNSName("cloud.example.org")),
    ):
        verifier = verification.PolicyBuilder().store(store).build_server_verifier(subject)
        verifier.verify(cert, [])
    wrong = verification.IPAddress(ipaddress.ip_address("10.0.0.3"))
    with pytest.raises(verification.VerificationError):
        verification.PolicyBuilder().store(store).build_server_verifier(wrong).verify(edge_cert, [])
    both = {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
    assert _usages(edge_cert) == both and _usages(cloud_cert) == both


def test_the_end_device_is_a_client_only(made):
    cert = _cert(made.client.cert)
    assert _usages(cert) == {ExtendedKeyUsageOID.CLIENT_AUTH}
    store = verification.Store([_cert(made.ca_cert)])
    verification.PolicyBuilder().store(store).build_client_verifier().verify(cert, [])
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_every_key_matches_its_certificate(made):
    for identity in (*made.servers, made.client):
        _, key = read_private_key(identity.key)
        _, chain = read_certificates(identity.cert)
        check_pair(chain[0], identity.cert, key, identity.key)
    _, other = read_private_key(made.client.key)
    with pytest.raises(CertError, match="is not the certificate of key"):
        check_pair(_cert(made.server("edge").cert), made.server("edge").cert, other, Path("k"))


def test_validity_is_the_days_asked_from_the_start_asked(tmp_path):
    start = dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    made = make_certs(tmp_path / "c", {"edge": "127.0.0.1"}, days=3, valid_from=start)
    for path in (made.ca_cert, made.server("edge").cert, made.client.cert):
        cert = _cert(path)
        assert cert.not_valid_before_utc == start
        assert cert.not_valid_after_utc == start + dt.timedelta(days=3)
    with pytest.raises(CertError, match=r"not valid yet \(valid 2030-01-02 03:04 UTC"):
        check_dates(_cert(made.client.cert), "client.crt")
    with pytest.raises(CertError, match="expired"):
        check_dates(_cert(made.client.cert), "x", now=start + dt.timedelta(days=4))


def test_keys_are_0600_whatever_the_umask(tmp_path):
    old = os.umask(0)
    try:
        made = make_certs(tmp_path / "c", {"edge": "127.0.0.1"})
    finally:
        os.umask(old)
    assert stat.S_IMODE(made.client.key.stat().st_mode) == 0o600
    assert stat.S_IMODE(made.ca_key.stat().st_mode) == 0o600


def test_an_existing_file_is_never_replaced_and_nothing_is_added(tmp_path):
    out = tmp_path / "certs"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    (out / "edge.key").write_text("old key")
    with pytest.raises(WriteError, match=r"edge\.key already exists: cnnpc certs never replaces"):
        make_certs(out, {"edge": "10.0.0.2"})
    assert sorted(p.name for p in out.iterdir()) == ["edge.key", "notes.txt"]
    assert (out / "edge.key").read_text() == "old key"
    again = make_certs(out, {"cloud": "10.0.0.3"})  # free names in an existing folder: fine
    assert again.server("cloud").key.exists() and (out / "notes.txt").read_text() == "mine"
    with pytest.raises(WriteError, match=r"ca\.crt already exists"):
        make_certs(out, {"cloud": "10.0.0.3"})


def test_a_failure_midway_leaves_no_half_written_folder(tmp_path, monkeypatch):
    real = write_module._create
    calls = []

    def failing(path, data, private):
        calls.append(path.name)
        if len(calls) == 4:
            raise OSError(28, "No space left on device", str(path))
        real(path, data, private)

    monkeypatch.setattr(write_module, "_create", failing)
    with pytest.raises(WriteError, match="No space left on device"):
        make_certs(tmp_path / "new", {"edge": "10.0.0.2"})
    assert list(tmp_path.iterdir()) == []  # neither the folder nor its temporary twin
    existing = tmp_path / "existing"
    existing.mkdir()
    calls.clear()
    with pytest.raises(WriteError, match="No space left on device"):
        make_certs(existing, {"edge": "10.0.0.2"})
    assert list(existing.iterdir()) == []


def test_places_that_cannot_hold_the_files_are_one_line(tmp_path):
    file = tmp_path / "file"
    file.write_text("x")
    with pytest.raises(WriteError, match="not a folder"):
        make_certs(file, {"edge": "10.0.0.2"})
    with pytest.raises(WriteError, match="does not exist"):
        make_certs(tmp_path / "missing" / "certs", {"edge": "10.0.0.2"})
    if os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        with pytest.raises(WriteError, match="not writable"):
            make_certs(locked, {"edge": "10.0.0.2"})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "expected NAME=ADDR"),
        ("edge", "expected NAME=ADDR in --hosts"),
        ("edge=", "expected NAME=ADDR in --hosts"),
        ("=10.0.0.2", "expected NAME=ADDR in --hosts"),
        ("edge=10.0.0.2,", "expected NAME=ADDR"),
        ("Edge=10.0.0.2", "must start with a-z"),
        ("ca=10.0.0.2", "is taken"),
        ("client=10.0.0.2", "is taken"),
        ("../x=10.0.0.2", "must start with a-z"),
        ("edge=0.0.0.0", "wildcard"),
        ("edge=::", "wildcard"),
        ("edge=224.0.0.1", "multicast"),
        ("edge=10.0.0.2:50051", "no port"),
        ("edge=*.example.org", "no wildcard"),
        ("edge=10.0.0", "all digits"),
        ("edge=bad_name.org", "not an IP address or a DNS name"),
        ("edge=10.0.0.2,edge=10.0.0.2", "twice"),
    ],
)
def test_bad_hosts_are_one_line(text, message):
    with pytest.raises(InputError, match=message):
        parse_hosts(text)


def test_hosts_parse_names_addresses_and_replicas():
    hosts = parse_hosts(" edge = 10.0.0.2 ,cloud=Cloud.Example.org.,edge=[fd00::2]")
    assert hosts == {
        "edge": (ipaddress.ip_address("10.0.0.2"), ipaddress.ip_address("fd00::2")),
        "cloud": ("cloud.example.org",),
    }


@pytest.mark.parametrize("days", [0, -1, 36501, True, 1.5])
def test_days_out_of_range_are_refused(tmp_path, days):
    with pytest.raises(InputError, match="days must be"):
        make_certs(tmp_path / "c", {"edge": "10.0.0.2"}, days=days)
    assert not (tmp_path / "c").exists()


def test_a_start_without_time_zone_is_refused(tmp_path):
    with pytest.raises(InputError, match="time zone"):
        make_certs(tmp_path / "c", {"edge": "10.0.0.2"}, valid_from=dt.datetime(2030, 1, 1))


def test_the_command_writes_and_says_where_each_file_goes(tmp_path, capsys):
    out = tmp_path / "deploy"
    assert main(["certs", "--out", str(out), "--hosts", "edge=10.0.0.2,cloud=10.0.0.3"]) == 0
    text = capsys.readouterr().out
    assert text.startswith(f"wrote 8 files in {out} (valid ")
    assert "serve --tls-cert edge.crt --tls-key edge.key --tls-ca ca.crt" in text
    assert "infer --tls-cert client.crt --tls-key client.key --tls-ca ca.crt" in text
    assert {p.name for p in out.iterdir()} == FILES
    argv = ["certs", "--out", str(tmp_path / "j"), "--hosts", "edge=::1", "--days", "2", "--json"]
    assert main(argv) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["servers"]["edge"]["addresses"] == ["::1"]
    start = dt.datetime.fromisoformat(document["not_before"])
    assert dt.datetime.fromisoformat(document["not_after"]) - start == dt.timedelta(days=2)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--hosts", "edge"], "argument --hosts: expected NAME=ADDR"),
        (["--hosts", "edge=10.0.0.999"], "is not an IP address"),
        (["--hosts", "edge=10.0.0.2", "--days", "0"], "argument --days"),
        (["--hosts", "edge=10.0.0.2", "--out", "/proc/x"], "cannot"),
    ],
)
def test_the_command_refuses_in_one_line_with_exit_2(tmp_path, capsys, argv, message):
    if "--out" not in argv:
        argv = [*argv, "--out", str(tmp_path / "c")]
    with pytest.raises(SystemExit) as exit_info:
        code = main(["certs", *argv])
        raise SystemExit(code)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "c").exists()


def test_the_command_refuses_existing_files(tmp_path, capsys):
    argv = ["certs", "--out", str(tmp_path), "--hosts", "edge=10.0.0.2"]
    assert main(argv) == 0
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "ca.crt already exists" in err
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
