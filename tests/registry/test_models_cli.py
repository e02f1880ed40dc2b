"""`cnnpc models`: bad input is one line (exit 2) and leaves no folder behind; list/show/remove."""

from __future__ import annotations

import json

import pytest
from registry.graph_kinds import residual

from cnnpc._keras import keras, layers
from cnnpc.cli._main import main

pytestmark = pytest.mark.slow


@pytest.fixture
def roots(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNPC_MODELS", str(tmp_path / "models"))
    monkeypatch.setenv("CNNPC_PROFILES", str(tmp_path / "profiles"))
    return tmp_path


def _fails(capsys, argv, match):
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and match in err, err


def _no_folders(root):
    models = root / "models"
    assert not models.exists() or not [p for p in models.iterdir()], list(models.iterdir())


class _Sub(keras.Model):
    def __init__(self) -> None:
        super().__init__()
        self.dense = layers.Dense(2)

    def call(self, x):
        return self.dense(x)


class Doubler(layers.Layer):
    def call(self, x):
        return x * 2.0


def test_bad_inputs_are_one_line_and_write_nothing(roots, capsys):
    text = roots / "not.keras"
    text.write_text("hello")
    _fails(capsys, ["models", "add", "m", "--keras", str(text)], "not a Keras model")
    _fails(capsys, ["models", "add", "m", "--keras", str(roots / "none.h5")], "no such file")
    sub = _Sub()
    sub(keras.Input((4,)))
    sub.save(roots / "sub")  # a SavedModel folder of a subclassed model
    _fails(
        capsys, ["models", "add", "m", "--keras", str(roots / "sub")], "Functional or Sequential"
    )
    x = keras.Input((8, 8, 3))
    custom = keras.Model(x, layers.Dense(2)(layers.Flatten()(Doubler(name="dbl")(x))))
    custom.save(roots / "custom.keras")
    _fails(capsys, ["models", "add", "m", "--keras", str(roots / "custom.keras")], "Doubler")
    single = keras.Model(x, layers.Conv2D(2, 8, name="only")(x))
    single.save(roots / "single.keras")
    _fails(capsys, ["models", "add", "m", "--keras", str(roots / "single.keras")], "single tensor")
    residual().save(roots / "res.keras")
    res = str(roots / "res.keras")
    _fails(
        capsys, ["models", "add", "m", "--keras", res, "--candidates", "nope"], "no layer 'nope'"
    )
    _fails(capsys, ["models", "add", "m", "--keras", res, "--candidates", "r0a_relu"], "inside")
    _fails(capsys, ["models", "add", "resnet", "--keras", res], "shipped model")
    _fails(capsys, ["models", "add", "m", "--app", "LeNet"], "unknown --app")
    _fails(capsys, ["models", "show", "m"], "unknown model 'm'")
    _no_folders(roots)


def test_add_list_show_remove_and_unprunable_warning(roots, capsys):
    x = keras.Input((8, 8, 3), name="input")
    a = layers.Conv2D(4, 3, padding="same", name="conv")(x)
    b = layers.Lambda(lambda t: t * 2.0, name="double")(a)
    c = layers.Conv2D(5, 3, padding="same", name="conv2")(b)
    y = layers.Dense(2, name="head")(layers.GlobalAveragePooling2D(name="gap")(c))
    keras.Model(x, y).save(roots / "lam.h5")
    capsys.readouterr()
    _fails(capsys, ["models", "add", "lam", "--keras", str(roots / "lam.h5")], "'double' (Lambda)")
    assert main(["models", "add", "lam", "--keras", str(roots / "lam.h5"), "--trust-code"]) == 0
    out = capsys.readouterr().out
    assert (
        "warning: conv is a split point but cannot be pruned" in out and "'double' (Lambda)" in out
    )
    assert main(["models", "add", "lam", "--keras", str(roots / "lam.h5")]) == 2  # clash
    capsys.readouterr()
    assert main(["models", "list", "--json"]) == 0
    names = [m["name"] for m in json.loads(capsys.readouterr().out)["models"]]
    assert names == ["mobilenet", "resnet", "lam"]
    assert main(["models", "show", "lam", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    by_name = {c["name"]: c for c in shown["candidates"]}
    assert not by_name["conv"]["prunable"] and by_name["conv2"]["prunable"]
    assert main(["models", "remove", "lam"]) == 0
    assert main(["models", "remove", "resnet"]) == 2
    _no_folders(roots)
