"""`waypost tenants ...` and `waypost keys ...`: who may call the API, with which role, and
what each tenant may spend."""

from __future__ import annotations

import datetime as dt
import re

import typer
from rich.table import Table

from waypost.cli._common import console, ensure_database, load_settings
from waypost.runtime.db import make_session_factory
from waypost.runtime.errors import ValidationFailed
from waypost.server.identity import ROLES, IdentityStore

__all__ = ["keys_app", "tenants_app"]

tenants_app = typer.Typer(
    help="Tenants: create, list, quotas and rate limits.", no_args_is_help=True
)
keys_app = typer.Typer(help="API keys: create (shown once), list, revoke.", no_args_is_help=True)
_DURATION = re.compile(r"^(\d+)([hdw])$")


def _store() -> IdentityStore:
    engine = ensure_database(load_settings())
    return IdentityStore(make_session_factory(engine), cache_s=0)


def _when(value: dt.datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else ""


def _limit(value: float | int | None) -> str:
    return "-" if value is None else f"{value:g}"


@tenants_app.command("create")
def create_tenant(
    tenant: str = typer.Argument(..., help="Tenant id: lowercase letters, digits, '-', '_'."),
    name: str = typer.Option("", help="A display name."),
) -> None:
    """Create a tenant (it then owns its threads, runs, approvals, ledger and scorecards)."""
    row = _store().create_tenant(tenant, name)
    console.print(f"tenant [bold]{row.tenant}[/bold] created")


@tenants_app.command("list")
def list_tenants() -> None:
    """Tenants with their quotas and rate limits ('-': no limit of its own)."""
    table = Table(title="tenants")
    for col in (
        "tenant",
        "name",
        "tokens/day",
        "tokens/month",
        "USD/day",
        "USD/month",
        "req/min",
        "runs/min",
    ):
        table.add_column(col)
    for t in _store().tenants():
        table.add_row(
            t.tenant,
            t.name,
            _limit(t.tokens_per_day),
            _limit(t.tokens_per_month),
            _limit(t.usd_per_day),
            _limit(t.usd_per_month),
            _limit(t.requests_per_minute),
            _limit(t.runs_per_minute),
        )
    console.print(table)


@tenants_app.command("set-quota")
def set_quota(
    tenant: str = typer.Argument(...),
    tokens_per_day: int | None = typer.Option(None, help="Model tokens (in + out) a day."),
    tokens_per_month: int | None = typer.Option(None, help="Model tokens a calendar month."),
    usd_per_day: float | None = typer.Option(None, help="Model spend in USD a day."),
    usd_per_month: float | None = typer.Option(None, help="Model spend in USD a month."),
    requests_per_minute: int | None = typer.Option(None, help="API requests a minute."),
    runs_per_minute: int | None = typer.Option(None, help="Runs started a minute."),
    clear: list[str] = typer.Option(
        [], "--clear", help="Remove a limit (e.g. --clear usd_per_day); repeatable."
    ),
) -> None:
    """Set a tenant's quotas and rate limits; runs stopped by a quota can then be resumed."""
    given = {
        "tokens_per_day": tokens_per_day,
        "tokens_per_month": tokens_per_month,
        "usd_per_day": usd_per_day,
        "usd_per_month": usd_per_month,
        "requests_per_minute": requests_per_minute,
        "runs_per_minute": runs_per_minute,
    }
    values: dict[str, int | float | None] = {k: v for k, v in given.items() if v is not None}
    for name in clear:
        if name not in given:
            raise ValidationFailed(f"--clear {name}: not a limit; one of {sorted(given)}")
        values[name] = None
    if not values:
        raise ValidationFailed("give at least one limit to set (or --clear one)")
    row = _store().set_limits(tenant, **values)
    console.print(
        f"tenant [bold]{row.tenant}[/bold]: tokens/day {_limit(row.tokens_per_day)}, "
        f"tokens/month {_limit(row.tokens_per_month)}, USD/day {_limit(row.usd_per_day)}, "
        f"USD/month {_limit(row.usd_per_month)}, requests/min "
        f"{_limit(row.requests_per_minute)}, runs/min {_limit(row.runs_per_minute)}"
    )


def _expiry(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    match = _DURATION.match(value.strip())
    if match:
        n, unit = int(match.group(1)), match.group(2)
        delta = {"h": dt.timedelta(hours=n), "d": dt.timedelta(days=n), "w": dt.timedelta(weeks=n)}
        return dt.datetime.now(dt.UTC) + delta[unit]
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(
            f"--expires {value!r}: give a duration (12h, 30d, 4w) or an ISO date"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


@keys_app.command("create")
def create_key(
    tenant: str = typer.Option(..., "--tenant", help="The tenant the key acts for."),
    role: str = typer.Option(..., "--role", help=f"One of {', '.join(ROLES)}."),
    name: str = typer.Option("", "--name", help="Who holds it (recorded as the decider)."),
    expires: str | None = typer.Option(None, "--expires", help="12h, 30d, 4w or an ISO date."),
) -> None:
    """Create an API key and print it once; only its hash is stored."""
    issued = _store().create_key(tenant, role, name=name, expires_at=_expiry(expires))
    console.print(
        f"key for tenant [bold]{issued.tenant}[/bold], role [bold]{issued.role}[/bold]"
        + (f", expires {_when(issued.expires_at)} UTC" if issued.expires_at else "")
    )
    console.print("[yellow]it is shown only now; store it safely:[/yellow]")
    typer.echo(issued.key)


@keys_app.command("list")
def list_keys(tenant: str | None = typer.Option(None, help="Only this tenant's keys.")) -> None:
    """Keys (prefix, tenant, role, status); the keys themselves are not stored."""
    table = Table(title="API keys")
    for col in ("prefix", "tenant", "role", "name", "status", "created", "expires", "key id"):
        table.add_column(col)
    for k in _store().keys(tenant):
        table.add_row(
            k.prefix,
            k.tenant,
            k.role,
            k.name,
            k.status,
            _when(k.created_at),
            _when(k.expires_at),
            k.key_id,
        )
    console.print(table)


@keys_app.command("revoke")
def revoke_key(key: str = typer.Argument(..., help="The key's id or prefix.")) -> None:
    """Revoke a key: refused within seconds by every server (each caches keys briefly)."""
    row = _store().revoke(key)
    console.print(f"key {row.prefix} ({row.tenant}, {row.role}) revoked")
