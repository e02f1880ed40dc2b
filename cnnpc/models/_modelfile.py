"""Read a saved model's configuration without deserializing it, and find layers that run code.

Why: loading a ``.h5`` file or a SavedModel folder rebuilds a ``Lambda`` layer's Python function
from the file's bytecode, so the file's author runs code on our machine before we see the model.
The format is told by content (zip or HDF5 signature), never by suffix, so an ``.h5`` renamed to
``.keras`` is read as what it is. Reading the configuration needs no TensorFlow.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from cnnpc._files import MiB, ReadError, check_input_file, read_input
from cnnpc.errors import InputError

Format = Literal["keras", "h5", "savedmodel"]
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
ZIP_SIGNATURE = b"PK\x03\x04"
MAX_MODEL_BYTES = 4096 * MiB
"""A saved model larger than 4 GiB is refused (the largest Keras application is ~550 MB)."""
MAX_CONFIG_BYTES = 64 * MiB
_SAVEDMODEL_FILES = ("saved_model.pb", "keras_metadata.pb")
_CODE_CLASSES = frozenset({"Lambda", "__lambda__"})
_NOT_LAYERS = frozenset({"Functional", "Sequential", "Model", "Policy", "DTypePolicy"})


_TRUSTED: set[Path] = set()


def trust_model_file(path: str | Path) -> None:
    """Let this process load `path` although its layers carry code (the user's --trust-code)."""
    _TRUSTED.add(Path(path).resolve())


def is_trusted(path: str | Path) -> bool:
    """Whether trust_model_file was called for `path` (the same file by any name)."""
    return Path(path).resolve() in _TRUSTED


@dataclass(frozen=True)
class ModelFile:
    """A saved model as found on disk: its format and the configuration it declares."""

    path: Path
    format: Format
    config: Any
    """The parsed model config (JSON), or None when the file holds weights only."""


def _label(option: str, path: Path) -> str:
    return f"{option} {path}"


def model_format(path: Path, option: str = "--keras") -> Format:
    """The format of `path` from its content; special files and unknown content are refused."""
    if path.is_dir():
        missing = [n for n in _SAVEDMODEL_FILES[:1] if not (path / n).exists()]
        if missing:
            raise InputError(f"{_label(option, path)}: a folder without saved_model.pb")
        return "savedmodel"
    try:
        head = read_head(path, option)
    except ReadError as exc:
        raise InputError(str(exc)) from None
    if head.startswith(HDF5_SIGNATURE):
        return "h5"
    if head.startswith(ZIP_SIGNATURE):
        return "keras"
    raise InputError(
        f"{_label(option, path)}: not a Keras model file (neither a .keras archive nor HDF5)"
    )


def read_head(path: Path, option: str) -> bytes:
    """The first bytes of a regular file of at most MAX_MODEL_BYTES (never blocks on a FIFO)."""
    check_input_file(path, _label(option, path), MAX_MODEL_BYTES)
    with path.open("rb") as handle:
        return handle.read(8)


def read_model_file(path: str | Path, option: str = "--keras") -> ModelFile:
    """The format and configuration of a saved model, read without running anything in it."""
    path = Path(path)
    label = _label(option, path)
    if not path.exists() and not path.is_symlink():
        raise InputError(f"{label}: no such file or folder")
    kind = model_format(path, option)
    try:
        if kind == "keras":
            config = _zip_config(path, label)
        elif kind == "h5":
            config = _h5_config(path)
        else:
            config = _savedmodel_config(path, label)
    except ReadError as exc:
        raise InputError(str(exc)) from None
    return ModelFile(path, kind, config)


def _zip_config(path: Path, label: str) -> Any:
    try:
        with zipfile.ZipFile(path) as archive:
            info = archive.getinfo("config.json")
            if info.file_size > MAX_CONFIG_BYTES:
                raise InputError(f"{label}: config.json is over {MAX_CONFIG_BYTES:,} bytes")
            return json.loads(archive.read(info))
    except KeyError:
        raise InputError(
            f"{label}: a zip archive without config.json: not a .keras model"
        ) from None
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise InputError(f"{label}: a damaged .keras archive ({type(exc).__name__})") from None


def _h5_config(path: Path) -> Any:
    import h5py  # type: ignore[import-untyped]

    try:
        with h5py.File(path, "r") as handle:
            raw = handle.attrs.get("model_config")
    except OSError:
        raise InputError(f"{path}: a damaged HDF5 file") from None
    if raw is None:
        return None
    try:
        return json.loads(raw.decode() if isinstance(raw, bytes) else raw)
    except (ValueError, UnicodeDecodeError):
        raise InputError(f"{path}: the model config in this HDF5 file is not JSON") from None


def _savedmodel_config(path: Path, label: str) -> Any:
    """The Keras metadata of a SavedModel folder: one JSON document per saved object."""
    meta = path / "keras_metadata.pb"
    if not meta.exists():
        raise InputError(
            f"{label}: a SavedModel without Keras metadata (keras_metadata.pb): its layers "
            "cannot be checked"
        )
    for file in path.rglob("*"):
        if not (file.is_dir() or file.is_file()) or file.is_symlink():
            raise InputError(f"{label}: {file} is not a regular file or folder")
    data = read_input(meta, f"{label}: keras_metadata.pb", MAX_CONFIG_BYTES)
    try:
        docs = [json.loads(text) for text in _metadata_strings(data)]
    except (ValueError, UnicodeDecodeError, IndexError):
        raise InputError(f"{label}: keras_metadata.pb is damaged") from None
    return {"saved_objects": docs}


def _varint(data: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, i
        if shift > 63:
            raise ValueError("varint too long")


def _fields(data: bytes) -> Iterator[tuple[int, int, bytes | int]]:
    """The (field number, wire type, value) of a protobuf message, read by hand: the metadata
    proto is two messages deep and importing its generated module would import Keras."""
    i = 0
    while i < len(data):
        key, i = _varint(data, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(data, i)
            yield number, wire, value
        elif wire == 2:
            size, i = _varint(data, i)
            if i + size > len(data):
                raise ValueError("field past the end")
            yield number, wire, data[i : i + size]
            i += size
        elif wire in (1, 5):
            i += 8 if wire == 1 else 4
        else:
            raise ValueError(f"wire type {wire}")


def _metadata_strings(data: bytes) -> Iterator[str]:
    """SavedMetadata.nodes (field 1), each SavedObject's metadata string (field 5)."""
    for number, wire, node in _fields(data):
        if number == 1 and wire == 2 and isinstance(node, bytes):
            for inner, inner_wire, value in _fields(node):
                if inner == 5 and inner_wire == 2 and isinstance(value, bytes) and value:
                    yield value.decode("utf-8")


def code_layers(config: Any, known: Callable[[str], bool]) -> list[str]:
    """Layers whose configuration carries code, as "'name' (Class)": a Lambda, a serialized
    Python function anywhere, or a class `known` does not recognise as a Keras layer."""
    found: list[str] = []

    def visit(node: Any, owner: str) -> None:
        if isinstance(node, dict):
            cls, cfg = node.get("class_name"), node.get("config")
            name = owner
            if isinstance(cfg, dict) and isinstance(cfg.get("name"), str):
                name = cfg["name"]
            if cls in _CODE_CLASSES or node.get("function_type") == "lambda":
                found.append(f"'{name}' ({cls if cls in _CODE_CLASSES else 'Lambda'})")
            elif (
                isinstance(cls, str)
                and isinstance(cfg, dict)
                and "name" in cfg
                and cls not in _NOT_LAYERS
                and not known(cls)
            ):
                found.append(f"'{name}' ({cls})")
            for value in node.values():
                visit(value, name)
        elif isinstance(node, list):
            for value in node:
                visit(value, owner)

    visit(config, "?")
    return list(dict.fromkeys(found))


def refuse_code(file: ModelFile, known: Callable[[str], bool], option: str) -> None:
    """A one-line error naming the first layer that runs its own code (see code_layers)."""
    found = code_layers(file.config, known)
    if found:
        more = f" and {len(found) - 1} more" if len(found) > 1 else ""
        raise InputError(
            f"{option} {file.path}: layer {found[0]}{more} runs its own code when loaded; pass "
            "--trust-code if you trust this file"
        )
