"""`waypost db ...`: schema migrations."""

from __future__ import annotations

import typer

from runtime.db import make_engine
from runtime.migrate import current_revision, head_revision, upgrade
from waypost.cli._common import console, load_settings

app = typer.Typer(help="Database schema.", no_args_is_help=True)


@app.command("upgrade")
def upgrade_cmd(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Apply migrations up to REVISION (default: head)."""
    settings = load_settings()
    engine = make_engine(settings.database)
    before, after = upgrade(engine, revision)
    if before == after:
        console.print(f"database already at [bold]{after}[/bold]")
    else:
        console.print(f"database upgraded [bold]{before or 'empty'}[/bold] -> [bold]{after}[/bold]")


@app.command("current")
def current_cmd() -> None:
    """Show the database's revision and the latest available."""
    settings = load_settings()
    engine = make_engine(settings.database)
    console.print(f"current: {current_revision(engine) or 'empty'}  head: {head_revision(engine)}")
