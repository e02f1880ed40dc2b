"""A model file whose layers carry code is refused before anything in it runs (every format,
any suffix), unless the user trusts it; sizes that would exhaust memory are refused first."""

from __future__ import annotations

import os
import shutil
import time

import pytest

from cnnpc._keras import keras, layers
from cnnpc.cli._main import main
from cnnpc.errors import InputError
from cnnpc.modelfile import code_layers, read_model_file, trust_model_file
from cnnpc.oracle._user import load_whole_model

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def evil(tmp_path_factory):
    """The same tiny model with a Lambda that writes a marker, in every format cnnpc reads."""
    root = tmp_path_factory.mktemp("evil")
    marker = root / "marker"

    def build():
        x = keras.Input((8, 8, 3), name="input")
        a = layers.Conv2D(4, 3, padding="same", name="conv")(x)
        b = layers.Lambda(
            lambda t, p=str(marker): (open(p, "w").write("ran"), t)[1],  # noqa: PTH123, SIM115
            name="evil",
        )(a)
        c = layers.Conv2D(4, 3, padding="same", name="conv2")(b)
        return keras.Model(x, layers.Dense(2, name="head")(layers.GlobalAveragePooling2D()(c)))

    model = build()
    files = {
        "h5": root / "evil.h5",
        "keras": root / "evil.keras",
        "savedmodel": root / "evil_savedmodel",
    }
    model.save(files["h5"])
    model.save(files["keras"])
    model.save(files["savedmodel"], save_format="tf")
    files["renamed"] = root / "renamed.keras"
    shutil.copy(files["h5"], files["renamed"])
    marker.unlink(missing_ok=True)
    return files, marker


