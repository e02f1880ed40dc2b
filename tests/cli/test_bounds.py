"""Ids, limits and paths are checked before anything runs: one line, exit 2, nothing created."""

from __future__ import annotations

import argparse

import pytest
from storage.factories import patched_main, populate

from cnnpc.cli._common import (
    INT64_MAX,
    accuracy_floor,
    bounded_float,
    bounded_int,
    positive_int,
    seed_int,
)
from cnnpc.storage import Storage

BIG = str(2**63)
STORE = ["--storage", "sqlite:///r.db"]


@pytest.fixture
def main(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CNNPC_STORAGE", raising=False)
    with Storage(f"sqlite:///{tmp_path / 'r.db'}") as storage:
        populate(storage)
    return patched_main(monkeypatch)


def test_one_integer_validator_bounds_both_ends():
    assert positive_int(str(INT64_MAX)) == INT64_MAX
    assert seed_int("4294967295") == 2**32 - 1
    for convert, text, message in [
        (positive_int, BIG, f"must be <= {INT64_MAX}, got '{BIG}'"),
        (positive_int, "0", "must be >= 1, got '0'"),
        (seed_int, str(2**32), "must be <= 4294967295"),
        (bounded_int(0, 65535), "1.5", "'1.5' is not a whole number"),
        (positive_int, "9" * 5000, "is not a whole number"),  # beyond int()'s digit limit
    ]:
        with pytest.raises(argparse.ArgumentTypeError, match=message):
            convert(text)


def test_one_float_validator_bounds_both_ends():
    assert accuracy_floor("1") == 1.0 and accuracy_floor("1e-9") == 1e-9
    assert bounded_float(0.0, 1.0, open_high=True)("0") == 0.0
    for convert, text, message in [
        (accuracy_floor, "0", r"must be in \(0, 1\], got '0'"),
        (accuracy_floor, "1.0001", r"must be in \(0, 1\]"),
        (accuracy_floor, "inf", r"must be in \(0, 1\]"),
        (bounded_float(0.0, 1.0, open_high=True), "1", r"must be in \[0, 1\), got '1'"),
        (bounded_float(-1.0, 1.0), "nan", r"must be in \[-1, 1\]"),
        (bounded_float(0.0, 1.0), "half", "'half' is not a number"),
    ]:
        with pytest.raises(argparse.ArgumentTypeError, match=message):
            convert(text)


@pytest.mark.parametrize(
    "argv",
    [
        ["trials", BIG, *STORE],
        ["trials", f"cnnpc-{BIG}", *STORE],
        ["trials", "1", "--limit", "9" * 30, *STORE],
        ["show", BIG, *STORE],
        ["export", BIG, "--json", "p.json", *STORE],
        ["export", "1", BIG, "--xlsx", "x.xlsx", *STORE],
        ["upload-plan", "--model", "mobilenet", "--device", "MI8", "--search", BIG, *STORE],
        ["deploy", BIG, "--out", "p", *STORE],
        ["validate", BIG, *STORE],
        ["search", "--model", "mobilenet", "--device", "MI8", "--acc-floor", "0.9", "--seed", BIG],
        ["compress", "--model", "mobilenet", "--seed", "-1"],
        ["compress", "--model", "mobilenet", "--keep", "block1=1", "--epochs", "1000000000000"],
        ["compress", "--model", "mobilenet", "--keep", "block1=1", "--steps", "10000001"],
        ["compress", "--model", "mobilenet", "--keep", "block1=1", "--image-size", "1025"],
        ["serve", "--role", "edge", "--plan", "p", "--port", "65536"],
    ],
)
def test_out_of_range_numbers_are_one_line(main, tmp_path, capsys, argv):
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "must be" in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == before


@pytest.mark.parametrize(
    "argv",
    [
        ["search", "--bandwidth", "10", "--acc-floor", "0.9", "--data", "/missing"],
        ["search", "--bandwidth", "10", "--acc-floor", "0.9", "--weights", "/missing.h5"],
        ["sweep", "--acc-floor", "0.9", "--bandwidth", "1,2", "--data", "/missing"],
        ["sweep", "--acc-floor", "0.9", "--bandwidth", "1,2", "--xlsx", "no/dir/s.xlsx"],
    ],
)
def test_bad_input_creates_no_database(monkeypatch, tmp_path, capsys, argv):
    from cnnpc.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CNNPC_STORAGE", raising=False)
    assert main([argv[0], "--model", "mobilenet", "--device", "MI8", *argv[1:]]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and ("/missing" in err or "no/dir" in err)
    assert list(tmp_path.iterdir()) == []  # no results/cnnpc.db


@pytest.mark.parametrize("kind", ["fifo", "file", "dangling link"])
def test_compress_refuses_a_cache_that_is_no_folder_before_training(
    monkeypatch, tmp_path, capsys, kind
):
    """The baseline trained for minutes and only then failed to write into such a --cache-dir."""
    import os

    from cnnpc.cli import main

    monkeypatch.chdir(tmp_path)
    cache = tmp_path / "cache"
    if kind == "fifo":
        os.mkfifo(cache)
    elif kind == "file":
        cache.write_text("x")
    else:
        cache.symlink_to(tmp_path / "nothing")
    before = sorted(p.name for p in tmp_path.iterdir())
    argv = ["compress", "--model", "mobilenet", "--keep", "block1=1", "--cache-dir", str(cache)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a folder" in err and str(cache) in err
    assert sorted(p.name for p in tmp_path.iterdir()) == before
