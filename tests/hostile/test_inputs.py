"""Every option that names a file or folder, and every free-text name, against special files,
damaged files and hostile text: exit 2, one line, nothing written, in bounded time.

A new file option is covered by one row in FILE_ROWS (F stands for the hostile path).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hostile.harness import check_refused, run_case
from storage.factories import populate

from cnnpc.storage import Storage

DB = ["--storage", "sqlite:///r.db"]
SEARCH = ["--model", "mobilenet", "--device", "MI8", "--bandwidth", "10", "--acc-floor", "0.9"]

# (name, argv with "F" for the path, whether the path is read (input) or written (output))
FILE_ROWS: list[tuple[str, list[str], str]] = [
    ("models add --keras", ["models", "add", "m", "--keras", "F"], "in"),
    ("accuracy import FILE", ["accuracy", "import", "F", *DB], "in"),
    ("search --accuracy table:", ["search", *SEARCH, "--accuracy", "table:F", *DB], "in"),
    (
        "sweep --accuracy table:",
        [
            "sweep",
            *SEARCH[:4],
            "--bandwidth",
            "1,10",
            "--acc-floor",
            "0.9",
            "--accuracy",
            "table:F",
            *DB,
        ],
        "in",
    ),
    (
        "profile import --csv",
        ["profile", "import", "--model", "mobilenet", "--device", "x", "--csv", "F"],
        "in",
    ),
    (
        "profile import --cnnpc-npy",
        ["profile", "import", "--model", "mobilenet", "--device", "x", "--cnnpc-npy", "F"],
        "in",
    ),
    (
        "profile import --from",
        ["profile", "import", "--model", "mobilenet", "--device", "x", "--from", "F"],
        "in",
    ),
    (
        "compress --weights",
        ["compress", "--model", "mobilenet", "--keep", "block1=1", "--weights", "F"],
        "in",
    ),
    ("search --weights", ["search", *SEARCH, "--weights", "F", *DB], "in"),
    ("serve --plan", ["serve", "--role", "edge", "--plan", "F", "--port", "0"], "in"),
    ("infer --plan", ["infer", "--plan", "F"], "in"),
    ("validate --plan", ["validate", "1", "--plan", "F", *DB], "in"),
    ("--storage sqlite:///F", ["searches", "--storage", "sqlite:///F"], "in"),
    ("export --json", ["export", "1", "--json", "F", *DB], "out"),
    ("export --xlsx", ["export", "1", "--xlsx", "F", *DB], "out"),
    ("show --png", ["show", "1", "--png", "F", *DB], "out"),
    ("accuracy export FILE", ["accuracy", "export", "--model", "mobilenet", "F", *DB], "out"),
    ("deploy --out", ["deploy", "1", "--out", "F", *DB], "out"),
    (
        "upload-plan --png",
        ["upload-plan", "--model", "mobilenet", "--device", "MI8", "--png", "F"],
        "out",
    ),
]

IN_KINDS = ("fifo", "device", "directory", "dangling", "empty", "garbage", "oversize")
OUT_KINDS = ("fifo", "device", "dangling")


def _make(kind: str, where: Path) -> str:
    path = where / f"hostile-{kind}"
    if kind == "device":
        return "/dev/zero"
    if path.exists() or path.is_symlink():
        return str(path)
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "directory":
        path.mkdir()
    elif kind == "dangling":
        path.symlink_to(where / "nothing-here")
    elif kind == "empty":
        path.touch()
    elif kind == "garbage":
        path.write_bytes(os.urandom(4096))
    elif kind == "oversize":  # sparse: bigger than any bound, costs no disk
        with path.open("wb") as handle:
            handle.truncate(300 * 1024 * 1024)
    return str(path)


CASES = [
    (name, argv, kind)
    for name, argv, direction in FILE_ROWS
    for kind in (IN_KINDS if direction == "in" else OUT_KINDS)
    if not (kind == "empty" and "sqlite" in name)  # SQLite reads an empty file as a database
]

# Free-text values: names that become file names, URLs, model and device names.
TEXT_ROWS: list[tuple[str, list[str]]] = [
    ("plan --model", ["plan", "--model", "T", "--device", "MI8", "--bandwidth", "10"]),
    ("plan --device", ["plan", "--model", "mobilenet", "--device", "T", "--bandwidth", "10"]),
    ("upload-plan --model", ["upload-plan", "--model", "T", "--device", "MI8"]),
    (
        "profile import --device",
        ["profile", "import", "--model", "mobilenet", "--device", "T", "--tier-scale", "end=2"],
    ),
    ("models show", ["models", "show", "T"]),
    ("models remove", ["models", "remove", "T"]),
    ("accuracy export --model", ["accuracy", "export", "--model", "T", "out.csv", *DB]),
    ("searches --storage", ["searches", "--storage", "T"]),
    ("db current --storage", ["db", "current", "--storage", "T"]),
]
HOSTILE_TEXT = ["", "x" * 300, "\x1b[2J\nforged line", "../../escape", "a/b", "-", "\x00"]
TEXT_CASES = [
    (name, argv, value)
    for name, argv in TEXT_ROWS
    for value in HOSTILE_TEXT
    if not (value == "" and "--storage" in name)  # an empty --storage is the default database
]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile-files")
    with Storage(f"sqlite:///{root / 'r.db'}") as storage:
        populate(storage)
    return root


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    return tmp_path_factory.mktemp("hostile-inputs")


@pytest.fixture(autouse=True)
def _isolated(workdir, monkeypatch):
    monkeypatch.chdir(workdir)
    for var in ("CNNPC_STORAGE", "CNNPC_PROFILES"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("CNNPC_MODELS", str(workdir / "models"))


@pytest.mark.slow
@pytest.mark.parametrize(("name", "argv", "kind"), CASES, ids=[f"{n}|{k}" for n, _, k in CASES])
def test_a_special_or_damaged_file_is_refused(workdir, inputs, name, argv, kind):
    path = _make(kind, inputs)
    argv = [
        a.replace("F", path) if "F" in a and a in ("F", "table:F", "sqlite:///F") else a
        for a in argv
    ]
    check_refused(run_case(argv, workdir, bound=60), argv)


@pytest.mark.parametrize(
    ("name", "argv", "value"), TEXT_CASES, ids=[f"{n}|{v[:8]!r}" for n, _, v in TEXT_CASES]
)
def test_hostile_text_is_refused(workdir, name, argv, value):
    argv = [value if a == "T" else a for a in argv]
    check_refused(run_case(argv, workdir), argv)
