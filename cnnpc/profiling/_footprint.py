"""The memory one exported file takes on the device, for `cnnpc profile device`.

LiteRT's Python benchmark reports no memory (its JSON has times and the file's size only), so a
fresh Python process that imports nothing but numpy and LiteRT measures its own resident set
(``/proc/self/statm``) before loading the file and after one invoke: the growth is what the
file adds, its weights (mapped and touched) and the interpreter's arena included, as the C++
``benchmark_model``'s "Memory footprint delta" counts it. A fresh process per file, because a
process that ran other files reuses memory it already holds. Linux (and Android) only: elsewhere
there is no measurement, and the result carries none.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from cnnpc._files import MiB

CHILD_TIMEOUT_S = 300
MEMORY_TOOL = "resident set growth of a fresh process loading the file and invoking it once"
_CHILD = """
import os, sys
import numpy as np
from ai_edge_litert.interpreter import Interpreter

def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

before = rss()
interpreter = Interpreter(model_path=sys.argv[1], num_threads=int(sys.argv[2]))
interpreter.allocate_tensors()
for detail in interpreter.get_input_details():
    interpreter.set_tensor(detail["index"], np.zeros(detail["shape"], detail["dtype"]))
interpreter.invoke()
print(rss() - before)
"""


def footprint_mb(path: Path, threads: int = 1) -> float | None:
    """MiB the file adds to a fresh process; None where it cannot be measured."""
    if not Path("/proc/self/statm").is_file():
        return None
    try:
        done = subprocess.run(
            [sys.executable, "-c", _CHILD, str(path), str(threads)],
            capture_output=True,
            text=True,
            timeout=CHILD_TIMEOUT_S,
            check=False,
        )
        grown = int(done.stdout.strip().splitlines()[-1]) if done.returncode == 0 else 0
    except (OSError, subprocess.TimeoutExpired, ValueError, IndexError):
        return None
    return grown / MiB if grown > 0 else None
