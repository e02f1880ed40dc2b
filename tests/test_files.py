"""cnnpc's one write path: special targets refused, temporaries cleaned, several files at once."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from cnnpc import _files
from cnnpc._files import (
    WriteError,
    check_files_in,
    write_bytes,
    write_files,
    write_folder,
    write_text,
    write_with,
)


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_writes_replace_a_regular_file_with_plain_permissions(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("old")
    write_text(path, "new")
    assert path.read_text() == "new" and _names(tmp_path) == ["a.txt"]
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask


@pytest.mark.parametrize(
    ("make", "word"),
    [
        (lambda p: p.symlink_to(p.with_name("elsewhere")), "a symbolic link"),  # dangling too
        (os.mkfifo, "a FIFO"),
        (lambda p: p.mkdir(), "a directory"),
    ],
)
def test_special_targets_are_refused_untouched(tmp_path, make, word):
    path = tmp_path / "t"
    make(path)
    before = path.lstat()
    with pytest.raises(WriteError) as info:
        write_bytes(path, b"x")
    assert str(info.value) == (
        f"cannot write {path}: it is {word}; cnnpc replaces only regular files (give another path)"
    )
    assert path.lstat().st_mode == before.st_mode and _names(tmp_path) == ["t"]


def test_a_device_is_refused():
    with pytest.raises(WriteError, match="it is a device"):
        write_bytes(Path("/dev/null"), b"x")


def test_a_failing_writer_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "a.bin"
    path.write_bytes(b"old")

    def broken(handle):
        handle.write(b"half")
        raise OSError(28, "No space left on device")

    with pytest.raises(WriteError, match=r"a\.bin: No space left on device"):
        _files.write_atomically(path, broken)
    assert path.read_bytes() == b"old" and _names(tmp_path) == ["a.bin"]


def test_several_files_land_all_or_nothing(tmp_path, monkeypatch):
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_bytes(b"old a")
    with pytest.raises(WriteError, match=r"folder .* does not exist"):
        write_files({a: b"new a", tmp_path / "no" / "b": b"new b"})  # checked before staging
    assert a.read_bytes() == b"old a" and _names(tmp_path) == ["a"]

    real = Path.replace

    def fail_on_b(self, target):
        if Path(target) == b:
            raise OSError(5, "Input/output error")
        return real(self, target)

    monkeypatch.setattr(Path, "replace", fail_on_b)
    with pytest.raises(WriteError, match=r"cannot write .*/b: Input/output error"):
        write_files({a: b"new a", b: b"new b"})  # a was renamed first: it is put back
    assert a.read_bytes() == b"old a" and _names(tmp_path) == ["a"]
    monkeypatch.setattr(Path, "replace", real)
    write_files({a: b"new a", b: b"new b"})
    assert (a.read_bytes(), b.read_bytes()) == (b"new a", b"new b") and _names(tmp_path) == [
        "a",
        "b",
    ]


def test_writers_by_name_keep_the_suffix(tmp_path):
    seen = []

    def save(tmp):
        seen.append(tmp)
        tmp.write_bytes(b"weights")

    path = write_with(tmp_path / "m.h5", save)
    assert path.read_bytes() == b"weights" and seen[0].name.endswith(".h5")
    assert _names(tmp_path) == ["m.h5"]


def test_folder_checks_create_nothing(tmp_path):
    folder = tmp_path / "x" / "y"
    assert check_files_in(folder, ["a.csv"]) == folder and _names(tmp_path) == []
    (tmp_path / "f").write_text("")
    with pytest.raises(WriteError, match="is not a folder"):
        check_files_in(tmp_path / "f" / "y", ["a.csv"])
    (tmp_path / "d").mkdir()
    os.mkfifo(tmp_path / "d" / "a.csv")
    with pytest.raises(WriteError, match="it is a FIFO"):
        check_files_in(tmp_path / "d", ["a.csv"])


def test_folders_are_replaced_only_when_ours(tmp_path):
    def ours(folder: Path) -> bool:
        return (folder / "mark").is_file()

    out = write_folder(tmp_path / "p", {"mark": b"1"}, force=False, owned=ours, what="test")
    with pytest.raises(WriteError, match="already exists"):
        write_folder(out, {"mark": b"2"}, force=False, owned=ours, what="test")
    write_folder(out, {"mark": b"2"}, force=True, owned=ours, what="test")
    assert (out / "mark").read_bytes() == b"2"
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("keep me")
    with pytest.raises(WriteError) as info:
        write_folder(mine, {"mark": b"1"}, force=True, owned=ours, what="test")
    assert (
        str(info.value)
        == f"{mine} is not a test folder; refusing to replace it (give another path)"
    )
    assert _names(mine) == ["thesis.tex"] and _names(tmp_path) == ["mine", "p"]


def test_a_file_that_fails_to_read_is_one_line():
    """/proc/self/mem is a regular file every mode lets root open; reading it at 0 is EIO."""
    from cnnpc._files import ReadError, read_input
    from cnnpc.modelfile import read_head

    for read in (
        lambda: read_input("/proc/self/mem", "x"),
        lambda: read_head(Path("/proc/self/mem"), "--keras"),
    ):
        with pytest.raises(ReadError, match="cannot read: Input/output error"):
            read()


def test_read_input_reads_only_the_head_when_asked(tmp_path):
    from cnnpc._files import read_input

    (tmp_path / "f").write_bytes(b"0123456789")
    assert read_input(tmp_path / "f", "f", head=4) == b"0123"
    assert read_input(tmp_path / "f", "f") == b"0123456789"
