from __future__ import annotations

import logging

import pytest
from sqlalchemy import inspect, text
from waypost.graphs.plugins import migrate, migration_locations
from waypost.runtime.db import async_url, sync_url
from waypost.runtime.errors import ConfigError, InvalidState, StructuredOutputError, WaypostError
from waypost.runtime.logging import JsonFormatter, _RunContextFilter, bind_run
from waypost.runtime.migrate import current_heads, heads, upgrade
from waypost.runtime.settings import Settings


def test_settings_read_nested_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAYPOST_DATABASE__URL", "postgresql://u@h/db")
    monkeypatch.setenv("WAYPOST_MODELS__TIMEOUT_S", "7.5")
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    assert s.database.url == "postgresql://u@h/db"
    assert s.models.timeout_s == 7.5
    assert s.models.default == "local:qwen2.5-coder-0.5b"


def test_settings_refuse_placeholder_secret_in_production() -> None:
    with pytest.raises(ValueError, match="SECRET_KEY"):
        Settings(env="production", _env_file=None)  # type: ignore[call-arg]
    ok = Settings(env="production", secret_key="a-real-long-random-value", _env_file=None)  # type: ignore[call-arg]
    assert ok.env == "production"


def test_urls_normalised_to_drivers() -> None:
    assert sync_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert async_url("sqlite:///x.db") == "sqlite+aiosqlite:///x.db"
    with pytest.raises(ConfigError, match="unsupported database"):
        sync_url("mysql://u@h/db")


def test_errors_have_stable_codes() -> None:
    err = InvalidState("order is not pending", details={"order_id": "#W1"})
    assert isinstance(err, WaypostError)
    assert err.to_dict() == {
        "code": "invalid_state",
        "message": "order is not pending",
        "details": {"order_id": "#W1"},
    }
    assert StructuredOutputError("x").code == "structured_output_failed"


def test_migrations_reach_every_head_and_are_idempotent(migrated_engine) -> None:
    newest = heads(migrated_engine, migration_locations())
    assert "retail_0001" in newest  # the retail domain's own branch
    assert current_heads(migrated_engine) == newest
    assert {"tool_invocations", "runs", "retail_orders"} <= set(
        inspect(migrated_engine).get_table_names()
    )
    before, after = migrate(migrated_engine)
    assert before == after


def test_the_core_chain_has_one_head_and_each_domain_one(sqlite_url: str) -> None:
    """Two revisions on one parent (e.g. after a merge) would leave a branch nobody upgrades."""
    from waypost.runtime.db import make_engine
    from waypost.runtime.settings import DatabaseSettings

    engine = make_engine(DatabaseSettings(url=sqlite_url))
    try:
        core = heads(engine)
        assert len(core) == 1
        assert len(heads(engine, migration_locations())) == 1 + len(migration_locations())
    finally:
        engine.dispose()


def test_core_migrations_know_no_domain(database_url: str) -> None:
    from waypost.runtime.db import make_engine
    from waypost.runtime.settings import DatabaseSettings

    engine = make_engine(DatabaseSettings(url=database_url))
    try:
        upgrade(engine)  # core only: no domain location given
        names = set(inspect(engine).get_table_names())
        assert "runs" in names and not any(n.startswith("retail_") for n in names)
    finally:
        engine.dispose()


def test_a_database_from_before_the_retail_branch_upgrades(sqlite_url: str) -> None:
    """Older databases made the retail tables in core revision 0002 and are stamped 0006."""
    from waypost.runtime.db import make_engine
    from waypost.runtime.settings import DatabaseSettings

    engine = make_engine(DatabaseSettings(url=sqlite_url))
    try:
        migrate(engine)
        with engine.begin() as conn:  # what such a database looks like: one core head only
            conn.execute(text("DELETE FROM alembic_version WHERE version_num = 'retail_0001'"))
        assert "retail_0001" not in current_heads(engine)
        migrate(engine)  # adopts the existing retail tables instead of failing on them
        assert "retail_0001" in current_heads(engine)
    finally:
        engine.dispose()


def test_sqlite_uses_wal_and_busy_timeout(settings: Settings) -> None:
    from waypost.runtime.db import make_engine

    engine = make_engine(settings.database)
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 5000
    engine.dispose()


def test_log_records_carry_run_id() -> None:
    record = logging.LogRecord("waypost", logging.INFO, __file__, 1, "step done", None, None)
    with bind_run(run_id="run-1", thread_id="t-9"):
        _RunContextFilter().filter(record)
    line = JsonFormatter().format(record)
    assert '"run_id": "run-1"' in line and '"thread_id": "t-9"' in line
    outside = logging.LogRecord("waypost", logging.INFO, __file__, 1, "x", None, None)
    _RunContextFilter().filter(outside)
    assert "run_id" not in JsonFormatter().format(outside)
