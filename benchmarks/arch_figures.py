"""Architecture figures of the cnnpc package (issue 18's before/after table): modules, lines,
lines of the CLI, imports of another package's private modules, and `Any` parameters on public
functions of deploy, runtime, validate, search and storage.

    python benchmarks/arch_figures.py [-v]     # -v lists the imports and parameters
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "cnnpc"
TYPED = ("deploy", "runtime", "validate", "search", "storage")


def package(path: Path) -> str:
    parts = path.relative_to(ROOT).parts
    return parts[0] if len(parts) > 1 else ""


def private_imports(path: Path, tree: ast.AST) -> list[str]:
    """`from cnnpc.<other>._x import ...` (or `from cnnpc.<other> import _x`) in `path`."""
    mine, found = package(path), []
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom) or not (node.module or "").startswith("cnnpc."):
            continue
        parts = (node.module or "").split(".")[1:]
        if parts[0] == mine:
            continue
        if len(parts) >= 2 and any(p.startswith("_") for p in parts[1:]):
            found.append(f"{path.relative_to(ROOT.parent)}: {node.module}")
        elif len(parts) == 1:
            for alias in node.names:
                if alias.name.startswith("_") and (ROOT / parts[0] / f"{alias.name}.py").exists():
                    found.append(f"{path.relative_to(ROOT.parent)}: {node.module}.{alias.name}")
    return found


def any_parameters(path: Path, tree: ast.AST) -> list[str]:
    if package(path) not in TYPED:
        return []
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name[0] != "_":
            for arg in node.args.args + node.args.kwonlyargs:
                text = "" if arg.annotation is None else ast.unparse(arg.annotation)
                if "Any" in text:
                    where = f"{path.relative_to(ROOT.parent)}:{node.lineno}"
                    found.append(f"{where} {node.name}({arg.arg}: {text})")
    return found


def main() -> None:
    files = sorted(ROOT.rglob("*.py"))
    lines = cli = 0
    private: list[str] = []
    anys: list[str] = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        n = len(text.splitlines())
        lines += n
        cli += n if package(path) == "cli" else 0
        tree = ast.parse(text)
        private += private_imports(path, tree)
        anys += any_parameters(path, tree)
    arrays = sum(a.endswith("NDArray[Any])") for a in anys)
    print(f"modules {len(files)}, lines {lines:,}, cli lines {cli:,}")
    print(f"imports of another package's private modules: {len(private)}")
    print(f"Any parameters on public functions of {'/'.join(TYPED)}: {len(anys)}", end="")
    print(f" ({arrays} of them numpy arrays, NDArray[Any])")
    if "-v" in sys.argv:
        print(*private, *anys, sep="\n")


if __name__ == "__main__":
    main()
