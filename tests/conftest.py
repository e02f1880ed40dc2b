"""Shared fixtures: paths to the CNNPC reference tables the fidelity tests compare against."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REFERENCE = Path(__file__).parent / "fixtures" / "cnnpc_reference"


# --- two processes (pytest-xdist, --dist loadfile) ----------------------------------------------
# A session fixture is built once per worker that needs it. These train or convert models (tens
# of seconds each): every module that uses one (directly or through another fixture) is sent to
# the same worker, so each is built once per run; every other module is a unit of its own
# (loadfile's rule, so module fixtures are built once too). xdist's own xdist_group marks do not
# reach its scheduler on pytest 9.2 (pytest-xdist issue 1386), so the workers write the modules'
# units to files and our scheduler reads them.
SHARED_BUILDS = {
    "_three_tier_plan": "three-tier-plan",
    "tiny_baseline": "oracle-baseline",
    "supernet": "supernet",
    "baseline": "supernet",
}
_UNITS = "CNNPC_TEST_UNITS"
"""The folder the workers write their module -> unit maps to (set by the controller)."""


def pytest_configure(config):
    if config.getoption("dist", "no") == "loadfile" and not hasattr(config, "workerinput"):
        import tempfile

        os.environ[_UNITS] = tempfile.mkdtemp(prefix="cnnpc-test-units-")  # workers inherit it


def pytest_unconfigure(config):
    if not hasattr(config, "workerinput") and _UNITS in os.environ:
        import shutil

        shutil.rmtree(os.environ.pop(_UNITS), ignore_errors=True)


def pytest_collection_modifyitems(config, items):
    folder = os.environ.get(_UNITS)
    if folder is None or not hasattr(config, "workerinput"):
        return
    import json

    units: dict[str, str] = {}
    for item in items:
        module = item.nodeid.split("::")[0]
        shared = [SHARED_BUILDS[f] for f in item.fixturenames if f in SHARED_BUILDS]
        units[module] = shared[0] if shared else units.get(module, module)
    path = Path(folder) / config.workerinput["workerid"]
    path.with_suffix(".tmp").write_text(json.dumps(units))
    path.with_suffix(".tmp").replace(path.with_suffix(".json"))


def pytest_xdist_make_scheduler(config, log):
    if config.getoption("dist") != "loadfile" or _UNITS not in os.environ:
        return None
    import json

    from xdist.scheduler import LoadFileScheduling

    class SharedBuildScheduling(LoadFileScheduling):
        """loadfile, with the modules of one shared build in one unit."""

        units: dict[str, str] | None = None

        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            if self.units is None:  # read once every worker has collected (they all agree)
                self.units = {}
                for path in sorted(Path(os.environ[_UNITS]).glob("*.json")):
                    self.units.update(json.loads(path.read_text()))
            return self.units.get(module, module)

    return SharedBuildScheduling(config, log)


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    return REFERENCE


@pytest.fixture(scope="session")
def postgres_url_factory():
    """Makes fresh databases on one PostgreSQL server started for the session (or skips)."""
    from postgres_server import Unavailable, create_database, postgres_server

    try:
        server = postgres_server()
        url = server.__enter__()
    except Unavailable as exc:
        print(f"\nSKIP PostgreSQL tests: {exc}")
        pytest.skip(f"PostgreSQL tests skipped: {exc}")
    counter = iter(range(1_000_000))
    try:
        yield lambda: create_database(url, f"cnnpc_test_{next(counter)}")
    finally:
        server.__exit__(None, None, None)


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory) -> Path:
    """A cache folder every worker of this run shares. The deploy, golden and supernet modules
    start from the same tiny baseline; through this folder it is trained once per run, not once
    per module (`trained_baseline` writes atomically: two workers training it at once write
    the same weights). Fine-tuned models are not kept here: tests that count fine-tunes own
    their model stores."""
    folder = os.environ.get(_UNITS)
    if folder is None:
        return tmp_path_factory.mktemp("shared-cache")
    root = Path(folder) / "cache"
    root.mkdir(exist_ok=True)
    return root


@pytest.fixture(scope="session")
def tiny_recipe():
    """The tiny baseline's recipe (one epoch of 3 steps)."""
    from cnnpc.oracle import Recipe

    return Recipe(epochs=1, steps_per_epoch=3)


