"""TLS between tiers: real gRPC handshakes against the standard health service with the
credentials the runtime builds from --tls-* files, every refusal the issue lists, the checks
that refuse bad files at start, and the address policy (check_local, transport_policy).

No TensorFlow. Every call has a short deadline: a test fails, it never hangs.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import shutil
import subprocess
import sys
import textwrap
from concurrent import futures
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from cnnpc.certs import CertError, make_certs
from cnnpc.errors import CnnpcError, InputError
from cnnpc.runtime import (
    TlsFiles,
    Transport,
    add_port,
    channel_credentials,
    check_local,
    is_loopback,
    server_credentials,
    split_address,
    transport_policy,
)

DEADLINE_S = 5.0
WHO = "/cnnpc.test.Who/Peer"


def open_channel(target, transport):
    """A health-check channel, TLS or plaintext as `transport` says (as the runtime dials)."""
    if transport.tls is not None:
        return grpc.secure_channel(target, channel_credentials(transport.tls))
    return grpc.insecure_channel(target)


def _peer(request: bytes, context: grpc.ServicerContext) -> bytes:
    """The client certificate's names as the server saw them after the handshake."""
    return b",".join(context.peer_identities() or [])


def _serve(credentials: grpc.ServerCredentials | None, host: str = "127.0.0.1"):
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    servicer = health.HealthServicer()
    servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    who = grpc.unary_unary_rpc_method_handler(_peer)
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler("cnnpc.test.Who", {"Peer": who}),)
    )
    if credentials is None:
        port = server.add_insecure_port(f"{host}:0")
    else:
        port = server.add_secure_port(f"{host}:0", credentials)
    server.start()
    return server, port


def _check(channel: grpc.Channel) -> int:
    with channel:
        stub = health_pb2_grpc.HealthStub(channel)
        return stub.Check(health_pb2.HealthCheckRequest(), timeout=DEADLINE_S).status


def _refused(channel: grpc.Channel) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as failure:
        _check(channel)
    return failure.value


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    root = tmp_path_factory.mktemp("tls")
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=10)
    return {
        "good": make_certs(root / "good", {"local": "127.0.0.1", "elsewhere": "127.0.0.2"}),
        "other": make_certs(root / "other", {"local": "127.0.0.1"}),
        "expired": make_certs(root / "expired", {"local": "127.0.0.1"}, days=1, valid_from=past),
    }


def _server_files(certs, name: str = "local") -> TlsFiles:
    return TlsFiles(certs.server(name).cert, certs.server(name).key, certs.ca_cert)


def _client_files(certs, ca: Path | None = None) -> TlsFiles:
    return TlsFiles(certs.client.cert, certs.client.key, ca or certs.ca_cert)


@pytest.fixture(scope="module")
def mutual(pki):
    """One mutual-TLS server for the whole module: it must outlive every refusal."""
    server, port = _serve(server_credentials(_server_files(pki["good"])))
    yield port
    server.stop(grace=None)


def _good(pki, port: int) -> int:
    creds = channel_credentials(_client_files(pki["good"]))
    return _check(grpc.secure_channel(f"127.0.0.1:{port}", creds))


def test_mutual_tls_call_succeeds_and_the_server_sees_the_client(pki, mutual):
    assert _good(pki, mutual) == health_pb2.HealthCheckResponse.SERVING
    creds = channel_credentials(_client_files(pki["good"]))
    with grpc.secure_channel(f"127.0.0.1:{mutual}", creds) as channel:
        peer = channel.unary_unary(WHO)(b"", timeout=DEADLINE_S)
    assert peer == b"client"


def test_a_server_identity_is_a_client_too(pki, mutual):
    """The edge dials the cloud with its own certificate (serverAuth and clientAuth)."""
    edge = pki["good"].server("elsewhere")
    creds = channel_credentials(TlsFiles(edge.cert, edge.key, pki["good"].ca_cert))
    with grpc.secure_channel(f"127.0.0.1:{mutual}", creds) as channel:
        assert channel.unary_unary(WHO)(b"", timeout=DEADLINE_S) == b"127.0.0.2,elsewhere"


def test_mutual_tls_over_ipv6(tmp_path):
    try:
        check_local("::1")
    except InputError as exc:
        print(f"\nSKIP IPv6 TLS test: {exc}")
        pytest.skip(str(exc))
    certs = make_certs(tmp_path / "v6", {"local": "::1"})
    server, port = _serve(server_credentials(_server_files(certs)), host="[::1]")
    try:
        creds = channel_credentials(_client_files(certs))
        assert _check(grpc.secure_channel(f"[::1]:{port}", creds)) == 1
    finally:
        server.stop(grace=None)


