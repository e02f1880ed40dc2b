"""Model names are bounded by the file system's limit on a name, in bytes, less what the hidden
sibling folders add; a name no folder can have is an unknown model, never an OSError."""

from __future__ import annotations

import pytest

from cnnpc.catalog import SIBLING_BYTES, check_new_name, max_name_bytes
from cnnpc.cli._main import main
from cnnpc.errors import InputError


@pytest.fixture
def root(tmp_path, monkeypatch):
    models = tmp_path / "models"
    models.mkdir()  # an existing root: a long name reaches the file system
    monkeypatch.setenv("CNNPC_MODELS", str(models))
    monkeypatch.chdir(tmp_path)
    return models


def test_names_are_bounded_in_bytes_with_room_for_the_hidden_siblings(root):
    limit = max_name_bytes(root)
    assert limit == 255 - SIBLING_BYTES
    assert check_new_name("x" * limit) == root / ("x" * limit)
    assert check_new_name("é" * (limit // 2)) == root / ("é" * (limit // 2))
    for name in ("x" * (limit + 1), "é" * (limit // 2 + 1), "x" * 100_000):
        with pytest.raises(InputError, match=f"bytes: at most {limit}"):
            check_new_name(name)
    # the longest name's siblings fit: the hidden temporary folder and the remove trash
    (root / ("." + "x" * limit + ".abcdefgh.tmp")).mkdir()
    (root / (".rm-" + "x" * limit + "-4194304")).mkdir()


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["models", "show", "x" * 300], "unknown model"),
        (["models", "remove", "x" * 300], "no user model"),
        (["models", "add", "x" * 300, "--app", "MobileNetV2"], "300 bytes: at most 241"),
        (["models", "add", "é" * 128, "--app", "MobileNetV2"], "256 bytes: at most 241"),
        (["plan", "--model", "x" * 300, "--device", "MI8", "--bandwidth", "10"], "unknown model"),
    ],
)
def test_a_name_too_long_for_a_folder_is_one_line(root, capsys, argv, match):
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and match in err and "Traceback" not in err, err
    assert list(root.iterdir()) == []
