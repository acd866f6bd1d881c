"""The `waypost` command line (typer + rich).

A domain plug-in's own command groups (``Domain.commands``) use the public helpers here:
``load_settings()`` (settings and logging as every command has them), ``ensure_database()``
(an engine on the configured database, migrated with every installed domain's tables) and the
``console``/``err_console`` that print like the rest of the CLI.
"""

from __future__ import annotations

import sys

import typer
from rich.markup import escape

from waypost import __version__
from waypost.cli import db
from waypost.cli._common import console, ensure_database, err_console, load_settings
from waypost.runtime.errors import WaypostError

__all__ = ["app", "console", "ensure_database", "err_console", "load_settings", "main"]

app = typer.Typer(
    name="waypost",
    help="Waypost: self-hosted orchestrator for domain-specific LLM workflows.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(db.app, name="db")


@app.command()
def version() -> None:
    """Print the Waypost version."""
    console.print(f"waypost {__version__}")


def _register_optional() -> None:
    """Command groups that live in their own modules."""
    from waypost.cli import commands

    commands.register(app)


def main() -> None:
    """Entry point: typed errors print as ``error[code]: message`` and exit 2, never a traceback."""
    _register_optional()
    try:
        code = app(standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except WaypostError as exc:
        err_console.print(f"[red]error\\[{exc.code}][/red]: {escape(exc.message)}")
        sys.exit(2)
    except typer.Abort:
        err_console.print("aborted")
        sys.exit(130)
    except Exception as exc:  # click usage errors carry their own exit code
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        if isinstance(exc, click.exceptions.Exit):
            sys.exit(exc.exit_code)
        raise
