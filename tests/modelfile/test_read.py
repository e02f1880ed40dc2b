"""A model file's configuration is read and checked without TensorFlow: hostile configurations
(objects imported from any module, TF ops that do more than arithmetic, deep nesting, damaged
HDF5 attributes, special files in a SavedModel folder) are found or refused in one line."""

from __future__ import annotations

import json
import os
import zipfile

import h5py
import numpy as np
import pytest

from cnnpc.errors import InputError
from cnnpc.modelfile import MAX_DEPTH, MAX_FOLDER_FILES, code_layers, read_model_file

KERAS_LAYERS = {"InputLayer", "Conv2D", "Dense", "TFOpLambda", "SlicingOpLambda"}


def _known(cls: str) -> bool:
    return cls in KERAS_LAYERS


def _model(*layers: dict) -> dict:
    return {"class_name": "Functional", "config": {"name": "m", "layers": list(layers)}}


def _layer(cls: str, name: str, **config: object) -> dict:
    return {"class_name": cls, "config": {"name": name, **config}}


def test_objects_imported_from_outside_keras_carry_code():
    init = {"module": "evil_pkg.sub", "class_name": "Init", "config": {}, "registered_name": "I"}
    exec_fn = {"module": "builtins", "class_name": "function", "config": "exec"}
    relu = {"module": "builtins", "class_name": "function", "config": "relu"}
    typespec = {"class_name": "__typespec__", "spec_name": "Spec", "module": "os", "config": {}}
    config = _model(
        _layer("Conv2D", "ok", kernel_initializer={"module": "keras.initializers", "config": {}}),
        _layer("Dense", "relu", activation=relu),
        _layer("Dense", "init", kernel_initializer=init),
        _layer("Dense", "exec", activation=exec_fn),
        _layer("Dense", "spec", spec=typespec),
        {**_layer("Conv2D", "moved"), "module": "antigravity"},
    )
    assert code_layers(config, _known) == [
        "'init' (evil_pkg.sub.Init)",
        "'exec' (builtins.exec)",
        "'spec' (os.Spec)",
        "'moved' (antigravity.Conv2D)",
    ]


@pytest.mark.parametrize(
    ("function", "refused"),
    [
        ("math.multiply", False),
        ("__operators__.add", False),
        ("nn.relu6", False),
        ("reshape", False),
        ("io.write_file", True),
        ("io.gfile.remove", True),
        ("raw_ops.WriteFile", True),
        ("py_function", True),
        ("print", True),
        ("math.x.y", True),
        (None, True),
    ],
)
def test_a_tf_op_layer_may_only_do_arithmetic(function, refused):
    config = _model(_layer("TFOpLambda", "op", function=function))
    found = code_layers(config, _known)
    assert found == ([f"'op' (TFOpLambda calling tf.{function})"] if refused else [])


def test_lambdas_and_unknown_classes_in_document_order():
    config = _model(
        _layer("Conv2D", "c"),
        _layer("MyLayer", "mine"),
        _layer("Lambda", "l"),
        {"class_name": "Dense", "config": {"name": "d", "f": {"function_type": "lambda"}}},
    )
    assert code_layers(config, _known) == ["'mine' (MyLayer)", "'l' (Lambda)", "'d' (Lambda)"]


def test_deep_configurations_are_walked_without_recursion_and_refused_on_read(tmp_path):
    deep: list = []
    node = deep
    for _ in range(20_000):
        node.append([])
        node = node[0]
    node.append(_layer("Lambda", "l"))
    assert code_layers(deep, _known) == ["'l' (Lambda)"]  # no RecursionError
    nested = "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5)
    with zipfile.ZipFile(tmp_path / "deep.keras", "w") as archive:
        archive.writestr("config.json", nested)
    with pytest.raises(InputError, match=f"nested over {MAX_DEPTH} levels"):
        read_model_file(tmp_path / "deep.keras")
    with zipfile.ZipFile(tmp_path / "deeper.keras", "w") as archive:
        archive.writestr("config.json", "[" * 200_000 + "]" * 200_000)
    with pytest.raises(InputError, match=r"config\.json is not readable JSON"):
        read_model_file(tmp_path / "deeper.keras")


