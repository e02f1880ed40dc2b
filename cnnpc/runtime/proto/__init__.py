"""The runtime's gRPC protocol: ``cnnpc_tier.proto`` and the modules grpcio-tools generates from it.

The generated modules are committed (an app's build does not need cnnpc's tools) and a test
checks that regenerating them gives the same files: edit the ``.proto``, then run

    python -m grpc_tools.protoc -I . --python_out=. --mypy_out=. --grpc_python_out=. \\
        --mypy_grpc_out=. cnnpc/runtime/proto/cnnpc_tier.proto

from the repository's root.
"""

from __future__ import annotations

from pathlib import Path

PROTO = Path(__file__).with_name("cnnpc_tier.proto")
"""The protocol's source, shipped in the package: generate a client in any language from it."""

__all__ = ["PROTO"]
