"""A damaged part whose sha256 was recomputed never reaches this process's interpreter: it is
refused in one line naming the file (serve, infer, and an uploaded part), the server lives on."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import struct
import subprocess
import sys
import time

import pytest

from cnnpc.cli._main import main
from cnnpc.records import PlanError, load_plan
from cnnpc.runtime import _verify, _verifychild
from cnnpc.runtime._part import Part
from cnnpc.runtime._verify import verify_parts

pytestmark = pytest.mark.slow


def _damage(three_tier, tmp_path, how, tier="edge"):
    """A copy of the plan whose `tier` part is damaged `how`, its sha256 recomputed in plan.json."""
    folder = tmp_path / f"plan-{tier}-{how}"
    shutil.copytree(three_tier.folder, folder)
    doc = json.loads((folder / "plan.json").read_text())
    item = next(p for p in doc["parts"] if p["tier"] == tier)
    part = folder / item["file"]
    data = bytearray(part.read_bytes())
    if how == "truncated":
        data = data[: len(data) // 3]
    elif how == "header":  # the root table's offset and vtable: inside the file, but wrong
        for i in range(8, 48):
            data[i] ^= 0xA5
    elif how == "identifier":
        data[4:8] = b"XXXX"
    part.write_bytes(bytes(data))
    item["sha256"] = hashlib.sha256(bytes(data)).hexdigest()
    if "bytes" in item:
        item["bytes"] = len(data)
    (folder / "plan.json").write_text(json.dumps(doc, indent=2))
    return folder, part


@pytest.mark.parametrize("how", ["truncated", "header", "identifier"])
def test_a_damaged_part_is_one_line_naming_it(three_tier, tmp_path, capsys, how):
    folder, part = _damage(three_tier, tmp_path, how)
    plan = load_plan(folder)  # the hash matches: only the content is wrong
    with pytest.raises(PlanError, match=rf"{part}: .*deploy the plan again"):
        Part(part, plan.parts["edge"])
    capsys.readouterr()
    start = time.monotonic()
    code = main(["serve", "--role", "edge", "--plan", str(folder), "--port", "0"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and str(part) in err, err
    assert time.monotonic() - start < 120


def test_a_good_part_is_verified_once(three_tier):
    path = three_tier.part_path("edge")
    data = path.read_bytes()
    verify_parts([(str(path), data)])
    start = time.monotonic()
    verify_parts([(str(path), data)])  # remembered by its sha256: no child this time
    assert time.monotonic() - start < 0.1


def _one_line(capsys, code, part):
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1, err
    assert str(part) in err and "not a loadable TFLite model" in err, err


@pytest.mark.parametrize(("how", "tier"), [("truncated", "cloud"), ("header", "edge")])
def test_validate_on_a_damaged_part_is_one_line(three_tier, tmp_path, capsys, how, tier):
    """Before the host profile is read or any server started: one child for the plan's parts."""
    folder, part = _damage(three_tier, tmp_path, how, tier)
    capsys.readouterr()
    _one_line(capsys, main(["validate", "7", "--plan", str(folder), "--requests", "1"]), part)


def test_infer_on_a_damaged_end_part_is_one_line(three_tier, tmp_path, capsys):
    folder, part = _damage(three_tier, tmp_path, "header", "end")
    capsys.readouterr()
    argv = ["infer", "--plan", str(folder), "--edge", "127.0.0.1:9", "--limit", "1"]
    _one_line(capsys, main(argv), part)


def _payload(*parts: bytes) -> bytes:
    return b"".join(struct.pack("<Q", len(p)) + p for p in parts)


def test_the_child_runs_a_part_without_importing_tensorflow(three_tier):
    """The price of a verification is the child's start, not a TensorFlow import (8-10 s)."""
    code = (
        "import runpy, sys\n"
        "try:\n"
        f"    runpy.run_path({str(_verify._CHILD)!r}, run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n"
        "sys.stderr.write('TF' if 'tensorflow' in sys.modules else 'no TF')\n"
    )
    parts = [three_tier.part_path(t).read_bytes() for t in ("end", "edge", "cloud")]
    done = subprocess.run(
        [sys.executable, "-P", "-c", code], input=_payload(*parts), capture_output=True, timeout=60
    )
    assert done.stdout.split() == [b"1", b"2", b"3"], done.stderr[-500:]
    assert done.stderr.endswith(b"no TF"), done.stderr[-500:]


def test_the_child_stops_at_the_first_part_the_interpreter_refuses(three_tier, monkeypatch, capsys):
    good = three_tier.part_path("edge").read_bytes()
    bad = b"not a TFLite model" * 4  # refused by the interpreter, not crashed: safe in-process
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(_payload(good, good, bad, good))))
    assert _verifychild.main() == 0
    assert capsys.readouterr().out.split() == ["1", "2"]
