"""A registry entry: how to build a model by name, and where its planning files are.

Shipped models are entries too (kind ``builtin``: cnnpc's own tf-keras code). Added models are
``app`` (a ``tf_keras.applications`` architecture, random weights) or ``keras`` (the user's saved
model, copied into the model's folder). The entry is ``model.yaml`` in that folder; reading it
never imports TensorFlow.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from cnnpc.errors import InputError

Kind = Literal["builtin", "app", "keras"]
KINDS: tuple[Kind, ...] = ("builtin", "app", "keras")
ARCHITECTURE_FILE = "architecture.json"
DEFAULT_TRAIN_SIZE = 32
"""Input size an added architecture is trained at on the embedded digits workload."""


@dataclass(frozen=True)
class ModelEntry:
    """One model cnnpc knows by name."""

    name: str
    kind: Kind
    description: str
    input_size: int
    """Input size its tensors are priced at (the profiles' size)."""
    train_size: int
    """Input size it is trained at on the embedded digits workload."""
    classes: int = 1000
    app: str = ""
    file: str = ""
    """The saved model, relative to `folder` (kind keras)."""
    folder: str = ""
    source: str = ""
    analysis_seconds: float = 0.0
    layers: int = 0
    cut_points: int = 0
    trust_code: bool = False
    """Added with --trust-code: its file carries code (a Lambda) that runs when it is built."""

    @property
    def architecture_path(self) -> Path:
        """The saved functional config every build starts from (keeps the layer names)."""
        return Path(self.folder) / ARCHITECTURE_FILE

    @property
    def path(self) -> Path | None:
        """The saved model file (kind keras), else None."""
        return Path(self.folder) / self.file if self.file else None

    def to_yaml(self) -> str:
        data = {k: v for k, v in asdict(self).items() if k != "folder"}
        if not self.trust_code:
            del data["trust_code"]  # entries of models without code read as before
        return "# cnnpc model registry entry (written by cnnpc models add)\n" + yaml.safe_dump(
            data, sort_keys=False
        )


def _int(raw: Mapping[str, Any], key: str, label: str) -> int:
    value = raw.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(f"{label}: {key}: must be a positive integer, got {value!r}")
    return value


def read_entry(path: Path) -> ModelEntry:
    """Parse a model.yaml; a damaged file is a one-line error naming it."""
    label = str(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InputError(f"{label}: cannot read: {type(exc).__name__}") from None
    if not isinstance(raw, Mapping):
        raise InputError(f"{label}: must be a mapping")
    kind = raw.get("kind")
    if kind not in KINDS:
        raise InputError(f"{label}: kind: must be one of {', '.join(KINDS)}, got {kind!r}")
    name = raw.get("name")
    if not isinstance(name, str) or name != path.parent.name:
        raise InputError(f"{label}: name: must be the folder's name {path.parent.name!r}")
    return ModelEntry(
        name=name,
        kind=kind,
        description=str(raw.get("description", "")),
        input_size=_int(raw, "input_size", label),
        train_size=_int(raw, "train_size", label),
        classes=_int(raw, "classes", label),
        app=str(raw.get("app", "")),
        file=str(raw.get("file", "")),
        folder=str(path.parent),
        source=str(raw.get("source", "")),
        analysis_seconds=float(raw.get("analysis_seconds", 0.0)),
        layers=int(raw.get("layers", 0)),
        cut_points=int(raw.get("cut_points", 0)),
        trust_code=raw.get("trust_code", False) is True,
    )
