"""On the runtime-only install a workstation command says, in one line and exit 2, that it needs
the full install (whether its options' parsers or the command itself import the workstation);
`cnnpc --help` and the runtime's commands' help work there."""

from __future__ import annotations

import pytest
from no_workstation import run_guarded

from cnnpc.cli import main

FULL = 'needs the full install ({what} is not installed): pip install "cnnpc[full]"'


@pytest.mark.parametrize(
    ("argv", "what"),
    [
        (["search", "--model", "mobilenet", "--device", "MI8", "--bandwidth", "10"], "SQLAlchemy"),
        (["searches"], "SQLAlchemy"),
        (["db", "current"], "SQLAlchemy"),
        (
            ["profile", "export", "--model", "resnet", "--out", "x", "--image-size", "16"],
            "TensorFlow",
        ),
    ],
)
def test_a_workstation_command_says_it_needs_the_full_install(argv, what):
    done = run_guarded(*argv)
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stderr == f"cnnpc {argv[0]} {FULL.format(what=what)}\n"
    assert done.stdout == ""


def test_help_and_the_runtime_commands_help_work_without_the_workstation():
    for argv in ([], ["serve"], ["infer"], ["certs"], ["profile", "device"]):
        done = run_guarded(*argv, "--help", timeout=60)
        assert done.returncode == 0 and "usage: cnnpc" in done.stdout, (argv, done.stderr)


def test_a_missing_module_outside_the_full_extra_is_not_hidden(monkeypatch):
    """A broken install (a runtime dependency gone) keeps its traceback."""
    import cnnpc.jobs

    def broken(job):
        raise ModuleNotFoundError("No module named 'grpc'", name="grpc")

    monkeypatch.setattr(cnnpc.jobs, "infer", broken)
    with pytest.raises(ModuleNotFoundError, match="grpc"):
        main(["infer", "--plan", "somewhere"])
