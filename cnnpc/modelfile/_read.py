"""Read a saved model's configuration without deserializing it, and find layers that run code.

Why: loading a ``.h5`` file or a SavedModel folder rebuilds a ``Lambda`` layer's Python function
from the file's bytecode, so the file's author runs code on our machine before we see the model.
The format is told by content (zip or HDF5 signature), never by suffix, so an ``.h5`` renamed to
``.keras`` is read as what it is. Reading the configuration needs no TensorFlow.
"""

from __future__ import annotations

import builtins
import json
import os
import stat
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from cnnpc._files import MiB, ReadError, read_input
from cnnpc.errors import InputError

Format = Literal["keras", "h5", "savedmodel"]
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
ZIP_SIGNATURE = b"PK\x03\x04"
MAX_MODEL_BYTES = 4096 * MiB
"""A saved model larger than 4 GiB is refused (the largest Keras application is ~550 MB)."""
MAX_CONFIG_BYTES = 64 * MiB
MAX_FOLDER_FILES = 10_000
"""Most files in a SavedModel folder (one holds a few dozen): a bigger tree is not a model."""
MAX_DEPTH = 100
"""Deepest nesting of a model config (an application nests ~10): deeper ones would exhaust
Python's recursion in Keras' own loader."""
_SAVEDMODEL_FILES = ("saved_model.pb", "keras_metadata.pb")
_CODE_CLASSES = frozenset({"Lambda", "__lambda__"})
_NOT_LAYERS = frozenset({"Functional", "Sequential", "Model", "Policy", "DTypePolicy"})
_KERAS_MODULES = ("keras", "tf_keras")
_TF_OP_LAYERS = frozenset({"TFOpLambda", "SlicingOpLambda"})
_TF_OP_NAMESPACES = frozenset({"__operators__", "math", "nn", "image", "linalg", "bitwise"})
# fmt: off
_TF_OPS = frozenset({
    "abs", "add", "argmax", "argmin", "broadcast_to", "cast", "clip_by_value", "concat", "cos",
    "divide", "einsum", "exp", "expand_dims", "fill", "gather", "gather_nd", "identity", "matmul",
    "maximum", "minimum", "multiply", "norm", "one_hot", "ones", "ones_like", "pad", "pow",
    "range", "reduce_max", "reduce_mean", "reduce_min", "reduce_prod", "reduce_sum", "reshape",
    "reverse", "roll", "round", "shape", "sigmoid", "sign", "sin", "slice", "split", "sqrt",
    "square", "squeeze", "stack", "strided_slice", "subtract", "tanh", "tile", "transpose",
    "truediv", "unstack", "where", "zeros", "zeros_like",
})
# fmt: on
"""The TensorFlow functions a TFOpLambda layer may call (what tf-keras records for a TF op
applied to a Keras tensor): arithmetic and array operations. Others (tf.io.write_file,
tf.py_function, tf.print, tf.raw_ops ...) read, write or run more than arithmetic."""


def _foreign(node: dict[str, Any]) -> str | None:
    """What a serialized object imports from outside Keras, as "module.name", else None.

    Keras imports an object's "module" to find its class or function (any installed module, its
    top-level code run), and looks a "builtins" function up in Python's builtins (exec, open)."""
    module = node.get("module")
    if not isinstance(module, str):
        return None
    cls = node.get("class_name")
    name = node.get("config") if cls == "function" else node.get("spec_name", cls)
    if module.split(".")[0] in _KERAS_MODULES:
        return None
    if module == "builtins" and not (isinstance(name, str) and hasattr(builtins, name)):
        return None  # a Keras function (activation, loss) saved by name
    return f"{module}.{name}"


def _tf_op(node: dict[str, Any]) -> str | None:
    """The TensorFlow function a TFOpLambda layer calls, when it is not plain arithmetic."""
    cfg = node.get("config")
    function = cfg.get("function") if isinstance(cfg, dict) else None
    if isinstance(function, str):
        head, _, tail = function.partition(".")
        if (tail and head in _TF_OP_NAMESPACES and "." not in tail) or function in _TF_OPS:
            return None
    return f"tf.{function}"


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
    try:
        folder = stat.S_ISDIR(path.stat().st_mode)
    except OSError:
        folder = False  # check_input_file below names what is wrong
    if folder:
        if not (path / _SAVEDMODEL_FILES[0]).exists():
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
    """The first bytes of a regular file of at most MAX_MODEL_BYTES (read_input's checks)."""
    return read_input(path, _label(option, path), MAX_MODEL_BYTES, head=8)


def read_model_file(path: str | Path, option: str = "--keras") -> ModelFile:
    """The format and configuration of a saved model, read without running anything in it."""
    path = Path(path)
    label = _label(option, path)
    try:
        os.lstat(path)
    except FileNotFoundError:
        raise InputError(f"{label}: no such file or folder") from None
    except OSError as exc:
        raise InputError(f"{label}: cannot read: {exc.strerror or exc}") from None
    kind = model_format(path, option)
    try:
        if kind == "keras":
            config = _zip_config(path, label)
        elif kind == "h5":
            config = _h5_config(path, label)
        else:
            config = _savedmodel_config(path, label)
    except ReadError as exc:
        raise InputError(str(exc)) from None
    if not _shallow(config):
        raise InputError(
            f"{label}: its configuration is nested over {MAX_DEPTH} levels deep: it cannot be "
            "checked or loaded"
        )
    return ModelFile(path, kind, config)


