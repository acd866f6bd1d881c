"""Imports flow api -> graphs -> agents/tools/retrieval -> runtime: runtime imports no sibling."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SIBLINGS = {"api", "graphs", "agents", "tools", "retrieval", "evals", "waypost"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_runtime_imports_no_sibling_package() -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imports(path) & SIBLINGS)
        for path in sorted((ROOT / "runtime").rglob("*.py"))
        if _imports(path) & SIBLINGS
    }
    assert offenders == {}
