"""Safe defaults: the Host check, refusing exposure without auth, keys from the CLI (shown once,
hashed, revocable, expiring), ``require_auth`` honoured."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from typer.testing import CliRunner
from waypost.api.app import create_app
from waypost.graphs.plugins import migrate
from waypost.runtime.db import make_engine, make_session_factory
from waypost.runtime.errors import ConfigError
from waypost.runtime.settings import ApiSettings, get_settings
from waypost.server.identity import ApiKey, IdentityStore

from tests.api.conftest import make_settings
from tests.api.sample_graphs import make_registry
from tests.api.server import serve
from waypost.cli.identity import keys_app, tenants_app
from waypost.cli.serve import check_exposure


def test_a_foreign_host_header_is_refused(sqlite_url: str) -> None:
    """A browser page on another origin resolving its name to 127.0.0.1 (DNS rebinding)."""
    app = create_app(make_settings(sqlite_url), make_registry())
    with serve(app) as base, httpx.Client(base_url=base) as http:
        foreign = http.get("/threads/search", headers={"host": "evil.example:2024"})
        local = http.get("/info", headers={"host": "localhost:2024"})
    assert foreign.status_code == 400
    assert foreign.json()["error"]["code"] == "invalid_host"
    assert local.status_code == 200


def test_an_allowed_host_is_served(sqlite_url: str) -> None:
    settings = make_settings(sqlite_url).model_copy(
        update={"api": ApiSettings(allowed_hosts=["api.example.com"])}
    )
    with serve(create_app(settings, make_registry())) as base, httpx.Client(base_url=base) as http:
        assert http.get("/info", headers={"host": "api.example.com"}).status_code == 200


def test_require_auth_is_honoured_before_any_key_exists(sqlite_url: str) -> None:
    settings = make_settings(sqlite_url).model_copy(update={"api": ApiSettings(require_auth=True)})
    with serve(create_app(settings, make_registry())) as base, httpx.Client(base_url=base) as http:
        assert http.get("/ok").status_code == 200  # public
        refused = http.get("/approvals")
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"].startswith("Bearer")
    assert "waypost keys create" in refused.json()["error"]["details"]["hint"]


def test_serving_beyond_loopback_without_auth_is_refused(sqlite_url: str) -> None:
    settings = make_settings(sqlite_url)
    engine = make_engine(settings.database)
    migrate(engine)
    assert "none" in check_exposure(settings, "127.0.0.1", custom_auth=False, insecure=False)
    with pytest.raises(ConfigError, match="waypost keys create"):
        check_exposure(settings, "0.0.0.0", custom_auth=False, insecure=False)
    production = settings.model_copy(update={"env": "production"})
    with pytest.raises(ConfigError):
        check_exposure(production, "127.0.0.1", custom_auth=False, insecure=False)
    assert "NON-LOOPBACK" in check_exposure(settings, "0.0.0.0", custom_auth=False, insecure=True)
    IdentityStore(make_session_factory(engine)).create_key("default", "admin")
    assert "API keys" in check_exposure(settings, "0.0.0.0", custom_auth=False, insecure=False)
    engine.dispose()


def test_keys_from_the_cli_are_shown_once_stored_hashed_and_revocable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("WAYPOST_DATABASE__URL", url)
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        assert runner.invoke(tenants_app, ["create", "acme"]).exit_code == 0
        made = runner.invoke(
            keys_app, ["create", "--tenant", "acme", "--role", "reviewer", "--name", "rita"]
        )
        assert made.exit_code == 0, made.output
        key = made.output.strip().splitlines()[-1]
        assert key.startswith("wp_")
        listed = runner.invoke(keys_app, ["list"])
        assert "acme" in listed.output and "reviewer" in listed.output
        assert key not in listed.output  # never shown again
        bad_role = runner.invoke(keys_app, ["create", "--tenant", "acme", "--role", "god"])
        assert bad_role.exit_code != 0 and "role must be one of" in str(bad_role.exception)
        engine = make_engine(get_settings().database)
        store = IdentityStore(make_session_factory(engine), cache_s=0)
        with make_session_factory(engine)() as session:
            row = session.scalars(select(ApiKey)).one()
        assert key not in (row.key_hash, row.prefix) and len(row.key_hash) == 64
        principal = store.verify(key)
        assert principal is not None and principal.identity == "key:rita"
        revoked = runner.invoke(keys_app, ["revoke", row.prefix])
        assert revoked.exit_code == 0, revoked.output
        assert store.verify(key) is None
        soon = store.create_key(
            "acme", "viewer", expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        )
        assert store.verify(soon.key) is None  # expired
        assert store.verify(key[:-1] + ("x" if key[-1] != "x" else "y")) is None
        quota = runner.invoke(tenants_app, ["set-quota", "acme", "--usd-per-day", "2.5"])
        assert quota.exit_code == 0 and "USD/day 2.5" in quota.output
        engine.dispose()
    finally:
        get_settings.cache_clear()