def _json(data: str | bytes, label: str, what: str) -> Any:
    """A JSON document from a model file; damaged or too deeply nested text is one line."""
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise InputError(f"{label}: {what} is not readable JSON") from None


def _zip_config(path: Path, label: str) -> Any:
    try:
        with zipfile.ZipFile(path) as archive:
            info = archive.getinfo("config.json")
            if info.file_size > MAX_CONFIG_BYTES:
                raise InputError(f"{label}: config.json is over {MAX_CONFIG_BYTES:,} bytes")
            data = archive.read(info)
    except KeyError:
        raise InputError(
            f"{label}: a zip archive without config.json: not a .keras model"
        ) from None
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, EOFError) as exc:
        raise InputError(f"{label}: a damaged .keras archive ({type(exc).__name__})") from None
    return _json(data, label, "config.json")


def _h5_config(path: Path, label: str) -> Any:
    import h5py  # type: ignore[import-untyped]

    try:
        with h5py.File(path, "r") as handle:
            raw = handle.attrs.get("model_config")
    except (OSError, KeyError, ValueError, TypeError, RuntimeError):
        raise InputError(f"{label}: a damaged HDF5 file") from None
    if raw is None:
        return None
    if not isinstance(raw, (str, bytes)):
        raise InputError(f"{label}: the model config in this HDF5 file is not text")
    return _json(raw, label, "the model config in this HDF5 file")


def _savedmodel_config(path: Path, label: str) -> Any:
    """The Keras metadata of a SavedModel folder: one JSON document per saved object."""
    _check_folder(path, label)
    meta = path / "keras_metadata.pb"
    if not meta.exists():
        raise InputError(
            f"{label}: a SavedModel without Keras metadata (keras_metadata.pb): its layers "
            "cannot be checked"
        )
    data = read_input(meta, f"{label}: keras_metadata.pb", MAX_CONFIG_BYTES)
    try:
        texts = list(_metadata_strings(data))
    except (ValueError, UnicodeDecodeError, IndexError):
        raise InputError(f"{label}: keras_metadata.pb is damaged") from None
    return {"saved_objects": [_json(text, label, "keras_metadata.pb") for text in texts]}


def _check_folder(path: Path, label: str) -> None:
    """A SavedModel folder holds regular files and folders only (no link, FIFO or device),
    at most MAX_FOLDER_FILES of them and MAX_MODEL_BYTES in all."""
    files = total = 0
    pending = [path]
    while pending:
        try:
            entries = list(os.scandir(pending.pop()))
        except OSError as exc:
            raise InputError(f"{label}: cannot read: {exc.strerror or exc}") from None
        for entry in entries:
            files += 1
            st = entry.stat(follow_symlinks=False)
            if stat.S_ISDIR(st.st_mode):
                pending.append(Path(entry.path))
            elif stat.S_ISREG(st.st_mode):
                total += st.st_size
            else:
                raise InputError(f"{label}: {entry.path} is not a regular file or folder")
            if files > MAX_FOLDER_FILES or total > MAX_MODEL_BYTES:
                raise InputError(
                    f"{label}: over {MAX_FOLDER_FILES:,} files or {MAX_MODEL_BYTES:,} bytes: "
                    "not a SavedModel"
                )


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


def _shallow(config: Any) -> bool:
    """Whether `config` nests at most MAX_DEPTH levels (checked without recursion)."""
    pending = [(config, 0)]
    while pending:
        node, depth = pending.pop()
        if depth > MAX_DEPTH:
            return False
        children = node.values() if isinstance(node, dict) else node
        if isinstance(node, (dict, list)):
            pending.extend((child, depth + 1) for child in children)
    return True


def _carries_code(node: dict[str, Any], known: Callable[[str], bool]) -> str | None:
    """Why one serialized object runs code of its own (as "Class" or "module.name"), else None."""
    cls, cfg = node.get("class_name"), node.get("config")
    foreign = _foreign(node)
    if cls in _CODE_CLASSES or node.get("function_type") == "lambda":
        return str(cls) if cls in _CODE_CLASSES else "Lambda"
    if foreign is not None:
        return foreign
    if cls in _TF_OP_LAYERS:
        call = _tf_op(node)
        return None if call is None else f"{cls} calling {call}"
    layer = isinstance(cls, str) and isinstance(cfg, dict) and "name" in cfg
    if layer and cls not in _NOT_LAYERS and not known(str(cls)):
        return str(cls)
    return None


def code_layers(config: Any, known: Callable[[str], bool]) -> list[str]:
    """Layers whose configuration carries code, as "'name' (Class)": a Lambda, a serialized
    Python function anywhere, an object imported from outside Keras (see _foreign), a TF op
    layer calling more than arithmetic (see _TF_OPS), or a class `known` does not recognise as
    a Keras layer. In document order; walked without recursion."""
    found: list[str] = []
    pending: list[tuple[Any, str]] = [(config, "?")]
    while pending:
        node, owner = pending.pop()
        if isinstance(node, dict):
            cfg = node.get("config")
            name = (
                cfg["name"] if isinstance(cfg, dict) and isinstance(cfg.get("name"), str) else owner
            )
            why = _carries_code(node, known)
            if why is not None:
                found.append(f"'{name}' ({why})")
            pending.extend((value, name) for value in reversed(list(node.values())))
        elif isinstance(node, list):
            pending.extend((value, owner) for value in reversed(node))
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
