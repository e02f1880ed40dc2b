"""The runtime-only install serves and infers a deployed plan: `cnnpc serve` (cloud, then edge)
and `cnnpc infer` on PNG files, each its own process, give the labels and scores the full install
computes for the same files, and its end part the same int8 feature (the session's tiny plan gives
every image the same scores, so the feature is what tells images apart).

Two interpreters: this one with the workstation's packages refused by a meta-path finder (always),
and the separate virtual environment `.ci/run` builds with `pip install .` (no extras), named by
CNNPC_RUNTIME_PYTHON, where TensorFlow is not installed at all."""

from __future__ import annotations

import hashlib
import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from deploy.plans import compose
from no_workstation import REFUSE, guarded_cnnpc, guarded_env
from PIL import Image
from sklearn.datasets import load_digits

from cnnpc._keras import tf
from cnnpc.runtime import Part, quantize

pytestmark = pytest.mark.slow
RUNTIME_PYTHON = os.environ.get("CNNPC_RUNTIME_PYTHON")
START_S = 60.0
FEATURES = """
import hashlib, sys
from pathlib import Path
from cnnpc._images import read_images
from cnnpc.records import load_plan
from cnnpc.runtime import Part, quantize
plan = load_plan(sys.argv[1])
end = plan.parts["end"]
part = Part(plan.part_path("end"), end)
images = read_images([Path(p) for p in sys.argv[2:]], plan.image_size)
print(" ".join(hashlib.sha256(part.run(quantize(x[None], end.input))[0].tobytes()).hexdigest()
               for x in images))
"""


def _first_line(proc: subprocess.Popen[str], timeout: float) -> str:
    """The server's first stdout line (its listening address), waiting at most `timeout` s."""
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.2)
        if ready:
            return proc.stdout.readline()
        if proc.poll() is not None:
            break
    stderr = proc.stderr.read() if proc.poll() is not None and proc.stderr else ""
    raise AssertionError(f"no listening line within {timeout} s: {stderr[-2000:]}")


def _port(line: str) -> str:
    """`edge serving DIR with plaintext on 127.0.0.1:PORT, next ...`: PORT."""
    return line.split(" on ", 1)[1].split(",")[0].rsplit(":", 1)[1].strip()


def _serve_and_infer(cnnpc: list[str], env: dict[str, str], folder: Path, images: list[Path]):
    """Cloud and edge servers of `folder` and `cnnpc infer --json IMAGES`, all with `cnnpc`,
    run from the images' folder (not the source tree, which `python -c` would put first)."""
    cwd = images[0].parent
    servers: list[subprocess.Popen[str]] = []
    try:
        nxt: list[str] = []
        for role in ("cloud", "edge"):
            argv = [*cnnpc, "serve", "--role", role, "--plan", str(folder), "--port", "0", *nxt]
            proc = subprocess.Popen(
                argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=cwd
            )
            servers.append(proc)
            line = _first_line(proc, START_S)
            assert line.startswith(f"{role} serving"), line
            nxt = ["--next", f"127.0.0.1:{_port(line)}"]
        argv = [*cnnpc, "infer", "--plan", str(folder), "--edge", nxt[1], "--json"]
        done = subprocess.run(
            [*argv, *map(str, images)],
            capture_output=True,
            text=True,
            env=env,
            cwd=cwd,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        return json.loads(done.stdout)["results"]
    finally:
        for proc in servers:
            proc.terminate()
        for proc in servers:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture(scope="module")
def pngs(data, tmp_path_factory) -> list[Path]:
    """The digits as PNG files: three 8x8 originals (resized up to the plan's 32) and five test
    images at 32x32."""
    root = tmp_path_factory.mktemp("pngs")
    originals = load_digits().images[:3] * 255.0 / 16.0
    pixels = [*originals, *(data.test.x[:5] * 255.0)]
    paths = []
    for i, image in enumerate(pixels):
        paths.append(root / f"digit{i}.png")
        Image.fromarray(np.asarray(image, dtype=np.float64).round().astype(np.uint8)).save(
            paths[-1]
        )
    return paths


@pytest.fixture(scope="module")
def expected(three_tier, pngs) -> tuple[list[tuple[str, int, float]], list[str]]:
    """What the full install computes for the files: TensorFlow's decoder and resize (the path
    `cnnpc infer` took before the runtime-only install), the parts run in this process."""
    size = three_tier.image_size
    images = []
    for path in pngs:
        image = tf.io.decode_image(tf.io.read_file(str(path)), channels=3, expand_animations=False)
        resized = tf.image.resize(tf.cast(image, tf.float32) / 255.0, (size, size)).numpy()
        images.append(np.clip(resized, 0.0, 1.0))
    inputs = np.stack(images).astype(np.float32)
    scores = compose(three_tier, inputs)
    end = three_tier.parts["end"]
    part = Part(three_tier.part_path("end"), end)
    features = [
        hashlib.sha256(part.run(quantize(x[np.newaxis], end.input))[0].tobytes()).hexdigest()
        for x in inputs
    ]
    assert len(set(features)) == len(pngs)  # the end part tells every image apart
    labels = [(str(p), int(s.argmax()), float(s.max())) for p, s in zip(pngs, scores, strict=True)]
    return labels, features


def _predictions(results) -> list[tuple[str, int, float]]:
    return [(r["image"], r["label"], r["score"]) for r in results]


def _features(python: list[str], env: dict[str, str], folder: Path, images: list[Path]):
    argv = [*python, str(folder), *map(str, images)]
    cwd = images[0].parent
    done = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=cwd, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.split()


def test_served_and_inferred_with_the_workstation_refused(three_tier, pngs, expected):
    results = _serve_and_infer(guarded_cnnpc(), guarded_env(), three_tier.folder, pngs)
    assert _predictions(results) == expected[0]
    features = [sys.executable, "-c", REFUSE + FEATURES]
    assert _features(features, guarded_env(), three_tier.folder, pngs) == expected[1]


@pytest.mark.skipif(
    RUNTIME_PYTHON is None,
    reason="CNNPC_RUNTIME_PYTHON is not set: .ci/run builds the runtime-only virtual "
    "environment (pip install .) and names its python there",
)
def test_the_runtime_only_install_serves_a_deployed_plan(three_tier, pngs, expected):
    assert RUNTIME_PYTHON is not None
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    cwd = pngs[0].parent
    probe = subprocess.run(
        [RUNTIME_PYTHON, "-c", "import tensorflow"],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
    )
    assert probe.returncode != 0 and "No module named 'tensorflow'" in probe.stderr
    where = subprocess.run(
        [RUNTIME_PYTHON, "-c", "import cnnpc; print(cnnpc.__file__)"],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        check=True,
    )
    assert "site-packages" in where.stdout, where.stdout  # the installed wheel, not this tree
    results = _serve_and_infer([RUNTIME_PYTHON, "-m", "cnnpc"], env, three_tier.folder, pngs)
    assert _predictions(results) == expected[0]
    features = [RUNTIME_PYTHON, "-c", FEATURES]
    assert _features(features, env, three_tier.folder, pngs) == expected[1]
