"""`cnnpc profile import`: CNNPC's T_R.npy layout and CSV, validated, into a user profile."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np
import pytest

from cnnpc.cli import main
from cnnpc.profiles import PROFILES_ENV, load_profile
from cnnpc.profiling import import_profile


def _reference(reference_dir: Path, model: str, device: str) -> np.ndarray:
    with (reference_dir / f"{model}_T_R_{device}.csv").open() as f:
        rows = list(csv.DictReader(f))
    return np.array([[float(r[c]) for c in ("end_ms", "edge_ms", "cloud_ms")] for r in rows])


@pytest.fixture
def user_root(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "profiles"
    monkeypatch.setenv(PROFILES_ENV, str(root))
    return root


@pytest.mark.parametrize(("model", "device"), [("mobilenet", "MI8"), ("resnet", "MI8SE")])
def test_npy_round_trip_equals_reference(model, device, reference_dir, user_root, tmp_path, capsys):
    table = _reference(reference_dir, model, device)
    rct = tmp_path / "R-C-Time" / model / f"TR-{device}"
    rct.mkdir(parents=True)
    np.save(rct / "T_R.npy", table)
    name = f"their{device}"
    args = ["profile", "import", "--model", model, "--device", name, "--json"]
    assert main([*args, "--cnnpc-npy", str(tmp_path / "R-C-Time" / model / f"TR-{device}")]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["folder"] == str(user_root / model)
    profile = load_profile(model, name)
    got = np.array([[s.end_ms, s.edge_ms, s.cloud_ms] for s in profile.segments])
    np.testing.assert_allclose(got, table, rtol=1e-6)
    shipped = load_profile(model, device)
    assert profile.candidates == shipped.candidates
    assert [s.name for s in profile.segments] == [s.name for s in shipped.segments]
    assert profile.source_mbit_bits == shipped.source_mbit_bits
    # A second import into the same folder keeps the first one.
    assert main(["profile", "import", "--model", model, "--device", "copy", "--cnnpc-npy",
                 str(rct / "T_R.npy")]) == 0  # fmt: skip
    assert load_profile(model, name).segments == load_profile(model, "copy").segments


def test_csv_import_of_reference_table(reference_dir, user_root, capsys):
    src = reference_dir / "mobilenet_T_R_MI8SE.csv"
    report = import_profile("mobilenet", "phone", csv_path=src)
    assert report["totals"]["end_ms"] == pytest.approx(
        _reference(reference_dir, "mobilenet", "MI8SE")[:, 0].sum()
    )
    assert (
        main(["profile", "import", "--model", "mobilenet", "--device", "phone2", "--csv", str(src)])
        == 0
    )
    out = capsys.readouterr().out
    assert "imported" in out and "block16" in out
    assert main(["plan", "--model", "mobilenet", "--device", "phone", "--bandwidth", "10"]) == 0


def _write_csv(
    path: Path, rows: list[list[str]], header: str = "row,end_ms,edge_ms,cloud_ms"
) -> Path:
    path.write_text(header + "\n" + "\n".join(",".join(r) for r in rows) + "\n")
    return path


GOOD = [[str(i), "1.5", "0.5", "0.1"] for i in range(8)]


@pytest.mark.parametrize(
    ("rows", "header", "message"),
    [
        (GOOD[:7], None, "7 data rows, expected 8"),
        (
            [*GOOD[:3], ["3", "nan", "1", "1"], *GOOD[4:]],
            None,
            "row 3, column end_ms: must be a finite number > 0",
        ),
        ([*GOOD[:5], ["5", "1", "-1", "1"], *GOOD[6:]], None, "row 5, column edge_ms"),
        ([*GOOD[:2], ["2", "1", "1", "0"], *GOOD[3:]], None, "row 2, column cloud_ms"),
        ([*GOOD[:1], ["7", "1", "1", "1"], *GOOD[2:]], None, "row 1, column row: expected 1"),
        (GOOD, "row,end_ms,edge_ms", "missing column(s) cloud_ms"),
        ([*GOOD[:4], ["4", "1", "1", "1", "9"], *GOOD[5:]], None, "row 4: wrong number of fields"),
        (GOOD, "row,end_ms,edge_ms,end_ms", "header: column(s) end_ms given twice"),
    ],
)
def test_bad_csv_is_one_line_exit_2(rows, header, message, tmp_path, user_root, capsys):
    path = _write_csv(tmp_path / "t.csv", rows, header or "row,end_ms,edge_ms,cloud_ms")
    assert (
        main(["profile", "import", "--model", "mobilenet", "--device", "x", "--csv", str(path)])
        == 2
    )
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and str(path) in err
    assert not (user_root / "mobilenet" / "x.csv").exists()


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.ones((7, 3)), "shape (7, 3), expected (8, 3)"),
        (np.ones((8, 2)), "shape (8, 2), expected (8, 3)"),
        (np.array([[1.0, 1.0, np.inf]] * 8), "row 0, column cloud_ms"),
    ],
)
def test_bad_npy_is_one_line_exit_2(array, message, tmp_path, user_root, capsys):
    np.save(tmp_path / "T_R.npy", array)
    args = [
        "profile",
        "import",
        "--model",
        "mobilenet",
        "--device",
        "x",
        "--cnnpc-npy",
        str(tmp_path),
    ]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


def test_refusals(tmp_path, user_root, reference_dir, capsys):
    src = str(reference_dir / "mobilenet_T_R_MI8.csv")
    cases = [
        (["--device", "MI8", "--csv", src], "shipped with cnnpc"),
        (["--device", "../x", "--csv", src], "device name"),
        (["--device", "x", "--cnnpc-npy", str(tmp_path / "none")], "no T_R.npy found"),
    ]
    for extra, message in cases:
        assert main(["profile", "import", "--model", "mobilenet", *extra]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err, err


def test_both_sources_is_a_usage_error(tmp_path, reference_dir, capsys):
    src = str(reference_dir / "mobilenet_T_R_MI8.csv")
    args = ["--device", "x", "--csv", src, "--cnnpc-npy", str(tmp_path)]
    with pytest.raises(SystemExit) as exc:
        main(["profile", "import", "--model", "mobilenet", *args])
    assert exc.value.code == 2
    assert "not allowed with" in capsys.readouterr().err


@pytest.mark.parametrize("target", ["tensors.csv", "meta.yaml", "x.csv"])
def test_special_files_in_the_folder_are_refused_before_anything_is_written(
    tmp_path, user_root, capsys, target
):
    """The profile's files land together: a FIFO among them stops the import, leaving the rest."""
    folder = user_root / "mobilenet"
    folder.mkdir(parents=True)
    os.mkfifo(folder / target)
    path = _write_csv(tmp_path / "t.csv", GOOD)
    argv = ["profile", "import", "--model", "mobilenet", "--device", "x", "--csv", str(path)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err == (
        f"cnnpc profile: error: cannot write {folder / target}: it is a FIFO; cnnpc replaces "
        "only regular files (give another path)\n"
    )
    assert sorted(p.name for p in folder.iterdir()) == [target]


def _tree(root: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_an_existing_device_is_replaced_only_with_force(tmp_path, user_root, capsys):
    folder = user_root / "mobilenet"
    first = _write_csv(tmp_path / "a.csv", GOOD)
    argv = ["profile", "import", "--model", "mobilenet", "--device", "host", "--csv"]
    assert main([*argv, str(first)]) == 0
    (folder / "host_measurements.csv").write_text("measured\n")  # as 'cnnpc profile' leaves it
    (folder / "layers.csv").write_text("layers at the measured size\n")
    tensors = (folder / "tensors.csv").read_text()
    (folder / "tensors.csv").write_text(tensors.replace(",224,", ",64,"))  # measured at 64
    second = _write_csv(tmp_path / "b.csv", [[str(i), "9", "9", "9"] for i in range(8)])
    before = _tree(tmp_path)
    assert main([*argv, str(second)]) == 2
    err = capsys.readouterr().err
    assert "already has a profile of device 'host'; give --force" in err and err.count("\n") == 1
    assert _tree(tmp_path) == before
    assert main([*argv, str(second), "--force"]) == 0
    assert [s.end_ms for s in load_profile("mobilenet", "host").segments] == [9.0] * 8
    assert not (folder / "host_measurements.csv").exists()  # they measured the old profile
    assert not (folder / "layers.csv").exists()  # the graph of the old input size
    assert (folder / "tensors.csv").read_text() == tensors


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "not a numpy .npy array: the file is empty"),
        (b"\x93NUMPY\x01\x00", "not a numpy .npy array"),
        (b"PK\x03\x04" + b"\x00" * 40, "not a numpy .npy array: no .npy header"),
    ],
)
def test_a_damaged_npy_is_one_line(content, message, tmp_path, user_root, capsys):
    (tmp_path / "T_R.npy").write_bytes(content)
    argv = ["profile", "import", "--model", "mobilenet", "--device", "x", "--cnnpc-npy"]
    assert main([*argv, str(tmp_path / "T_R.npy")]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not user_root.exists()


def test_special_and_huge_inputs_are_one_line(tmp_path, user_root, capsys):
    fifo = tmp_path / "fifo.csv"
    os.mkfifo(fifo)
    huge = _write_csv(tmp_path / "huge.csv", [[str(i), "1", "1", "1"] for i in range(8)])
    huge.write_text(huge.read_text() + "x" * (200 * 1024) + "\n")  # one field over 128 KiB
    big_npy = tmp_path / "big.npy"
    big_npy.write_bytes(b"\x93NUMPY" + b"\x00" * (2 * 1024 * 1024))
    argv = ["profile", "import", "--model", "mobilenet", "--device", "x"]
    cases = [
        (["--csv", str(fifo)], "it is a FIFO, not a regular file"),
        (["--csv", str(tmp_path)], "not a regular file"),
        (["--csv", str(huge)], str(huge)),
        (["--cnnpc-npy", str(big_npy)], "-byte limit"),
        (["--cnnpc-npy", str(fifo)], "it is a FIFO, not a regular file"),
        (["--cnnpc-npy", "/dev/zero"], "it is a device, not a regular file"),
    ]
    for extra, message in cases:
        assert main([*argv, *extra]) == 2, extra
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1 and "Traceback" not in err, err
    assert not user_root.exists()
