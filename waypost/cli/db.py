"""`waypost db ...`: schema migrations (the core tables and every installed domain's)."""

from __future__ import annotations

import typer

from waypost.cli._common import console, load_settings
from waypost.graphs.plugins import migration_locations
from waypost.runtime.db import make_engine
from waypost.runtime.migrate import current_heads, heads, upgrade

app = typer.Typer(help="Database schema.", no_args_is_help=True)


def _names(revisions: list[str] | set[str]) -> str:
    return ", ".join(sorted(revisions)) or "empty"


@app.command("upgrade")
def upgrade_cmd(
    revision: str = typer.Argument("heads", help="Target revision (default: every head)."),
) -> None:
    """Apply migrations up to REVISION (default: the head of every branch)."""
    settings = load_settings()
    engine = make_engine(settings.database)
    try:
        before, after = upgrade(engine, revision, locations=migration_locations())
    finally:
        engine.dispose()
    if before == after:
        console.print(f"database already at [bold]{_names(after)}[/bold]")
    else:
        console.print(
            f"database upgraded [bold]{_names(before)}[/bold] -> [bold]{_names(after)}[/bold]"
        )


@app.command("current")
def current_cmd() -> None:
    """Show the database's revisions and the newest available."""
    settings = load_settings()
    engine = make_engine(settings.database)
    try:
        now, newest = current_heads(engine), heads(engine, migration_locations())
    finally:
        engine.dispose()
    console.print(f"current: {_names(now)}  heads: {_names(newest)}")
