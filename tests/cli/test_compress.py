"""`cnnpc compress`: before/after report, JSON shape, cache reuse, one-line errors (exit 2)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from cnnpc.cli import main


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    """Never read or write the user's real cache (baselines, results) from these tests."""
    monkeypatch.setenv("CNNPC_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "default-cache"))


def _fails(argv, capsys, match):
    """The command exits 2 with a single line on stderr containing `match`."""
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse errors
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    assert match in err
    return err


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["--model", "vgg", "--keep", "block3=0.5"], "unknown model 'vgg'"),
        (["--model", "mobilenet", "--keep", "block99=0.5"], "unknown candidate 'block99'"),
        (["--model", "mobilenet", "--keep", "block3=0"], "keep fraction must be in (0, 1]"),
        (["--model", "mobilenet", "--keep", "block3=1.5"], "keep fraction must be in (0, 1]"),
        (["--model", "mobilenet", "--keep", "block3"], "expected NAME=FRACTION"),
        (["--model", "resnet", "--keep", "block1=0.5,block6=0.25"], "share a channel group"),
        (["--model", "mobilenet", "--keep", "block3=0.5", "--epochs", "0"], "--epochs"),
        (["--model", "mobilenet", "--keep", "block3=0.5", "--sparsity", "1"], "--sparsity"),
        (["--model", "mobilenet", "--keep", "block3=0.5", "--data", "/no/such"], "no such folder"),
        (["--model", "mobilenet", "--keep", "block3=0.5", "--weights", "/no/x.h5"], "no such file"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, argv, match):
    _fails(["compress", *argv], capsys, match)


def test_parsing_and_help_do_not_import_tensorflow():
    code = (
        "import sys\n"
        "from cnnpc.cli import main\n"
        "try:\n"
        "    main(['compress', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "main(['compress', '--model', 'mobilenet', '--keep', 'nope=0.5'])\n"
        "assert 'tensorflow' not in sys.modules, 'tensorflow was imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "--keep NAME=FRACTION" in done.stdout
    assert "unknown candidate 'nope'" in done.stderr


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    """A (randomly initialised) mobilenet for 32x32 digits, as a user's --weights file."""
    from cnnpc._keras import keras
    from cnnpc.models import build_model

    keras.utils.set_random_seed(0)
    path = tmp_path_factory.mktemp("weights") / "mobilenet32.keras"
    build_model("mobilenet", 10, 32).save(path)
    return path


def test_compress_json_then_cached_text(saved_model, tmp_path, capsys):
    argv = [
        "compress",
        "--model",
        "mobilenet",
        "--keep",
        "block3=0.5,block6=0.25",
        "--weights",
        str(saved_model),
        "--epochs",
        "1",
        "--steps",
        "2",
        "--cache-dir",
        str(tmp_path),
    ]
    assert main([*argv, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["accuracy_split"] == "test" and report["train_input_size"] == 32
    assert not report["from_cache"] and report["finetune_seconds"] > 0
    before, after = report["baseline"], report["pruned"]
    for side in (before, after):
        assert set(side) >= {"accuracy", "params", "flops", "candidates"}
        assert 0.0 <= side["accuracy"] <= 1.0
    channels = {c["name"]: c["channels"] for c in after["candidates"]}
    assert channels == {"conv1": 32, "block1": 16, "block3": 12, "block6": 8, "block10": 64} | {
        "block13": 96,
        "block16": 160,
    }
    sizes = {c["name"]: c["bytes"] for c in after["candidates"]}
    assert sizes["block3"] == 56 * 56 * 12 and sizes["block6"] == 28 * 28 * 8
    assert {c["name"]: c["bytes"] for c in before["candidates"]}["block3"] == 56 * 56 * 24
    assert after["params"] < before["params"] and after["flops"] < before["flops"]

    assert main(argv) == 0  # the same configuration again: no second fine-tune
    text = capsys.readouterr().out
    assert "(fine-tune result from the cache)" in text
    assert "test split" in text and "block3" in text
    row = next(line for line in text.splitlines() if line.startswith("block6"))
    assert row.split() == ["block6", "32", "8", "25088", "6272"]
    accuracy_row = next(line for line in text.splitlines() if line.startswith("accuracy, test"))
    assert np.isclose(float(accuracy_row.split()[-1]), 100 * after["accuracy"], atol=0.01)


def test_weights_of_the_wrong_architecture_exit_2(tmp_path, capsys):
    from cnnpc.models import build_model

    path = tmp_path / "resnet.keras"
    build_model("resnet", 10, 32).save(path)
    argv = ["compress", "--model", "mobilenet", "--keep", "block3=0.5", "--weights", str(path)]
    _fails(argv, capsys, "wrong architecture for mobilenet")


def test_empty_data_folder_exit_2(tmp_path, capsys):
    argv = ["compress", "--model", "mobilenet", "--keep", "block3=0.5", "--data", str(tmp_path)]
    _fails(argv, capsys, "found 0 with images")
