"""The committed gRPC modules are exactly what grpcio-tools generates from the shipped .proto."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cnnpc.runtime.proto import PROTO

GENERATED = (
    "cnnpc_tier_pb2.py",
    "cnnpc_tier_pb2.pyi",
    "cnnpc_tier_pb2_grpc.py",
    "cnnpc_tier_pb2_grpc.pyi",
)


def test_regenerated_modules_match_the_committed_ones(tmp_path: Path) -> None:
    pytest.importorskip("grpc_tools")
    here = str(Path(sys.executable).parent)  # the environment's scripts, activated or not
    if shutil.which("protoc-gen-mypy", path=f"{here}:{os.environ.get('PATH', '')}") is None:
        pytest.skip("mypy-protobuf is not installed (pip install -e '.[test]')")
    folder = tmp_path / "cnnpc" / "runtime" / "proto"
    folder.mkdir(parents=True)
    shutil.copy(PROTO, folder / PROTO.name)
    relative = f"cnnpc/runtime/proto/{PROTO.name}"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            "-I",
            ".",
            "--python_out=.",
            "--mypy_out=.",
            "--grpc_python_out=.",
            "--mypy_grpc_out=.",
            relative,
        ],
        cwd=tmp_path,
        env={**os.environ, "PATH": f"{here}:{os.environ.get('PATH', '')}"},
        check=True,
        capture_output=True,
    )
    for name in GENERATED:
        fresh = (folder / name).read_bytes()
        assert fresh == (PROTO.parent / name).read_bytes(), f"{name} is stale: regenerate it"


def test_the_proto_ships_with_the_package() -> None:
    text = PROTO.read_text()
    assert "service Tier" in text
    assert "package cnnpc.v1;" in text
