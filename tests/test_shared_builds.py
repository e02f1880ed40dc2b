"""The session builds tests/conftest.py keeps in one worker are session fixtures that exist: a
renamed fixture would silently put its modules back on both workers (built twice per run)."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).parent


def _shared_builds() -> dict[str, str]:
    """tests/conftest.py's SHARED_BUILDS, read from its source (`import conftest` can find
    another folder's conftest first)."""
    for node in ast.parse((TESTS / "conftest.py").read_text()).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "SHARED_BUILDS" for t in node.targets
        ):
            builds: dict[str, str] = ast.literal_eval(node.value)
            return builds
    raise AssertionError("tests/conftest.py has no SHARED_BUILDS")


def _session_fixtures() -> set[str]:
    names = set()
    for conftest in TESTS.rglob("conftest.py"):
        for node in ast.walk(ast.parse(conftest.read_text())):
            if not isinstance(node, ast.FunctionDef):
                continue
            for decorator in node.decorator_list:
                if isinstance(decorator, ast.Call) and any(
                    k.arg == "scope" and getattr(k.value, "value", None) == "session"
                    for k in decorator.keywords
                ):
                    names.add(node.name)
    return names


def test_every_shared_build_is_a_session_fixture():
    builds = _shared_builds()
    assert set(builds) <= _session_fixtures()
    assert {"_three_tier_plan", "tiny_baseline", "supernet"} <= set(builds)
