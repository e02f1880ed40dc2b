"""The one interpreter every ``.tflite`` of cnnpc runs in: LiteRT's (``ai_edge_litert``).

Why LiteRT: TensorFlow 2.21 marks ``tf.lite.Interpreter`` deprecated, to be deleted, and points to
it; and it needs no TensorFlow (its import takes about 0.15 s, TensorFlow's 8 to 10 s), so a
tier that only runs parts never imports TensorFlow. The runtime's parts, the verification child
(which imports ``ai_edge_litert`` itself: it runs without cnnpc), the profiler and the deployment's
tensor specs all load through here, with the same settings (LiteRT's default op resolver:
XNNPACK), so a part gives the same numbers wherever it runs. Loading prints XNNPACK's notice on
file descriptor 2 from C++: `quiet` silences it, and `cnnpc._keras` uses it for TensorFlow's.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Iterator
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt


@contextlib.contextmanager
def stderr_to_devnull() -> Iterator[None]:
    """File descriptor 2 pointed at /dev/null while inside (C++ log lines go nowhere)."""
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Silence TFLite's C++ log lines (file descriptor 2) and its Python warnings."""
    with stderr_to_devnull(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


class Interpreter(Protocol):
    """What cnnpc calls on LiteRT's (untyped) interpreter."""

    def get_input_details(self) -> list[dict[str, Any]]: ...

    def get_output_details(self) -> list[dict[str, Any]]: ...

    def set_tensor(self, index: int, value: npt.NDArray[Any]) -> None: ...

    def invoke(self) -> None: ...

    def get_tensor(self, index: int) -> npt.NDArray[np.generic]: ...


def load_interpreter(content: bytes, threads: int = 1) -> Interpreter:
    """LiteRT's interpreter on the model `content` with `threads` threads, tensors allocated.

    Raises what LiteRT raises on a model it refuses (ValueError, RuntimeError...): callers word it.
    """
    from ai_edge_litert.interpreter import Interpreter as LiteRT

    with quiet():  # XNNPACK's notice, printed when the delegate is applied
        interpreter = LiteRT(model_content=content, num_threads=threads)
        interpreter.allocate_tensors()
    loaded: Interpreter = interpreter
    return loaded
