"""Shared CLI plumbing: console, settings, database bootstrap."""

from __future__ import annotations

from rich.console import Console
from sqlalchemy.engine import Engine

from runtime.db import make_engine
from runtime.logging import configure_logging
from runtime.migrate import current_revision, head_revision, upgrade
from runtime.settings import Settings, get_settings

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
    if settings.database.auto_migrate and current_revision(engine) != head_revision(engine):
        before, after = upgrade(engine)
        err_console.print(f"[dim]database migrated {before or 'empty'} -> {after}[/dim]")
    return engine
