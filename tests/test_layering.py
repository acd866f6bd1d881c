"""Imports flow one way between the rooms, and nothing in the product imports ``evals``.

    cli, evals -> api -> server -> graphs, domains -> agents, tools, retrieval
               -> observability -> runtime

A domain's ``cli`` and ``evals`` modules are plug-in points of those upper layers and may
import them; nothing else in a domain may.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT

# room -> rooms it may import (besides itself)
ALLOWED: dict[str, set[str]] = {
    "runtime": set(),
    "observability": {"runtime"},
    "agents": {"observability", "runtime"},
    "tools": {"observability", "runtime"},
    "retrieval": {"agents", "observability", "runtime"},
    "graphs": {"agents", "tools", "retrieval", "observability", "runtime"},
    "domains": {"graphs", "agents", "tools", "retrieval", "observability", "runtime"},
    "server": {"graphs", "agents", "tools", "retrieval", "observability", "runtime"},
    "api": {"server", "graphs", "agents", "tools", "retrieval", "observability", "runtime"},
}
ROOMS = sorted(ALLOWED)
UPWARD_PLUGIN_POINTS = {"cli": {"cli"}, "evals": {"evals"}}  # domains/<d>/cli.py, evals/


def _room_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "waypost":
        return None
    if len(parts) == 1 or parts[1] == "cli" or parts[1] == "__version__":
        return "cli"
    return parts[1]


def _imported_rooms(path: Path) -> set[str]:
    rooms: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        rooms |= {r for n in names if (r := _room_of(n)) is not None}
    return rooms


def _extra_allowed(room: str, path: Path) -> set[str]:
    if room != "domains":
        return set()
    rel = path.relative_to(PROJECT_ROOT / "domains").parts
    extra: set[str] = set()
    for point, rooms in UPWARD_PLUGIN_POINTS.items():
        if len(rel) > 1 and (rel[1] == point or rel[1] == f"{point}.py"):
            extra |= rooms
    return extra


@pytest.mark.parametrize("room", ROOMS)
def test_imports_flow_one_way(room: str) -> None:
    offenders = {}
    for path in sorted((PROJECT_ROOT / room).rglob("*.py")):
        allowed = ALLOWED[room] | {room} | _extra_allowed(room, path)
        bad = _imported_rooms(path) - allowed
        if bad:
            offenders[str(path.relative_to(PROJECT_ROOT))] = sorted(bad)
    assert offenders == {}


def test_every_package_folder_is_installed_under_waypost() -> None:
    """pyproject's explicit package list must name every package folder (else it is missing
    from a wheel install while tests, run from the source tree, still pass)."""
    import tomllib

    config = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    mapping: dict[str, str] = config["package-dir"]
    listed = set(config["packages"])
    expected = set()
    for name, folder in mapping.items():
        for init in (PROJECT_ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(PROJECT_ROOT / folder).parts
            expected.add(".".join((name, *rel)))
    assert expected - listed == set()
