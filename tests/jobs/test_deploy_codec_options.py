"""deploy --bits/--entropy: checked before anything is built (one line each)."""

from __future__ import annotations

import sys

from cnnpc.cli._main import main
from cnnpc.codec import CodecChoice
from cnnpc.jobs import DeployJob


def test_the_codec_choice_becomes_the_deploy_options(tmp_path):
    job = DeployJob(search_id=1, out=tmp_path, bits=(4, 2), entropy="none")
    assert job.options.codecs == CodecChoice((4, 2), "none")
    assert DeployJob(search_id=1, out=tmp_path).options.codecs is None  # int8, as before
    assert DeployJob(search_id=1, out=tmp_path, entropy="none").options.codecs == CodecChoice()


def test_codecs_go_with_one_plan_and_plan_sets_not_uploads(tmp_path, capsys):
    out = str(tmp_path / "set")
    assert main(["deploy", "1", "--out", out, "--bits", "4", "--upload"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "do not go with --upload" in err, err
    job = DeployJob(search_id=1, out=tmp_path, bits=(8, 2), adaptive=True, bandwidth=(1.0, 5.0))
    assert job.options.codecs == CodecChoice((8, 2), "none")  # a plan set takes them
    argv = ["deploy", "1", "--out", out, "--bits", "8,2", "--adaptive", "--bandwidth", "1:5"]
    main([*argv, "--storage", f"sqlite:///{tmp_path / 'none.db'}"])
    err = capsys.readouterr().err
    assert "--bits" not in err and "--entropy" not in err, err  # past the options' checks


def test_a_coder_not_installed_is_refused_before_any_work(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "zstandard", None)
    assert main(["deploy", "1", "--out", str(tmp_path / "p"), "--entropy", "zstd"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and 'pip install "cnnpc[codec]"' in err, err
    assert not (tmp_path / "p").exists()
