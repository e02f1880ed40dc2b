"""The child of cnnpc.runtime._verify: load, allocate and invoke each part once on zeros.

Why a script run by its path and importing only NumPy and LiteRT: importing `cnnpc` costs most
of a second, TensorFlow 8 to 10 s on two cores; LiteRT's interpreter (``ai_edge_litert``, the one
`cnnpc._litert` loads parts in, with the same default settings) imports in about 0.15 s without
TensorFlow. A part that crashes or hangs the interpreter takes only this process down. Stdin:
parts, each an 8-byte little-endian length and its bytes; stdout: one line per part that passed,
in order, until the first that fails.
"""

from __future__ import annotations

import struct
import sys

import numpy as np


def run_part(content: bytes) -> None:
    """What a Part does with the bytes: load them, allocate, and invoke once (on zeros)."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=content, num_threads=1)
    interpreter.allocate_tensors()
    for detail in interpreter.get_input_details():
        interpreter.set_tensor(detail["index"], np.zeros(detail["shape"], dtype=detail["dtype"]))
    interpreter.invoke()


def main() -> int:
    data = sys.stdin.buffer.read()
    i = passed = 0
    while i + 8 <= len(data):
        (size,) = struct.unpack_from("<Q", data, i)
        content = data[i + 8 : i + 8 + size]
        i += 8 + size
        try:
            run_part(content)
        except Exception:  # any refusal: the parent names the file
            break
        passed += 1
        sys.stdout.write(f"{passed}\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
