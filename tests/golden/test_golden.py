"""Golden files: the JSON of `plan`, `search`, `show`, `export` and `deploy` is byte-identical
to the JSON recorded before the records refactor (issue 18), for the same inputs.

Each test runs a command in-process (``cnnpc.cli.main``, the way tests/cli does) in a fresh
working folder, with relative paths (``--storage sqlite:///r.db``, ``--accuracy table:table.csv``)
so that no temporary path reaches the output, passes the text it printed or the file it wrote
through ``normalize`` (the one place where volatile values are masked; see its docstring for the
exact keys) and compares the result byte for byte with ``tests/golden/data/<name>``. A missing
or different file fails with a short unified diff. To record the files again after an intended
change of output, run ``CNNPC_UPDATE_GOLDEN=1 python -m pytest tests/golden`` (add ``-m slow``
or nothing, so that the deploy goldens, which train a tiny model and convert TFLite parts, are
rewritten too) and review ``git diff tests/golden/data`` before committing it. The inputs are
fixed: the accuracy table ``data/accuracy_table.csv`` (no training), seeds, trial counts, and for
deploy the tiny mobilenet of tests/deploy (trained 3 steps, fine-tuned 2 steps at 32x32) with a
best plan stored through tests/storage/factories.
"""

from __future__ import annotations

import contextlib
import difflib
import io
import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from cnnpc.cli import main
from cnnpc.storage import CacheEntry

DATA = Path(__file__).parent / "data"
TABLE = DATA / "accuracy_table.csv"
UPDATE = os.environ.get("CNNPC_UPDATE_GOLDEN") == "1"

MASKED_KEYS = (
    "created_at",  # timestamps (searches, plan.json, planset.json, upload.json)
    "updated_at",
    "started_at",
    "finished_at",
    "exported_at",
    "duration_s",  # a trial's wall time (show)
    "Wall time, created to last update (s)",  # show's overview line
    "solve_ms",  # the min cut's solve time (plan --granularity layer)
    "code_version",  # cnnpc's version (stored with a search)
    "cnnpc_version",
    "sha256",  # a TFLite part's digest: its bytes carry Keras' process-wide layer-name
    # counters, so they depend on which models the test process built before (the parts'
    # shapes, dtypes and quantisation stay compared)
)
"""The keys whose scalar values ``normalize`` replaces, wherever they occur."""
MASK = "<MASKED>"
TMP = "<TMP>"
_MASKED = re.compile(
    r'("(?:' + "|".join(re.escape(k) for k in MASKED_KEYS) + r')":\s*)'
    r'(?:"(?:[^"\\]|\\.)*"|-?[0-9][0-9.eE+-]*|null|true|false)'
)


ROUNDED_KEYS = ("predicted_accuracy",)
"""Keys whose numbers ``normalize`` rounds to ROUNDED_DIGITS significant digits: a Gaussian
process's prediction, whose last digits follow the BLAS and scikit-learn a machine installs
(measured: 0.9390966366246646 on one install, 0.9390966366246052 on the next)."""
ROUNDED_DIGITS = 10
_ROUNDED = re.compile(
    r'("(?:' + "|".join(re.escape(k) for k in ROUNDED_KEYS) + r')":\s*)(-?[0-9][0-9.eE+-]*)'
)


def normalize(text: str, tmp: Path | None = None) -> str:
    """The text with its volatile values replaced by fixed tokens; everything else untouched.

    1. The value of every key in ``MASKED_KEYS`` (a string, number, null or boolean, at any
       depth) becomes the string ``"<MASKED>"``: timestamps, durations, cnnpc's version and
       TFLite parts' digests.
       The key stays, so a key that appears or disappears is still a difference.
    2. Every occurrence of the test's working folder `tmp` (and its resolved form) becomes
       ``<TMP>`` (an output path such as the `folder` of `deploy --upload --json`).
    3. The numbers of ``ROUNDED_KEYS`` keep ROUNDED_DIGITS significant digits.

    The whitespace, key order and number formatting of the rest are compared byte for byte.
    """
    if tmp is not None:
        for form in sorted({str(tmp), str(tmp.resolve())}, key=len, reverse=True):
            text = text.replace(form, TMP)
    text = _ROUNDED.sub(lambda m: f"{m.group(1)}{float(m.group(2)):.{ROUNDED_DIGITS}g}", text)
    return _MASKED.sub(lambda m: f'{m.group(1)}"{MASK}"', text)


