"""Alembic migrations, run programmatically (``waypost db upgrade``, and by ``serve``/``demo``).

The core tables live in ``runtime/migrations/versions``. Each domain brings its own version
location (its own branch, with a ``branch_labels`` entry), so a domain's tables come and go with
the domain and the core chain never names one. Callers pass the extra locations; the composition
root (``waypost.graphs.plugins.migrate``) passes every installed domain's.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

__all__ = ["alembic_config", "current_heads", "heads", "is_current", "upgrade"]

_SCRIPTS = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine, locations: Sequence[Path] = ()) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_SCRIPTS))
    paths = [str(_SCRIPTS / "versions"), *(str(p) for p in locations)]
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_locations", ":".join(paths))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return cfg


def heads(engine: Engine, locations: Sequence[Path] = ()) -> set[str]:
    """The newest revision of every branch (core and the given domains)."""
    return set(ScriptDirectory.from_config(alembic_config(engine, locations)).get_heads())


def current_heads(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads())


def is_current(engine: Engine, locations: Sequence[Path] = ()) -> bool:
    """Whether every branch is at its head (nothing to migrate)."""
    return current_heads(engine) == heads(engine, locations)


def upgrade(
    engine: Engine, revision: str = "heads", *, locations: Sequence[Path] = ()
) -> tuple[list[str], list[str]]:
    """Upgrade to ``revision`` (every head by default); returns (before, after) heads."""
    before = sorted(current_heads(engine))
    cfg = alembic_config(engine, locations)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    return before, sorted(current_heads(engine))
