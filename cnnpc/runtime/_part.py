"""One tier's TFLite part: quantise in, invoke, timed; one invoke at a time (TFLite is not
thread-safe, and a tier is one processor anyway). It runs in LiteRT's interpreter
(`cnnpc._litert`), so a tier that only runs parts never imports TensorFlow."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import TypeAlias

import numpy as np
import numpy.typing as npt

from cnnpc._litert import load_interpreter
from cnnpc.errors import CnnpcError, InputError
from cnnpc.records import PartSpec, PlanError, TensorSpec
from cnnpc.runtime._rpc import BadTensor, Tensor
from cnnpc.runtime._verify import verify_parts

Image: TypeAlias = npt.NDArray[np.float32]
"""One float image (H, W, C) in [0, 1], as a client classifies it."""


def image_batch(image: Image, spec: TensorSpec) -> npt.NDArray[np.float32]:
    """One float image (H, W, C) as the batch of one that the first part's input `spec` takes."""
    x: npt.NDArray[np.float32] = np.asarray(image, dtype=np.float32)[np.newaxis]
    if tuple(x.shape) != spec.shape:
        raise CnnpcError(
            f"the plan takes images of {list(spec.shape[1:])}, got {list(x.shape[1:])}"
        )
    return x


def quantize(x: npt.NDArray[np.float32], spec: TensorSpec) -> npt.NDArray[np.int8]:
    """Float values as the int8 of `spec` (round to nearest, saturate)."""
    q = np.round(x / spec.scale) + spec.zero_point
    out: npt.NDArray[np.int8] = np.clip(q, -128, 127).astype(np.int8)
    return out


def dequantize(q: Tensor, spec: TensorSpec) -> npt.NDArray[np.float32]:
    if spec.dtype == "float32":
        return np.asarray(q, dtype=np.float32)
    return ((q.astype(np.float32) - spec.zero_point) * spec.scale).astype(np.float32)


def requantize(q: Tensor, src: TensorSpec, dst: TensorSpec) -> Tensor:
    """An int8 tensor quantised as `src` re-expressed as `dst` (a no-op when they agree)."""
    if (src.scale, src.zero_point) == (dst.scale, dst.zero_point):
        return q
    return quantize(dequantize(q, src), dst)


MAX_THREADS = 256
"""TFLite threads of one part: more than any one host runs at once, and each is a thread the
interpreter starts; the CLI's --threads has the same bound, this one is for Python callers."""


class Part:
    """A loaded part; `run` checks the input's shape and dtype against the plan."""

    def __init__(
        self, path: Path | str, spec: PartSpec, threads: int = 1, content: bytes | None = None
    ) -> None:
        """The part in file `path`, or in `content` (a part received over the network; `path`
        then only names it in errors)."""
        if not 1 <= threads <= MAX_THREADS:
            raise InputError(f"threads must be in [1, {MAX_THREADS}], got {threads}")
        self.spec = spec
        data = Path(path).read_bytes() if content is None else content
        verify_parts([(str(path), data)])  # a damaged part must not crash this process
        try:  # the bytes verified, not the file again (it could have changed since)
            self._interpreter = load_interpreter(data, threads)
        except Exception as exc:  # LiteRT raises ValueError, RuntimeError, UnicodeDecodeError...
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise PlanError(
                f"{path}: not a loadable TFLite model ({first[:200]}); deploy the plan again"
            ) from None
        self._in = self._interpreter.get_input_details()[0]["index"]
        self._out = self._interpreter.get_output_details()[0]["index"]
        self._lock = threading.Lock()

    def run(self, x: Tensor) -> tuple[Tensor, float]:
        """The part's output for input `x` and the milliseconds the invoke took."""
        expected = self.spec.input
        if tuple(x.shape) != expected.shape or np.dtype(x.dtype).name != expected.dtype:
            raise BadTensor(
                f"{self.spec.tier} part takes {expected.dtype}{list(expected.shape)}, "
                f"got {np.dtype(x.dtype).name}{list(x.shape)}"
            )
        with self._lock:
            start = time.perf_counter()
            self._interpreter.set_tensor(self._in, x)
            self._interpreter.invoke()
            out = self._interpreter.get_tensor(self._out)
            ms = (time.perf_counter() - start) * 1e3
        return np.array(out), ms