@pytest.fixture(scope="session")
def data():
    """The small digits workload the deploy, runtime and validate tests share."""
    from deploy.plans import workload

    return workload()


@pytest.fixture(scope="session")
def _three_tier_plan():
    from deploy.plans import three_tier_plan

    return three_tier_plan()


@pytest.fixture(scope="session")
def three_tier(_three_tier_plan):
    """A deployed end->edge->cloud plan of a tiny fine-tuned model (built once per session)."""
    return _three_tier_plan[0]


@pytest.fixture(scope="session")
def qat_model(_three_tier_plan):
    """The quantization-aware Keras model that plan was cut from."""
    return _three_tier_plan[1]


# --- TFLite conversions, once per session ------------------------------------------------------
# Many tests deploy the same tiny model at the same cuts; the converter is a pure function of the
# segment (architecture, weights) and its calibration images, so the session converts each once.
# Only results are kept: a refused conversion raises every time. Not a product cache: deploy
# converts what it is given.

_CONVERTED: dict[str, bytes] = {}
_CONVERSIONS = {"converted": 0, "reused": 0, "seconds": 0.0}
_BY_TEST: dict[str, list[float]] = {}
"""Seconds of every conversion made, by the test module that made it (CNNPC_CONVERSIONS_BY_TEST)."""


def _segment_key(segment, calibration) -> str:
    import hashlib

    digest = hashlib.sha256(segment.to_json().encode())
    for weight in segment.weights:
        digest.update(weight.name.encode())
        digest.update(weight.numpy().tobytes())
    digest.update(b"none" if calibration is None else calibration.tobytes())
    return digest.hexdigest()


def _once(convert):
    import time

    def to_int8_tflite(segment, calibration):
        key = _segment_key(segment, calibration)
        if key in _CONVERTED:
            _CONVERSIONS["reused"] += 1
            return _CONVERTED[key]
        start = time.perf_counter()
        buffer = convert(segment, calibration)
        seconds = time.perf_counter() - start
        _CONVERSIONS["seconds"] += seconds
        test = os.environ.get("PYTEST_CURRENT_TEST", "?").split("::")[0]
        _BY_TEST.setdefault(test, []).append(seconds)
        _CONVERSIONS["converted"] += 1
        _CONVERTED[key] = buffer
        return buffer

    return to_int8_tflite


@pytest.fixture(scope="session", autouse=True)
def _convert_once(request):
    """Wrap the converter before any session fixture deploys, in sessions that run slow (Keras)
    tests; a session of fast tests does not import TensorFlow for it."""
    if not any(item.get_closest_marker("slow") for item in request.session.items):
        yield
        return
    import cnnpc.deploy
    import cnnpc.deploy._convert as module

    real = module.to_int8_tflite
    module.to_int8_tflite = cnnpc.deploy.to_int8_tflite = _once(real)
    yield
    module.to_int8_tflite = cnnpc.deploy.to_int8_tflite = real


def pytest_terminal_summary(terminalreporter):
    c = _CONVERSIONS
    if c["converted"] or c["reused"]:
        mean = c["seconds"] / max(c["converted"], 1)
        terminalreporter.write_line(
            f"TFLite conversions: {c['converted']} made ({c['seconds']:.0f} s), {c['reused']} "
            f"reused (about {c['reused'] * mean:.0f} s saved)"
        )
    if os.environ.get("CNNPC_CONVERSIONS_BY_TEST"):
        for test, times in sorted(_BY_TEST.items(), key=lambda kv: -sum(kv[1])):
            terminalreporter.write_line(f"  {sum(times):6.1f} s {len(times):3d} {test}")


@pytest.fixture(scope="session")
def plan_set(three_tier, qat_model, data, tmp_path_factory):
    """`deploy.folders`' plan set (P1 the three-tier plan, P2 end -> edge): (table, plans);
    the folder is `plans["P1"].folder`. Built once: P2 is a TFLite conversion of its own."""
    from deploy.folders import plan_set_folder

    return plan_set_folder(three_tier, qat_model, data, tmp_path_factory.mktemp("set") / "set")