@pytest.mark.parametrize(
    ("value", "match"),
    [
        (np.arange(5), "is not text"),
        (np.array([b"a", b"b"]), "is not text"),
        ("{not json", "is not readable JSON"),
        ("[" * 200_000 + "]" * 200_000, "is not readable JSON"),
    ],
)
def test_a_hostile_hdf5_model_config_is_one_line(tmp_path, value, match):
    path = tmp_path / "m.h5"
    with h5py.File(path, "w") as handle:
        handle.attrs["model_config"] = value
    with pytest.raises(InputError, match=match):
        read_model_file(path)


def test_a_truncated_hdf5_file_is_one_line(tmp_path):
    path = tmp_path / "m.h5"
    with h5py.File(path, "w") as handle:
        handle.attrs["model_config"] = json.dumps(_model(_layer("Conv2D", "c")))
        handle.create_dataset("w", data=np.zeros(10_000))
    (tmp_path / "cut.h5").write_bytes(path.read_bytes()[:2000])
    with pytest.raises(InputError, match="a damaged HDF5 file"):
        read_model_file(tmp_path / "cut.h5")


def _savedmodel(folder, metadata: bytes = b""):
    folder.mkdir()
    (folder / "saved_model.pb").write_bytes(b"\x08\x01")
    (folder / "keras_metadata.pb").write_bytes(metadata)
    return folder


def _metadata(*docs: dict) -> bytes:
    """SavedMetadata with one SavedObject per document (field 1 > field 5), hand-encoded."""

    def field(number: int, payload: bytes) -> bytes:
        size, out = len(payload), b""
        while size >= 0x80:
            out += bytes([size & 0x7F | 0x80])
            size >>= 7
        return bytes([number << 3 | 2]) + out + bytes([size]) + payload

    return b"".join(field(1, field(5, json.dumps(doc).encode())) for doc in docs)


def test_a_savedmodel_folder_is_read_from_its_keras_metadata(tmp_path):
    folder = _savedmodel(tmp_path / "sm", _metadata(_layer("Lambda", "l"), _layer("Conv2D", "c")))
    file = read_model_file(folder)
    assert file.format == "savedmodel"
    assert code_layers(file.config, _known) == ["'l' (Lambda)"]
    (folder / "keras_metadata.pb").write_bytes(b"\x0a\xff\xff\xff\xff\x0f")
    with pytest.raises(InputError, match=r"keras_metadata\.pb is damaged"):
        read_model_file(folder)


@pytest.mark.parametrize("kind", ["fifo", "link", "dangling", "many", "no metadata"])
def test_a_savedmodel_folder_holds_regular_files_only_and_few(tmp_path, kind):
    folder = _savedmodel(tmp_path / "sm", _metadata(_layer("Conv2D", "c")))
    (folder / "variables").mkdir()
    target = folder / "variables" / "variables.index"
    match = "is not a regular file or folder"
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "link":
        target.symlink_to("/etc/hostname")
    elif kind == "dangling":
        target.symlink_to(tmp_path / "nothing")
    elif kind == "many":
        for i in range(MAX_FOLDER_FILES):
            (folder / "variables" / str(i)).touch()
        match = f"over {MAX_FOLDER_FILES:,} files"
    else:
        (folder / "keras_metadata.pb").unlink()
        match = "without Keras metadata"
    with pytest.raises(InputError, match=match):
        read_model_file(folder)


def test_a_name_too_long_for_the_file_system_is_one_line(tmp_path):
    with pytest.raises(InputError, match="File name too long"):
        read_model_file(tmp_path / ("x" * 300))
