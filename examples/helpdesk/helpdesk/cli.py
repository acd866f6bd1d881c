"""``waypost helpdesk ...``: load the demo data and read the audit log."""

from __future__ import annotations

import typer
from rich.table import Table
from sqlalchemy import select
from waypost.cli import console, ensure_database, load_settings
from waypost.runtime.db import make_session_factory
from waypost.runtime.errors import Conflict

from helpdesk.seed import seed
from helpdesk.store import DEFAULT_TENANT, Action

app = typer.Typer(help="The IT helpdesk: demo data and the audit log.", no_args_is_help=True)


@app.command("seed")
def seed_cmd(
    tenant: str = typer.Option(DEFAULT_TENANT, help="Whose data to load."),
    force: bool = typer.Option(False, "--force", help="Replace the tenant's existing data."),
) -> None:
    """Load three employees, their devices and a few open tickets."""
    engine = ensure_database(load_settings())  # migrates every installed domain's tables
    try:
        loaded = seed(make_session_factory(engine), tenant, force)
    finally:
        engine.dispose()
    if loaded is None:
        raise Conflict(f"tenant {tenant!r} already has helpdesk data; use --force to replace it")
    console.print(", ".join(f"{table}: {n}" for table, n in loaded.items()))


@app.command("audit")
def audit_cmd(tenant: str = typer.Option(DEFAULT_TENANT, help="Whose actions to show.")) -> None:
    """Every change the helpdesk's tools made, oldest first."""
    engine = ensure_database(load_settings())
    try:
        with make_session_factory(engine)() as session:
            rows = session.scalars(
                select(Action).where(Action.tenant == tenant).order_by(Action.id)
            ).all()
    finally:
        engine.dispose()
    table = Table(title=f"helpdesk actions ({tenant})")
    for column in ("when", "action", "target", "detail"):
        table.add_column(column)
    for row in rows:
        when = f"{row.created_at:%Y-%m-%d %H:%M:%S}"
        table.add_row(when, row.action, row.target, str(row.detail))
    console.print(table)
