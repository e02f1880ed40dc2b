"""`cnnpc ARGS` in a fresh interpreter that cannot import the workstation's packages, as on the
runtime-only install (`pip install cnnpc`, no `full` extra): a meta-path finder refuses them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
REFUSED = ("tensorflow", "tf_keras", "optuna", "sqlalchemy", "pandas", "sklearn")

REFUSE = f"""
import importlib.abc, sys

class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {REFUSED!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None

sys.meta_path.insert(0, Refuse())
"""
"""Python code that makes this interpreter refuse the workstation's packages from here on."""

GUARD = f"""{REFUSE}
from cnnpc.cli import main
rc = main(sys.argv[1:])
loaded = sorted({{m.split(".")[0] for m in sys.modules}} & set({REFUSED!r}))
assert not loaded, f"imported {{loaded}}"
sys.exit(rc)
"""


def guarded_cnnpc() -> list[str]:
    """The argv prefix of a `cnnpc` that behaves as the runtime-only install."""
    return [sys.executable, "-c", GUARD]


def guarded_env() -> dict[str, str]:
    """This checkout first on the path (the tests run from the source tree)."""
    return dict(os.environ, PYTHONPATH=str(REPO))


def run_guarded(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*guarded_cnnpc(), *args],
        capture_output=True,
        text=True,
        env=guarded_env(),
        timeout=timeout,
        check=False,
    )