def test_the_helpers_listen_and_dial_as_the_transport_says(pki):
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    health_pb2_grpc.add_HealthServicer_to_server(health.HealthServicer(), server)
    port = add_port(server, "127.0.0.1", 0, Transport(_server_files(pki["good"])))
    server.start()
    try:
        tls = Transport(_client_files(pki["good"]))
        assert _check(open_channel(f"127.0.0.1:{port}", tls)) == 1
        assert _refused(open_channel(f"127.0.0.1:{port}", Transport(None))).code() == (
            grpc.StatusCode.UNAVAILABLE
        )
        with pytest.raises(InputError, match=r"cannot listen on 127\.0\.0\.1:\d+: in use"):
            taken = grpc.server(futures.ThreadPoolExecutor(1), options=[("grpc.so_reuseport", 0)])
            add_port(taken, "127.0.0.1", port, Transport(None))
        with pytest.raises(InputError, match=r"cannot listen on \[2001:db8::7\]:0"):
            add_port(grpc.server(futures.ThreadPoolExecutor(1)), "2001:db8::7", 0, Transport(None))
    finally:
        server.stop(grace=None)


def test_a_client_without_certificate_is_refused(pki, mutual):
    creds = channel_credentials(TlsFiles(ca=pki["good"].ca_cert))
    error = _refused(grpc.secure_channel(f"127.0.0.1:{mutual}", creds))
    assert error.code() == grpc.StatusCode.UNAVAILABLE
    assert _good(pki, mutual) == health_pb2.HealthCheckResponse.SERVING


def test_a_client_certificate_from_another_ca_is_refused(pki, mutual):
    creds = channel_credentials(_client_files(pki["other"], ca=pki["good"].ca_cert))
    error = _refused(grpc.secure_channel(f"127.0.0.1:{mutual}", creds))
    assert error.code() == grpc.StatusCode.UNAVAILABLE
    assert _good(pki, mutual) == health_pb2.HealthCheckResponse.SERVING


def test_plaintext_to_a_tls_server_is_refused(pki, mutual):
    error = _refused(grpc.insecure_channel(f"127.0.0.1:{mutual}"))
    assert error.code() == grpc.StatusCode.UNAVAILABLE
    assert _good(pki, mutual) == health_pb2.HealthCheckResponse.SERVING


def test_a_client_trusting_another_ca_refuses_the_server(pki, mutual):
    creds = channel_credentials(_client_files(pki["good"], ca=pki["other"].ca_cert))
    error = _refused(grpc.secure_channel(f"127.0.0.1:{mutual}", creds))
    assert error.code() == grpc.StatusCode.UNAVAILABLE
    assert _good(pki, mutual) == health_pb2.HealthCheckResponse.SERVING


def test_a_server_certificate_for_another_address_is_refused(pki):
    """The 'elsewhere' certificate names 127.0.0.2; served on 127.0.0.1 and dialled there."""
    server, port = _serve(server_credentials(_server_files(pki["good"], "elsewhere")))
    try:
        creds = channel_credentials(_client_files(pki["good"]))
        error = _refused(grpc.secure_channel(f"127.0.0.1:{port}", creds))
        assert error.code() == grpc.StatusCode.UNAVAILABLE
        assert "Hostname Verification" in (error.details() or "")
        # the same server and client are fine once the client expects the certificate's name
        option = (("grpc.ssl_target_name_override", "elsewhere"),)
        channel = grpc.secure_channel(f"127.0.0.1:{port}", creds, options=option)
        assert _check(channel) == health_pb2.HealthCheckResponse.SERVING
    finally:
        server.stop(grace=None)


def _raw_pair(identity) -> tuple[bytes, bytes]:
    return identity.key.read_bytes(), identity.cert.read_bytes()


def test_an_expired_client_certificate_is_refused_at_the_handshake(pki, mutual):
    """The expired set's CA is trusted too, so expiry is the only fault (made past our own
    check, which would refuse the files at start)."""
    good, expired = pki["good"], pki["expired"]
    roots = good.ca_cert.read_bytes() + expired.ca_cert.read_bytes()
    credentials = grpc.ssl_server_credentials(
        [_raw_pair(good.server("local"))], root_certificates=roots, require_client_auth=True
    )
    server, port = _serve(credentials)
    try:
        key, cert = _raw_pair(expired.client)
        creds = grpc.ssl_channel_credentials(good.ca_cert.read_bytes(), key, cert)
        error = _refused(grpc.secure_channel(f"127.0.0.1:{port}", creds))
        assert error.code() == grpc.StatusCode.UNAVAILABLE
        assert _good(pki, port) == health_pb2.HealthCheckResponse.SERVING
    finally:
        server.stop(grace=None)


