"""The session builds tests/conftest.py keeps in one worker are session fixtures that exist: a
renamed fixture would silently put its modules back on both workers (built twice per run)."""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import SHARED_BUILDS

TESTS = Path(__file__).parent


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
    assert set(SHARED_BUILDS) <= _session_fixtures()
    assert {"_three_tier_plan", "tiny_baseline", "supernet"} <= set(SHARED_BUILDS)
