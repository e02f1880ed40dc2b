"""What a command produced: the document `--json` prints and the text it prints otherwise."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Done:
    """One job's result, both forms made by the job (the CLI only chooses which to print)."""

    document: dict[str, Any]
    text: str