def test_an_expired_server_certificate_is_refused_at_the_handshake(pki):
    good, expired = pki["good"], pki["expired"]
    credentials = grpc.ssl_server_credentials(
        [_raw_pair(expired.server("local"))],
        root_certificates=good.ca_cert.read_bytes(),
        require_client_auth=True,
    )
    server, port = _serve(credentials)
    try:
        key, cert = _raw_pair(good.client)
        creds = grpc.ssl_channel_credentials(expired.ca_cert.read_bytes(), key, cert)
        error = _refused(grpc.secure_channel(f"127.0.0.1:{port}", creds))
        assert error.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        server.stop(grace=None)


def test_expired_files_are_refused_at_start_with_their_dates(pki):
    expired = pki["expired"]
    with pytest.raises(CertError, match=r"--tls-cert .*local\.crt: certificate expired \(valid"):
        server_credentials(_server_files(expired))
    with pytest.raises(CertError, match=r"--tls-ca .*ca\.crt: certificate expired"):
        channel_credentials(TlsFiles(ca=expired.ca_cert))
    with pytest.raises(CertError, match="certificate expired"):
        channel_credentials(_client_files(expired, ca=pki["good"].ca_cert))
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=3650)
    with pytest.raises(CertError, match="certificate expired"):
        server_credentials(_server_files(pki["good"]), now=later)
    with pytest.raises(CertError, match="not valid yet"):
        server_credentials(_server_files(pki["good"]), now=later - dt.timedelta(days=7300))


def test_a_key_others_may_read_is_refused(pki, tmp_path):
    identity = pki["good"].server("local")
    key = tmp_path / "open.key"
    shutil.copyfile(identity.key, key)
    key.chmod(0o644)
    message = rf"--tls-key {key}: group or others may read it \(mode 0644\); refused: run"
    with pytest.raises(CertError, match=message):
        server_credentials(TlsFiles(identity.cert, key))
    client = tmp_path / "client.key"
    shutil.copyfile(pki["good"].client.key, client)
    client.chmod(0o640)
    with pytest.raises(CertError, match="mode 0640"):
        channel_credentials(TlsFiles(pki["good"].client.cert, client, pki["good"].ca_cert))


def test_bad_files_are_one_line_naming_them(pki, tmp_path):
    good = pki["good"]
    local = good.server("local")
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    garbage.chmod(0o600)
    cases = [
        (TlsFiles(tmp_path / "none.crt", local.key), "none.crt: file not found"),
        (TlsFiles(garbage, local.key), "garbage.pem: no PEM certificate"),
        (TlsFiles(local.cert, garbage), "garbage.pem: no PEM private key"),
        (TlsFiles(local.cert, local.key, garbage), "--tls-ca .*garbage.pem: no PEM"),
        (TlsFiles(local.cert, good.client.key), "is not the certificate of key"),
        (TlsFiles(good.client.cert, good.client.key), "is for a client, not a server"),
        (TlsFiles(local.cert, tmp_path), "a directory, not a regular file"),
    ]
    for files, message in cases:
        with pytest.raises(CnnpcError, match=message):
            server_credentials(files)
    with pytest.raises(InputError, match="a TLS server needs --tls-cert and --tls-key"):
        server_credentials(TlsFiles(ca=good.ca_cert))
    with pytest.raises(InputError, match="go together"):
        TlsFiles(cert=local.cert)


def test_transport_policy_requires_tls_off_loopback():
    files = TlsFiles(ca=Path("ca.crt"))
    for host in ("127.0.0.1", "127.5.0.1", "::1", "[::1]", "localhost"):
        assert is_loopback(host)
        assert transport_policy(host, None, insecure=False) == Transport(None)
        assert transport_policy(host, TlsFiles(), insecure=False) == Transport(None)
        assert transport_policy(host, files, insecure=False) == Transport(files)
    for host in ("10.0.0.2", "0.0.0.0", "::", "fd00::2", "edge.example.org"):
        assert not is_loopback(host)
        with pytest.raises(InputError, match="is not loopback, so TLS is required"):
            transport_policy(host, None, insecure=False)
        plain = transport_policy(host, None, insecure=True)
        assert not plain.secure
        assert plain.warning is not None and plain.warning.startswith(
            f"warning: plaintext on {host}"
        )
        assert transport_policy(host, files, insecure=False).secure
    with pytest.raises(InputError, match="contradict"):
        transport_policy("10.0.0.2", files, insecure=True)


