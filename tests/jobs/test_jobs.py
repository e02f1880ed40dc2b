"""The library call behind each command gives what the command prints, without the CLI."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from cnnpc.cli import main
from cnnpc.errors import InputError
from cnnpc.jobs import plan, plan_text, schema_state, upgrade_schema
from cnnpc.planner import LinkOptions


def test_plan_is_what_the_command_prints(capsys):
    report = plan("mobilenet", "MI8", 10.0, LinkOptions(), {"block6": 0.5}, 60.0)
    assert main(["plan", "--model", "mobilenet", "--device", "MI8", "--bandwidth", "10",
                 "--keep", "block6=0.5", "--latency-budget", "60", "--json"]) == 0  # fmt: skip
    assert json.loads(capsys.readouterr().out) == report
    assert main(["plan", "--model", "mobilenet", "--device", "MI8", "--bandwidth", "10",
                 "--keep", "block6=0.5", "--latency-budget", "60"]) == 0  # fmt: skip
    # the text adds what each tier holds (the JSON has it only under --end-memory)
    with_parts = plan("mobilenet", "MI8", 10.0, LinkOptions(), {"block6": 0.5}, 60.0, parts=True)
    assert capsys.readouterr().out == plan_text(with_parts) + "\n"
    assert "least traffic <= 60 ms" in plan_text(report)
    assert "part sizes" in plan_text(with_parts) and "part sizes" not in plan_text(report)


def test_layer_granularity_refuses_keep():
    with pytest.raises(InputError, match="--keep is not supported"):
        plan("mobilenet", "MI8", 10.0, LinkOptions(), {"block6": 0.5}, granularity="layer")


def test_schema_state_before_and_after_upgrade(tmp_path):
    url = f"sqlite:///{tmp_path / 'r.db'}"
    said = upgrade_schema(url)
    assert "upgraded from empty to revision" in said
    state = schema_state(url)
    assert state.state == "current" and state.revision == state.head
    assert state.text().endswith("(newest schema)")
    assert upgrade_schema(url).endswith("(newest)") and "already at revision" in upgrade_schema(url)


def test_importing_jobs_loads_no_tensorflow_or_database():
    """`cnnpc plan` imports cnnpc.jobs: it must stay a fraction of a second."""
    code = "import sys, cnnpc.jobs; print('tensorflow' in sys.modules, 'sqlalchemy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["False", "False"], out.stderr
