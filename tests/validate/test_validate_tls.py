"""validate --tls-*: every tier on loopback over (mutual) TLS, calibrated apart from plaintext."""

from __future__ import annotations

import grpc
import pytest
from test_validate import FakeCostModel

from cnnpc.certs import make_certs
from cnnpc.cli import main
from cnnpc.errors import CnnpcError, InputError
from cnnpc.runtime import TlsFiles
from cnnpc.validate import MUTUAL_TLS, validate, validation_text


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return make_certs(tmp_path_factory.mktemp("certs") / "c", {"edge": "127.0.0.1"})


def _spy(monkeypatch, name):
    calls = []
    real = getattr(grpc, name)

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(grpc, name, spy)
    return calls


@pytest.mark.slow
def test_every_call_runs_over_mutual_tls_and_calibrates_apart(
    three_tier, certs, tmp_path, monkeypatch
):
    servers = _spy(monkeypatch, "ssl_server_credentials")
    channels = _spy(monkeypatch, "ssl_channel_credentials")
    cost = FakeCostModel()
    cost.folder = tmp_path
    edge = certs.server("edge")
    tls = TlsFiles(edge.cert, edge.key, certs.ca_cert)
    report = validate(
        7,
        requests=4,
        plan_dir=three_tier.folder,
        cost_model=cost,
        calibrate=True,
        rounds=1,
        tls=tls,
    )
    assert report.transport == MUTUAL_TLS and report.as_dict()["transport"] == MUTUAL_TLS
    assert "; mutual TLS): median |error|" in validation_text(report)
    # the edge and the cloud serve with client certificates required; the end device and the
    # edge (to the cloud) dial with the certificate (and the checks before deploying did too)
    assert sum(bool(c.get("require_client_auth")) for c in servers) >= 2
    assert sum(c.get("certificate_chain") is not None for c in channels) >= 2
    assert (tmp_path / "host_tls_calibration.json").is_file()
    assert not (tmp_path / "host_calibration.json").exists()  # planners' stays plaintext's
    second = validate(7, requests=2, plan_dir=three_tier.folder, cost_model=cost, tls=tls)
    assert second.calibration == report.fitted


def test_bad_tls_options_are_refused_before_anything_runs(certs, tmp_path):
    with pytest.raises(InputError, match="--tls-ca needs --tls-cert and --tls-key"):
        validate(7, plan_dir=tmp_path, cost_model=FakeCostModel(), tls=TlsFiles(ca=certs.ca_cert))
    edge = certs.server("edge")
    both = TlsFiles(edge.cert, edge.key, certs.ca_cert)
    with pytest.raises(InputError, match="drop --tls-"):
        validate(7, plan_dir=tmp_path, cost_model=FakeCostModel(), netns=True, tls=both)
    client = TlsFiles(certs.client.cert, certs.client.key, certs.ca_cert)
    with pytest.raises(CnnpcError, match="is for a client, not a server"):
        validate(7, plan_dir=tmp_path, cost_model=FakeCostModel(), tls=client)


def test_the_cli_takes_the_three_options(certs, capsys):
    assert main(["validate", "1", "--tls-ca", str(certs.ca_cert)]) == 2
    err = capsys.readouterr().err.strip()
    assert "--tls-ca needs --tls-cert and --tls-key" in err and "\n" not in err
    assert main(["validate", "1", "--tls-cert", str(certs.ca_cert)]) == 2
    assert "go together" in capsys.readouterr().err
