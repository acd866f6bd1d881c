"""Bring your own graphs: load a LangGraph CLI ``langgraph.json`` into workflow specs.

``{"graphs": {"name": "./path/module.py:attr" | "package.module:attr"}, "env": ".env" | {...}}``.
``attr`` may be a compiled graph (recompiled from its ``.builder`` with our checkpointer, keeping
its breakpoints), an uncompiled ``StateGraph``, or a factory (sync or async) called with a
``RunnableConfig`` when it accepts one. Errors name the offending entry.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import inspect
import json
import os
import sys
from pathlib import Path
from typing import Any

from waypost.graphs.registry import GraphDeps, GraphRegistry, WorkflowSpec
from waypost.runtime.errors import ConfigError

__all__ = ["auth_reference", "load_langgraph_json", "register_langgraph_json"]


def _load_env(env: Any, base: Path) -> None:
    """Apply ``env`` without overriding variables the process already has."""
    if env is None:
        return
    if isinstance(env, dict):
        items = {str(k): str(v) for k, v in env.items()}
    elif isinstance(env, str):
        path = (base / env).resolve()
        if not path.is_file():
            raise ConfigError(f"langgraph.json: env file {env!r} not found at {path}")
        items = {}
        for raw in path.read_text(encoding="utf-8").splitlines():
            line = raw.strip()
            if not line or line.startswith("#") or "=" not in line:
                continue
            key, _, value = line.removeprefix("export ").partition("=")
            items[key.strip()] = value.strip().strip("'\"")
    else:
        raise ConfigError("langgraph.json: 'env' must be a file path or an object")
    for key, value in items.items():
        os.environ.setdefault(key, value)


def _import_target(name: str, target: str, base: Path) -> Any:
    module_ref, sep, attr = target.rpartition(":")
    if not sep or not module_ref or not attr:
        raise ConfigError(
            f"langgraph.json graph {name!r}: expected 'path/to/file.py:attr' or "
            f"'package.module:attr', got {target!r}"
        )
    try:
        if module_ref.endswith(".py") or "/" in module_ref:
            path = (base / module_ref).resolve()
            if not path.is_file():
                raise ConfigError(f"langgraph.json graph {name!r}: file {path} not found")
            module_name = f"waypost_user_graphs.{name}"
            spec = importlib.util.spec_from_file_location(module_name, path)
            if spec is None or spec.loader is None:
                raise ConfigError(f"langgraph.json graph {name!r}: cannot import {path}")
            module = importlib.util.module_from_spec(spec)
            sys.modules[module_name] = module
            spec.loader.exec_module(module)
        else:
            module = importlib.import_module(module_ref)
    except ConfigError:
        raise
    except Exception as exc:
        raise ConfigError(
            f"langgraph.json graph {name!r}: importing {module_ref!r} failed: "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    if not hasattr(module, attr):
        raise ConfigError(f"langgraph.json graph {name!r}: {module_ref!r} has no {attr!r}")
    return getattr(module, attr)


def _compile(name: str, obj: Any, deps: GraphDeps) -> Any:
    """A compiled graph bound to our checkpointer, whatever form the user gave."""
    if hasattr(obj, "builder") and hasattr(obj, "astream"):  # compiled: rebuild with our saver
        return obj.builder.compile(
            checkpointer=deps.checkpointer,
            interrupt_before=obj.interrupt_before_nodes or None,
            interrupt_after=obj.interrupt_after_nodes or None,
            name=obj.name,
        )
    if hasattr(obj, "compile") and hasattr(obj, "add_node"):  # an uncompiled StateGraph
        return obj.compile(checkpointer=deps.checkpointer)
    if callable(obj):
        params = inspect.signature(obj).parameters
        result = obj({"configurable": {}}) if params else obj()
        if inspect.isawaitable(result):
            result = asyncio.run(_await(result))
        return _compile(name, result, deps)
    raise ConfigError(
        f"langgraph.json graph {name!r}: {type(obj).__name__} is not a graph, "
        "a StateGraph or a factory"
    )


async def _await(value: Any) -> Any:
    return await value


def load_langgraph_json(path: str | Path) -> list[WorkflowSpec]:
    """Workflow specs for every graph in the file (imports happen at build time, lazily)."""
    config_path = Path(path).resolve()
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"langgraph.json not found: {config_path}") from exc
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{config_path}: invalid JSON: {exc}") from exc
    graphs = config.get("graphs") if isinstance(config, dict) else None
    if not isinstance(graphs, dict) or not graphs:
        raise ConfigError(f"{config_path}: 'graphs' must be a non-empty object of name -> path")
    base = config_path.parent
    _load_env(config.get("env"), base)
    specs = []
    for name, entry in graphs.items():
        target = entry.get("path") if isinstance(entry, dict) else entry
        if not isinstance(target, str):
            raise ConfigError(f"langgraph.json graph {name!r}: expected a string path")
        description = entry.get("description", "") if isinstance(entry, dict) else ""
        obj = _import_target(name, target, base)  # fail fast on a bad entry

        def build(deps: GraphDeps, _name: str = name, _obj: Any = obj) -> Any:
            return _compile(_name, _obj, deps)

        specs.append(
            WorkflowSpec(
                name=name,
                description=description or f"{target}",
                build=build,
                metadata={"source": "langgraph.json"},
            )
        )
    return specs


def register_langgraph_json(registry: GraphRegistry, path: str | Path) -> GraphRegistry:
    for spec in load_langgraph_json(path):
        registry.register(spec)
    return registry


def auth_reference(path: str | Path) -> tuple[str, Path] | None:
    """The ``auth.path`` of a ``langgraph.json`` (a string or ``{"path": ...}``) and the folder
    it is relative to, or None when the file configures no custom auth."""
    config_path = Path(path).resolve()
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{config_path}: cannot read: {exc}") from exc
    auth = config.get("auth") if isinstance(config, dict) else None
    if auth is None:
        return None
    ref = auth if isinstance(auth, str) else auth.get("path") if isinstance(auth, dict) else None
    if not isinstance(ref, str) or not ref:
        raise ConfigError(f"{config_path}: 'auth' needs a 'path' like './auth.py:auth'")
    return ref, config_path.parent