@pytest.fixture
def roots(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNPC_MODELS", str(tmp_path / "models"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _one_line_error(capsys, argv, match):
    capsys.readouterr()
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own refusals
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and match in err, err
    assert "Traceback" not in err


@pytest.mark.parametrize("kind", ["h5", "keras", "savedmodel", "renamed"])
def test_a_code_carrying_layer_is_refused_before_it_runs(evil, roots, capsys, kind):
    files, marker = evil
    _one_line_error(
        capsys,
        ["models", "add", "m", "--keras", str(files[kind])],
        "layer 'evil' (Lambda) runs its own code when loaded; pass --trust-code",
    )
    assert not marker.exists()
    models = roots / "models"
    assert not models.exists() or not list(models.iterdir())  # no folder, no hidden temporary


def test_the_format_is_read_from_the_content_not_the_suffix(evil):
    files, _ = evil
    assert read_model_file(files["renamed"]).format == "h5"
    assert read_model_file(files["keras"]).format == "keras"
    assert read_model_file(files["savedmodel"]).format == "savedmodel"
    for kind in files:
        found = code_layers(read_model_file(files[kind]).config, lambda _: True)
        assert found == ["'evil' (Lambda)"], (kind, found)


def test_weights_files_are_checked_the_same_way(evil, roots, capsys):
    files, marker = evil
    for kind in ("h5", "savedmodel", "renamed"):
        with pytest.raises(InputError, match=r"--weights .*'evil' \(Lambda\) runs its own code"):
            load_whole_model(files[kind])
    _one_line_error(
        capsys,
        ["compress", "--model", "mobilenet", "--weights", str(files["h5"]), "--keep", "block1=1"],
        "'evil' (Lambda) runs its own code",
    )
    assert not marker.exists()
    assert sorted(p.name for p in roots.iterdir()) == []


def test_trust_code_loads_it_and_every_later_use_says_so(evil, roots, capsys):
    files, marker = evil
    capsys.readouterr()
    argv = ["models", "add", "m", "--keras", str(files["h5"]), "--trust-code"]
    assert main(argv) == 0
    assert marker.exists()  # the user trusted it: its code ran
    marker.unlink()
    assert "trust_code: true" in (roots / "models" / "m" / "model.yaml").read_text()
    capsys.readouterr()
    assert main(["models", "show", "m"]) == 0
    err = capsys.readouterr().err
    assert err.count("note: model 'm' was added with --trust-code") == 1, err
    trust_model_file(files["savedmodel"])
    assert load_whole_model(files["savedmodel"]).get_layer("evil") is not None


def test_damaged_and_special_model_files_are_one_line(roots, capsys):
    (roots / "noise.keras").write_bytes(os.urandom(64))
    (roots / "zip.keras").write_bytes(b"PK\x03\x04" + b"\0" * 60)
    os.mkfifo(roots / "fifo.h5")
    (roots / "empty_dir").mkdir()
    cases = [
        ("noise.keras", "not a Keras model file"),
        ("zip.keras", "a damaged .keras archive"),
        ("fifo.h5", "it is a FIFO, not a regular file"),
        ("empty_dir", "a folder without saved_model.pb"),
        ("missing.h5", "no such file"),
    ]
    start = time.monotonic()
    for name, match in cases:
        _one_line_error(capsys, ["models", "add", "m", "--keras", str(roots / name)], match)
    assert time.monotonic() - start < 30
    assert not (roots / "models").exists()


def test_sizes_that_would_exhaust_memory_are_refused_before_building(roots, capsys):
    start = time.monotonic()
    _one_line_error(
        capsys,
        ["models", "add", "v", "--app", "VGG16", "--input-size", "1024"],
        "parameters, over the 250,000,000 cnnpc builds",
    )
    _one_line_error(
        capsys,
        ["models", "add", "v", "--app", "MobileNetV2", "--classes", "1000000"],
        "must be <= 100000",
    )
    _one_line_error(
        capsys, ["models", "add", "v", "--app", "VGG16", "--input-size", "4096"], "must be <= 1024"
    )
    _one_line_error(
        capsys, ["models", "add", "x" * 256, "--app", "MobileNetV2"], "256 bytes: at most 241"
    )
    _one_line_error(capsys, ["models", "add", "é" * 121, "--app", "MobileNetV2"], "at most 241")
    assert time.monotonic() - start < 60
    assert not (roots / "models").exists()


def test_removing_a_linked_entry_drops_the_link_only(roots, capsys, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("elsewhere") / "m"
    elsewhere.mkdir()
    (elsewhere / "model.yaml").write_text("kind: app\n")
    (roots / "models").mkdir()
    (roots / "models" / "m").symlink_to(elsewhere, target_is_directory=True)
    assert main(["models", "remove", "m"]) == 0
    assert list((roots / "models").iterdir()) == [] and (elsewhere / "model.yaml").exists()


def test_an_object_imported_from_outside_keras_is_refused(roots, capsys, monkeypatch):
    """Keras imports a config's "module" to find a class: any installed module, run on import."""
    import json
    import zipfile

    marker = roots / "imported"
    (roots / "lib").mkdir()
    (roots / "lib" / "cnnpc_evil_mod.py").write_text(
        f"open({str(marker)!r}, 'w').write('ran')\nclass Evil:\n    pass\n"
    )
    monkeypatch.syspath_prepend(str(roots / "lib"))  # a module beside a downloaded model
    x = keras.Input((8, 8, 3), name="input")
    y = layers.GlobalAveragePooling2D()(layers.Conv2D(4, 3, name="conv")(x))
    keras.Model(x, layers.Dense(2, name="head")(y), name="evil").save(roots / "clean.keras")
    with zipfile.ZipFile(roots / "clean.keras") as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    config = json.loads(members["config.json"])
    # the model's own "module": tf-keras imports it even in safe mode (a layer's or an
    # initializer's is looked up among Keras' own objects first)
    config.update(module="cnnpc_evil_mod", registered_name="Evil")
    members["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(roots / "evil.keras", "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    _one_line_error(
        capsys,
        ["models", "add", "m", "--keras", str(roots / "evil.keras")],
        "layer 'evil' (cnnpc_evil_mod.Functional) runs its own code when loaded",
    )
    assert not marker.exists()
    assert not (roots / "models").exists()
    capsys.readouterr()
    main(["models", "add", "m", "--keras", str(roots / "evil.keras"), "--trust-code"])
    assert marker.exists()  # the refusal above is what kept the import from running


def test_keras_own_modules_pass_and_python_builtins_do_not():
    clean = {
        "class_name": "Conv2D",
        "module": "keras.layers",
        "config": {
            "name": "c",
            "kernel_initializer": {"module": "keras.initializers", "class_name": "Zeros"},
            "activation": {"module": "builtins", "class_name": "function", "config": "relu"},
        },
    }
    assert code_layers(clean, lambda _: True) == []
    clean["config"]["activation"]["config"] = "exec"
    assert code_layers(clean, lambda _: True) == ["'c' (builtins.exec)"]