def test_check_local_takes_this_machines_addresses_only():
    assert check_local("127.0.0.1") == "127.0.0.1"
    assert check_local("localhost") == "127.0.0.1"
    assert check_local("0.0.0.0") == "0.0.0.0"
    assert check_local("[::1]") == "::1"
    for host in ("192.0.2.7", "203.0.113.9", "2001:db8::7"):  # documentation ranges
        with pytest.raises(InputError, match=r"is not an address of this machine"):
            check_local(host)


def test_split_address_checks_the_port_only():
    assert split_address("10.0.0.2:50051") == ("10.0.0.2", 50051)
    assert split_address("[fd00::2]:8443") == ("fd00::2", 8443)
    for text, message in (
        ("10.0.0.2", "expected HOST:PORT"),
        (":80", "expected"),
        ("h:0", "1..65535"),
        ("h:x", "must be a number"),
    ):
        with pytest.raises(InputError, match=message):
            split_address(text)


_IN_NAMESPACE = textwrap.dedent(
    """
    import json, sys
    from concurrent import futures
    from pathlib import Path
    import grpc
    from grpc_health.v1 import health, health_pb2, health_pb2_grpc
    from cnnpc.errors import InputError
    from cnnpc.runtime import TlsFiles, add_port, channel_credentials, check_local, transport_policy

    folder, host = Path(sys.argv[1]), sys.argv[2]
    out = {"local": check_local(host)}
    try:
        transport_policy(host, None, insecure=False)
    except InputError as exc:
        out["plaintext"] = str(exc)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    health_pb2_grpc.add_HealthServicer_to_server(health.HealthServicer(), server)
    files = TlsFiles(folder / "edge.crt", folder / "edge.key", folder / "ca.crt")
    port = add_port(server, host, 0, transport_policy(host, files, insecure=False))
    server.start()
    client = TlsFiles(folder / "client.crt", folder / "client.key", folder / "ca.crt")
    request = health_pb2.HealthCheckRequest()
    credentials = channel_credentials(transport_policy(host, client, False).tls)
    with grpc.secure_channel(f"{host}:{port}", credentials) as channel:
        out["status"] = health_pb2_grpc.HealthStub(channel).Check(request, timeout=5).status
    try:
        with grpc.insecure_channel(f"{host}:{port}") as channel:
            health_pb2_grpc.HealthStub(channel).Check(request, timeout=5)
    except grpc.RpcError as exc:
        out["insecure"] = exc.code().name
    server.stop(grace=None)
    print(json.dumps(out))
    """
)


def test_mutual_tls_on_a_namespace_address_of_its_own(tmp_path):
    """A server on an address only a network namespace holds (not loopback): check_local takes
    it there and refuses it here, and mutual TLS works on it."""
    from cnnpc.validate import netns_unavailable_reason

    reason = netns_unavailable_reason()
    if reason is not None:
        print(f"\nSKIP namespace TLS test: {reason}")
        pytest.skip(reason)
    host = "10.231.77.1"
    certs = make_certs(tmp_path / "certs", {"edge": host})
    namespace = f"cnnpctls-{os.getpid()}-{secrets.token_hex(3)}"
    subprocess.run(["ip", "netns", "add", namespace], check=True, timeout=30)
    try:
        for argv in (["link", "set", "lo", "up"], ["addr", "add", f"{host}/32", "dev", "lo"]):
            subprocess.run(["ip", "-n", namespace, *argv], check=True, timeout=30)
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
        done = subprocess.run(
            [
                "ip",
                "netns",
                "exec",
                namespace,
                sys.executable,
                "-c",
                _IN_NAMESPACE,
                str(certs.folder),
                host,
            ],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
            check=False,
        )
    finally:
        subprocess.run(["ip", "netns", "delete", namespace], check=False, timeout=30)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["local"] == host and result["status"] == health_pb2.HealthCheckResponse.SERVING
    assert "TLS is required" in result["plaintext"] and result["insecure"] == "UNAVAILABLE"
    with pytest.raises(InputError, match="is not an address of this machine"):
        check_local(host)
