"""The child of cnnpc.runtime._verify: load, allocate and invoke each part once on zeros.

Why a script run by its path and importing only NumPy: importing `cnnpc` or TensorFlow costs
8 to 10 s on two cores, most of the price of a verification. TFLite's own interpreter wrapper
(the extension module tf.lite.Interpreter drives) loads in milliseconds without TensorFlow, so
it is loaded by its file. Where that file or its signature is not there (another TensorFlow),
tf.lite.Interpreter is used instead. A part that crashes or hangs the interpreter takes only
this process down. Stdin: parts, each an 8-byte little-endian length and its bytes; stdout: one
line per part that passed, in order, until the first that fails.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import struct
import sys
from pathlib import Path
from types import ModuleType

import numpy as np

_WRAPPER = "_pywrap_tensorflow_interpreter_wrapper"
_BUILTIN_RESOLVER = 1  # tf.lite's OpResolverType.AUTO/BUILTIN: XNNPACK, as in this process


def _light_wrapper() -> ModuleType | None:
    """TFLite's interpreter wrapper module loaded by its file (no TensorFlow import), or None."""
    spec = importlib.util.find_spec("tensorflow")  # finds the package without running it
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "lite" / "python"
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = folder / f"{_WRAPPER}{suffix}"
        if path.is_file():
            loader = importlib.machinery.ExtensionFileLoader(_WRAPPER, str(path))
            module_spec = importlib.util.spec_from_loader(_WRAPPER, loader)
            if module_spec is None:
                return None
            module = importlib.util.module_from_spec(module_spec)
            try:
                loader.exec_module(module)
            except (ImportError, OSError):
                return None
            return module
    return None


def _run_light(wrapper: ModuleType, content: bytes) -> None:
    """What tf.lite.Interpreter(model_content=...).allocate_tensors(); set_tensor; invoke do."""
    interpreter = wrapper.CreateWrapperFromBuffer(
        content, _BUILTIN_RESOLVER, [], [], False, False, 1, False
    )
    if not interpreter:
        raise ValueError("the interpreter refused the model")
    interpreter.AllocateTensors()
    for index in interpreter.InputIndices():
        shape = interpreter.TensorSize(index, 0)
        interpreter.SetTensor(index, np.zeros(shape, dtype=interpreter.TensorType(index, 0)))
    interpreter.Invoke()


def _run_tf(content: bytes) -> None:
    """The same through tf.lite.Interpreter (imports TensorFlow: seconds)."""
    import tensorflow as tf

    interpreter = tf.lite.Interpreter(model_content=content)
    interpreter.allocate_tensors()
    for detail in interpreter.get_input_details():
        interpreter.set_tensor(detail["index"], np.zeros(detail["shape"], dtype=detail["dtype"]))
    interpreter.invoke()


def main() -> int:
    data = sys.stdin.buffer.read()
    wrapper = _light_wrapper()
    i = passed = 0
    while i + 8 <= len(data):
        (size,) = struct.unpack_from("<Q", data, i)
        content = data[i + 8 : i + 8 + size]
        i += 8 + size
        try:
            if wrapper is None:
                _run_tf(content)
            else:
                try:
                    _run_light(wrapper, content)
                except TypeError:  # another TensorFlow's wrapper signature: its own Interpreter
                    wrapper = None
                    _run_tf(content)
        except Exception:  # any refusal: the parent names the file
            break
        passed += 1
        sys.stdout.write(f"{passed}\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