def check_golden(name: str, text: str, tmp: Path | None = None) -> None:
    """`text`, normalized, equals ``data/<name>`` (rewritten instead with CNNPC_UPDATE_GOLDEN=1)."""
    got = normalize(text, tmp)
    json.loads(got)  # still one JSON document after masking
    path = DATA / name
    if UPDATE:
        path.write_text(got, encoding="utf-8")
        return
    if not path.exists():
        pytest.fail(f"no golden file {path}: record it with CNNPC_UPDATE_GOLDEN=1", False)
    want = path.read_text(encoding="utf-8")
    if got != want:
        diff = difflib.unified_diff(
            want.splitlines(), got.splitlines(), f"golden/{name}", "now", n=2, lineterm=""
        )
        lines = list(diff)
        shown = "\n".join(lines[:60]) + (f"\n... {len(lines) - 60} more" if len(lines) > 60 else "")
        pytest.fail(f"{name} differs from its golden file:\n{shown}", False)


def cli(argv: list[str]) -> str:
    """Run `cnnpc argv` in-process; its stdout (the command must exit 0)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    assert code == 0, f"cnnpc {' '.join(argv)}: exit {code}: {err.getvalue()[-1500:]}"
    return out.getvalue()


@contextlib.contextmanager
def working_folder(folder: Path) -> Iterator[Path]:
    """`folder` as the current directory, with no CNNPC_STORAGE from the environment."""
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(folder)
        mp.delenv("CNNPC_STORAGE", raising=False)
        yield folder


def test_normalize_masks_exactly_the_listed_keys():
    text = json.dumps(
        {
            "created_at": "2026-01-01T00:00:00+00:00",
            "nested": [{"duration_s": 1.5e-3, "finished_at": None, "latency_ms": 1.5}],
            "Wall time, created to last update (s)": 0.25,
            "solve_ms": -2,
            "cnnpc_version": "0.1.0",
            "created": "2026-01-01",
            "folder": "/x/tmp1/out",
        },
        indent=1,
    )
    got = json.loads(normalize(text, Path("/x/tmp1")))
    assert got == {
        "created_at": MASK,
        "nested": [{"duration_s": MASK, "finished_at": MASK, "latency_ms": 1.5}],
        "Wall time, created to last update (s)": MASK,
        "solve_ms": MASK,
        "cnnpc_version": MASK,
        "created": "2026-01-01",
        "folder": f"{TMP}/out",
    }


# --- plan: no storage, no TensorFlow ------------------------------------------------------------

PLANS = {
    "plan_mobilenet_MI8_bw10.json": [
        "--model",
        "mobilenet",
        "--device",
        "MI8",
        "--bandwidth",
        "10",
    ],
    "plan_mobilenet_MI8SE_two_splits.json": [
        *("--model", "mobilenet", "--device", "MI8SE", "--bandwidth", "30", "--uplink", "20"),
        *("--latency", "0.5", "--uplink-latency", "0.5", "--keep", "block6=0.5,block10=0.75"),
    ],
    "plan_resnet_keep_budget.json": [
        *("--model", "resnet", "--device", "MI8SE", "--bandwidth", "5", "--uplink", "40"),
        *("--keep", "block6=0.25", "--latency-budget", "200", "--conventions", "cnnpc"),
    ],
    "plan_mobilenet_layer.json": [
        *("--model", "mobilenet", "--device", "MI8", "--bandwidth", "16"),
        *("--granularity", "layer", "--prune-compute", "linear"),
    ],
}


@pytest.mark.parametrize("name", sorted(PLANS))
def test_plan_json(name):
    check_golden(name, cli(["plan", *PLANS[name], "--json"]))


# --- search, show, export: a table as the accuracy source (no fine-tuning) ---------------------

SEARCH = ["search", "--model", "mobilenet", "--device", "MI8", "--accuracy", "table:table.csv"]
STORE = ["--storage", "sqlite:///r.db"]


@pytest.fixture(scope="module")
def searched(tmp_path_factory) -> Iterator[tuple[Path, dict[str, str]]]:
    """Two searches in one database: 1 under an accuracy floor (TPE), 2 under a latency
    budget (random); then `show` and `export` of each. Their outputs by golden file name."""
    folder = tmp_path_factory.mktemp("golden-search")
    shutil.copyfile(TABLE, folder / "table.csv")
    out: dict[str, str] = {}
    with working_folder(folder):
        out["search_acc_floor.json"] = cli(
            [
                *SEARCH,
                *("--bandwidth", "10", "--acc-floor", "0.93", "--trials", "12", "--seed", "0"),
                *STORE,
                "--json",
            ]
        )
        out["search_latency_budget.json"] = cli(
            [
                *SEARCH,
                *("--bandwidth", "3", "--latency-budget", "49", "--trials", "8"),
                *("--strategy", "random", "--seed", "1", "--uplink-latency", "0.5"),
                *STORE,
                "--json",
            ]
        )
        for n in (1, 2):
            out[f"show_{n}.json"] = cli(["show", str(n), *STORE, "--json"])
            printed = cli(["export", str(n), "--json", f"export_{n}.json", *STORE])
            assert printed.startswith(f"wrote export_{n}.json (search {n}, best plan ")
            out[f"export_{n}.json"] = (folder / f"export_{n}.json").read_text(encoding="utf-8")
    yield folder, out


@pytest.mark.parametrize(
    "name",
    [
        "search_acc_floor.json",
        "search_latency_budget.json",
        "show_1.json",
        "show_2.json",
        "export_1.json",
        "export_2.json",
    ],
)
def test_search_show_export_json(searched, name):
    folder, out = searched
    check_golden(name, out[name], folder)


# --- deploy: plan.json, planset.json, upload.json (trains and converts: slow) ------------------

KEEP = {"block1": 0.5, "block10": 0.25}


@pytest.fixture(scope="module")
def deployed(
    data, tmp_path_factory, shared_cache, tiny_recipe
) -> Iterator[tuple[Path, dict[str, str]]]:
    """A stored search (id 1, floor 0.896) whose best plan is end [0, 2) / edge [2, 5) / cloud
    [5, 8) of mobilenet with KEEP, and the unpruned model's accuracy in its cache cell, deployed
    with `cnnpc deploy` three ways; the documents written and printed by golden file name.
    The oracle the search's settings would open (a real baseline, minutes) is the tiny one of
    tests/deploy/test_deploy_search.py (same budget key as the stored search)."""
    import dataclasses

    from deploy.plans import SPACE
    from storage.factories import best_plan, spec

    import cnnpc.oracle
    from cnnpc.compression import FinetuneBudget
    from cnnpc.oracle import AccuracyOracle, MemoryCache, ModelStore, trained_baseline
    from cnnpc.planner import planner_for
    from cnnpc.records import keep_key
    from cnnpc.search._oracle_source import OracleSource
    from cnnpc.storage import Storage, Tiers

    folder = tmp_path_factory.mktemp("golden-deploy")
    root = folder / "cache"
    baseline = trained_baseline("mobilenet", data, 0, shared_cache, tiny_recipe, progress=False)
    budget = FinetuneBudget(epochs=1, steps_per_epoch=2)
    oracle = AccuracyOracle(
        baseline, data, SPACE, budget, 0, MemoryCache(), models=ModelStore(root / "models")
    )
    source = OracleSource(oracle)
    names = [s.name for s in planner_for("mobilenet", "MI8", bandwidth_mbps=10).profile.segments]
    best = dataclasses.replace(
        best_plan(4, 30.0, splits=("block1", "block10"), keep=KEEP, single_tier_ms=80.0),
        mode="end_edge_cloud",
        tiers=Tiers(tuple(names[:2]), tuple(names[2:5]), tuple(names[5:])),
    )
    out: dict[str, str] = {}
    with working_folder(folder), pytest.MonkeyPatch.context() as mp:
        mp.setattr(cnnpc.oracle, "open_oracle", lambda *a, **k: oracle)
        with Storage("sqlite:///r.db") as storage:
            search = storage.get_or_create_search(spec(budget_key=source.budget_key))
            storage.set_best_plan(search.id, best)
            for keep, acc in (({}, 0.95), (KEEP, 0.9)):  # made up, as a search would cache them
                storage.put_cached_accuracy(CacheEntry(
                    "mobilenet", source.workload, source.budget_key, keep_key(keep), acc, acc,
                    1, 1, 1,
                ))  # fmt: skip
        sid = str(search.id)
        out["deploy_stdout.json"] = cli(["deploy", sid, "--out", "plan", *STORE, "--json"])
        out["deploy_plan.json"] = (folder / "plan" / "plan.json").read_text(encoding="utf-8")
        out["deploy_adaptive_stdout.json"] = cli(
            ["deploy", sid, "--out", "set", "--adaptive", "--bandwidth", "2:16", *STORE, "--json"]
        )
        for file in ("planset.json", "plan.json", "plan-P2.json"):
            text = (folder / "set" / file).read_text(encoding="utf-8")
            out[f"deploy_adaptive_{file}"] = text
        out["deploy_upload_stdout.json"] = cli(
            ["deploy", sid, "--out", "up", "--upload", "--upload-rate", "5", *STORE, "--json"]
        )
        out["deploy_upload.json"] = (folder / "up" / "upload.json").read_text(encoding="utf-8")
    yield folder, out


@pytest.mark.slow
@pytest.mark.parametrize(
    "name",
    [
        "deploy_stdout.json",
        "deploy_plan.json",
        "deploy_adaptive_stdout.json",
        "deploy_adaptive_planset.json",
        "deploy_adaptive_plan.json",
        "deploy_adaptive_plan-P2.json",
        "deploy_upload_stdout.json",
        "deploy_upload.json",
    ],
)
def test_deploy_json(deployed, name):
    folder, out = deployed
    check_golden(name, out[name], folder)
