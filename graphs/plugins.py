"""Domains as plug-ins: a package adds workflows to Waypost without editing it.

A domain package exposes a ``Domain`` and declares it in its own ``pyproject.toml``::

    [project.entry-points."waypost.domains"]
    helpdesk = "helpdesk:domain"

``load_domains()`` finds every installed one (Waypost's own retail domain registers the same
way). A domain owns its workflows, its tables (an Alembic version location of its own, on its
own branch), its CLI commands and its eval adapter; shared layers never name a domain.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import import_module
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from waypost.graphs.registry import WorkflowSpec
from waypost.runtime.errors import ConfigError
from waypost.runtime.migrate import is_current, upgrade

__all__ = [
    "ENTRY_POINT_GROUP",
    "DemoCase",
    "Domain",
    "load_domains",
    "load_object",
    "migrate",
    "migration_locations",
    "needs_migration",
]

ENTRY_POINT_GROUP = "waypost.domains"
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Domain:
    """What a domain package brings. Heavy parts are named as ``"module:attribute"`` strings or
    factories, so discovering a domain imports almost nothing."""

    name: str
    description: str
    workflows: Callable[[], Sequence[WorkflowSpec]]
    migrations: Path | None = None
    """An Alembic version location whose root revision carries ``branch_labels = (name,)``."""
    commands: Mapping[str, str] = field(default_factory=dict)
    """CLI command groups: ``{"store": "pkg.cli:app"}`` adds ``waypost store ...`` (Typer apps)."""
    eval_adapter: str | None = None
    """``"pkg.evals:adapter"``: the domain's ``waypost.evals`` adapter (only evals loads it)."""
    demo: str | None = None
    """``"pkg.demo:prepare"``: ``(session_factory, message | None) -> DemoCase``, what
    ``waypost demo`` runs when this domain is the first with one."""


@dataclass(frozen=True)
class DemoCase:
    """A ready-to-run demo: which workflow, its input, the text shown as the customer's."""

    workflow: str
    payload: dict[str, Any]
    text: str
    notice: str | None = None


def load_object(ref: str) -> Any:
    """The object a ``"module:attribute"`` reference names."""
    module, _, attr = ref.partition(":")
    if not module or not attr:
        raise ConfigError(f"{ref!r} is not of the form 'module:attribute'")
    try:
        return getattr(import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"cannot load {ref!r}: {exc}") from exc


@functools.cache
def load_domains() -> tuple[Domain, ...]:
    """Every installed domain, by name; a broken plug-in is a clear ``ConfigError``."""
    found: dict[str, Domain] = {}
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        try:
            domain = ep.load()
        except Exception as exc:
            raise ConfigError(
                f"domain plug-in {ep.name!r} ({ep.value}) failed to load: {exc}"
            ) from exc
        if not isinstance(domain, Domain):
            raise ConfigError(f"entry point {ep.name!r} ({ep.value}) is not a waypost Domain")
        if domain.name in found:
            _log.warning("domain %s is installed twice; keeping the first", domain.name)
            continue
        found[domain.name] = domain
    return tuple(found.values())


def migration_locations(domains: Sequence[Domain] | None = None) -> list[Path]:
    return [d.migrations for d in (domains or load_domains()) if d.migrations is not None]


def needs_migration(engine: Engine) -> bool:
    return not is_current(engine, migration_locations())


def migrate(engine: Engine) -> tuple[list[str], list[str]]:
    """Upgrade the core tables and every installed domain's to their heads."""
    return upgrade(engine, locations=migration_locations())
