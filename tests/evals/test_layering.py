"""Nothing in the product imports ``evals``; only the CLI's ``eval`` command does."""

from __future__ import annotations

import ast

from tests.conftest import PROJECT_ROOT

PRODUCT = ("agents", "api", "graphs", "retrieval", "runtime", "tools", "waypost")
ALLOWED = {"waypost/cli/eval.py"}


def _imports(path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_only_the_eval_command_imports_evals() -> None:
    offenders = [
        str(path.relative_to(PROJECT_ROOT))
        for package in PRODUCT
        for path in (PROJECT_ROOT / package).rglob("*.py")
        if "evals" in _imports(path) and str(path.relative_to(PROJECT_ROOT)) not in ALLOWED
    ]
    assert offenders == []
