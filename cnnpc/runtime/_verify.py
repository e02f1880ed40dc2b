"""Check a TFLite part before this process's interpreter sees it.

Why: TFLite trusts its flatbuffer. A truncated part, or one with flipped header bytes whose
sha256 was recomputed, crashes the interpreter with SIGSEGV or hangs it, taking a server down
with it. So a part is first checked for its file identifier and root offset, then loaded,
allocated and invoked once on zeros in a child process, which may crash or hang alone (it is
killed after VERIFY_TIMEOUT_S); the child loads LiteRT's interpreter, which needs no
TensorFlow, so it costs a fraction of a second. A part that passed is remembered by its sha256
for the life of the process, so a part is verified once however often it is loaded.
"""

from __future__ import annotations

import hashlib
import struct
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from cnnpc.codec import check_coder
from cnnpc.errors import InputError
from cnnpc.records import TIERS, DeployedPlan, PlanError

VERIFY_TIMEOUT_S = 120.0
_IDENTIFIER = b"TFL3"
# run by its path with -P (nothing of cnnpc imported): see its docstring for why
_CHILD = Path(__file__).with_name("_verifychild.py")
_verified: set[str] = set()
_lock = threading.Lock()


def _structure(name: str, data: bytes) -> None:
    """The flatbuffer's own header: a root offset inside the file and TFLite's identifier."""
    if len(data) < 16 or data[4:8] != _IDENTIFIER:
        raise PlanError(
            f"{name}: not a loadable TFLite model (no TFL3 identifier); deploy the plan again"
        )
    (root,) = struct.unpack_from("<I", data, 0)
    if not 8 <= root <= len(data) - 4:
        raise PlanError(
            f"{name}: a damaged TFLite model (root offset {root} outside its "
            f"{len(data)} bytes); deploy the plan again"
        )


def verify_parts(parts: Sequence[tuple[str, bytes]]) -> None:
    """Refuse, in one line naming the file, the first part the interpreter cannot load and run;
    the ones not yet verified in this process are tried together in one child process."""
    todo: list[tuple[str, bytes, str]] = []
    for name, data in parts:
        _structure(name, data)
        digest = hashlib.sha256(data).hexdigest()
        with _lock:
            if digest not in _verified:
                todo.append((name, data, digest))
    if not todo:
        return
    payload = b"".join(struct.pack("<Q", len(d)) + d for _, d, _ in todo)
    try:
        done = subprocess.run(
            [sys.executable, "-P", str(_CHILD)],
            input=payload,
            capture_output=True,
            timeout=VERIFY_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        names = ", ".join(n for n, _, _ in todo)
        raise PlanError(
            f"{names}: not a loadable TFLite model (the interpreter hung on it over "
            f"{VERIFY_TIMEOUT_S:g} s); deploy the plan again"
        ) from None
    passed = len(done.stdout.decode("ascii", "replace").split())
    for i, (name, _, digest) in enumerate(todo):
        if i < passed:
            with _lock:
                _verified.add(digest)
            continue
        how = f"signal {-done.returncode}" if done.returncode < 0 else "an error"
        raise PlanError(
            f"{name}: not a loadable TFLite model (the interpreter failed on it with {how}); "
            "deploy the plan again"
        )


def runnable_codecs(plan: DeployedPlan) -> None:
    """Refuse, in one line, a plan whose links name a codec this runtime cannot run: an entropy
    coder that is not installed here (the line says how to install it), or a coded tensor that
    is not int8 (plan.json's reader already refuses unknown codecs and coded float32 tensors).

    Why here: a server or client that started would otherwise fail every request.
    """
    for link in plan.links:
        if link.codec.is_default:
            continue
        where = f"{link.source}->{link.target}: codec {link.codec.label}"
        if link.spec.dtype != "int8":
            raise PlanError(f"{where}: only an int8 tensor is coded, this one is {link.spec.dtype}")
        try:
            check_coder(link.codec.entropy)
        except InputError as exc:
            raise PlanError(f"{where}: {exc}") from None


def verify_plan(plan: DeployedPlan) -> None:
    """Every part of `plan`, in one child (one interpreter start): a command that runs several
    tiers (validate, a test's servers) pays the child once, and its Parts find them verified."""
    runnable_codecs(plan)
    paths = [plan.part_path(t) for t in TIERS if plan.part(t) is not None]
    verify_parts([(str(p), p.read_bytes()) for p in paths])
