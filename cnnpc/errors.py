"""The one exception family the CLI turns into a one-line message and exit code 2."""

from __future__ import annotations

import sys
import warnings
from typing import TextIO

MAX_MESSAGE = 400
"""The longest error line printed: a message that quotes a 5,000-character value is cut."""


def printable(text: str, limit: int = MAX_MESSAGE) -> str:
    """`text` safe for a terminal line: control characters (escape sequences, newlines) shown
    as escapes, at most `limit` characters. Every error line cnnpc prints goes through here."""
    out = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return out if len(out) <= limit else out[: limit - 1] + "…"


def first_line(exc: BaseException) -> str:
    """An exception's message as one line (at most 200 characters) for a one-line error."""
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__


class CnnpcError(Exception):
    """Base class: anything the user can fix (bad input, bad file, impossible request)."""


class InputError(CnnpcError):
    """A command-line value or API argument is out of range or malformed."""


class ProfileError(CnnpcError):
    """A latency profile file is missing, malformed or inconsistent with its search space."""


class SearchSpaceError(CnnpcError):
    """A search space YAML file is missing, malformed or inconsistent."""


class InfeasibleError(CnnpcError):
    """No plan satisfies the requested constraint (not bad input, so the CLI exits 1)."""


FULL_INSTALL = 'pip install "cnnpc[full]"'
"""The install line of the workstation (TensorFlow and the rest) over the runtime-only base."""

_FULL_ONLY = {
    "tensorflow": "TensorFlow",
    "tf_keras": "TensorFlow",
    "tensorflow_model_optimization": "TensorFlow",
    "optuna": "Optuna",
    "sqlalchemy": "SQLAlchemy",
    "alembic": "SQLAlchemy",
    "pandas": "pandas",
    "sklearn": "scikit-learn",
    "scipy": "SciPy",
    "openpyxl": "openpyxl",
    "matplotlib": "matplotlib",
    "rich": "rich",
}
"""Import name -> what the `full` extra installs for it: the packages the runtime-only install
(`pip install cnnpc`: serve, infer, certs, profile device) lacks."""


def needs_full_install(exc: ModuleNotFoundError) -> str | None:
    """Why a command stopped on the runtime-only install ("TensorFlow is not installed"), or
    None when the missing module is not one the `full` extra adds (a broken install: re-raise)."""
    name = (exc.name or "").split(".")[0]
    what = _FULL_ONLY.get(name)
    return None if what is None else f"{what} is not installed"


class Note(UserWarning):
    """Something the user should know that is not an error: the CLI prints each once, as a
    'note:' line on stderr."""


class StandInNote(Note):
    """A device profile is a stand-in (not measured): the CLI prints it once per device."""


class OwnCodeNote(Note):
    """A registered model was added with --trust-code: using it runs code from its file."""


def show_notes() -> None:
    """Notes (a stand-in profile, a model that runs its own code) are one 'note:' line on
    stderr, each once."""
    original = warnings.showwarning
    shown: set[str] = set()

    def show(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        if issubclass(category, Note):
            if str(message) not in shown:
                shown.add(str(message))
                print(printable(f"note: {message}"), file=sys.stderr)
        else:
            original(message, category, filename, lineno, file, line)

    warnings.showwarning = show
    warnings.filterwarnings("always", category=Note)
