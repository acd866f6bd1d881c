"""Shared CLI plumbing: console, settings, database bootstrap."""

from __future__ import annotations

from rich.console import Console
from sqlalchemy.engine import Engine

from waypost.graphs.plugins import migrate, needs_migration
from waypost.runtime.db import make_engine
from waypost.runtime.logging import configure_logging
from waypost.runtime.settings import Settings, get_settings

__all__ = ["console", "ensure_database", "err_console", "load_settings"]

console = Console()
err_console = Console(stderr=True)


def load_settings() -> Settings:
    settings = get_settings()
    configure_logging(settings.log_level, json_output=settings.log_json)
    return settings


def ensure_database(settings: Settings) -> Engine:
    """An engine on the configured database, migrated to head when ``auto_migrate`` is on."""
    engine = make_engine(settings.database)
    if settings.database.auto_migrate and needs_migration(engine):
        before, after = migrate(engine)
        was = ", ".join(before) or "empty"
        err_console.print(f"[dim]database migrated {was} -> {', '.join(after)}[/dim]")
    return engine
