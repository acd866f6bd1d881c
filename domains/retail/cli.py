"""`waypost store ...`: fill and inspect the retail store."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table
from waypost.domains.retail.tools import seed_store, store_counts
from waypost.runtime.db import make_session_factory
from waypost.runtime.errors import Conflict

from waypost.cli import console, ensure_database, load_settings

app = typer.Typer(help="The retail store (tau2-bench retail format).", no_args_is_help=True)


def _print_counts(title: str, counts: dict[str, int]) -> None:
    table = Table(title=title)
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, count in counts.items():
        table.add_row(name, str(count))
    console.print(table)


@app.command("seed")
def seed_cmd(
    source: Path | None = typer.Option(
        None,
        "--from",
        help="A tau2 retail db.json to load; without it, the built-in demo store.",
        exists=True,
        dir_okay=False,
        readable=True,
    ),
    force: bool = typer.Option(False, "--force", help="Replace a store that already has data."),
) -> None:
    """Load the store from a tau2 db.json, or generate the demo store."""
    settings = load_settings()
    engine = ensure_database(settings)
    try:
        counts = seed_store(make_session_factory(engine), source, force)
    finally:
        engine.dispose()
    if not counts:
        raise Conflict("the retail store already has data; use --force to replace it")
    _print_counts(f"store seeded from {source or 'the demo generator'}", counts)


@app.command("stats")
def stats_cmd() -> None:
    """Show how many rows each store table holds."""
    settings = load_settings()
    engine = ensure_database(settings)
    try:
        with make_session_factory(engine)() as session:
            counts = store_counts(session)
    finally:
        engine.dispose()
    _print_counts("retail store", counts)
