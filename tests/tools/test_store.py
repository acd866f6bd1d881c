"""Loading and exporting the store, the demo generator, ``seed_store`` and ``waypost store``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner
from waypost.domains.retail.tools import (
    build_retail_registry,
    export_tau2_db,
    load_tau2_db,
    seed_store,
    store_counts,
)
from waypost.domains.retail.tools.demo_data import generate_demo_db
from waypost.domains.retail.tools.store import User
from waypost.graphs.plugins import migrate
from waypost.runtime.db import make_engine, make_session_factory
from waypost.runtime.errors import Conflict, ValidationFailed
from waypost.runtime.settings import DatabaseSettings
from waypost.tools import ToolContext

from tests.tools.conftest import DB_JSON


@pytest.fixture
def sqlite_store(tmp_path: Path) -> sessionmaker[Session]:
    engine = make_engine(DatabaseSettings(url=f"sqlite:///{tmp_path / 'store.db'}"))
    migrate(engine)
    return make_session_factory(engine)


def _export(factory: sessionmaker[Session]) -> dict[str, Any]:
    with factory() as session:
        return export_tau2_db(session)


@pytest.mark.reference
def test_reference_db_round_trips_exactly(
    sqlite_store: sessionmaker[Session], reference_db: dict[str, Any]
) -> None:
    counts = load_tau2_db(sqlite_store, DB_JSON)
    assert counts["users"] == 500 and counts["orders"] == 1000 and counts["products"] == 50
    exported = _export(sqlite_store)
    # same records, same key order, same list order: byte-identical JSON
    assert json.dumps(exported) == json.dumps(reference_db)


def test_demo_round_trips_on_both_databases(migrated_engine: Engine) -> None:
    factory = make_session_factory(migrated_engine)
    demo = generate_demo_db()
    load_tau2_db(factory, demo)
    assert json.dumps(_export(factory)) == json.dumps(demo)


def test_demo_generator_is_deterministic() -> None:
    first, second = generate_demo_db(7), generate_demo_db(7)
    assert json.dumps(first) == json.dumps(second)
    assert json.dumps(first) != json.dumps(generate_demo_db(8))
    assert len(first["products"]) == 20 and len(first["users"]) == 50
    assert len(first["orders"]) == 150
    statuses = {o["status"] for o in first["orders"].values()}
    assert statuses == {"pending", "processed", "delivered", "cancelled"}
    balances = [
        m["balance"]
        for u in first["users"].values()
        for m in u["payment_methods"].values()
        if m["source"] == "gift_card"
    ]
    assert balances and any(b > 0 for b in balances)


def test_seed_store_leaves_a_full_store_alone_without_force(
    sqlite_store: sessionmaker[Session],
) -> None:
    counts = seed_store(sqlite_store, None, force=False)
    assert counts["products"] == 20
    with sqlite_store.begin() as session:
        session.execute(update(User).values(email="kept@example.com"))
    assert seed_store(sqlite_store, None, force=False) == {}
    assert all(u["email"] == "kept@example.com" for u in _export(sqlite_store)["users"].values())
    again = seed_store(sqlite_store, None, force=True)
    assert again == counts
    assert _export(sqlite_store) == generate_demo_db()


def test_loader_rejects_other_json(sqlite_store: sessionmaker[Session]) -> None:
    with pytest.raises(ValidationFailed, match="not a tau2 retail database"):
        load_tau2_db(sqlite_store, {"users": []})


def test_tools_work_on_the_demo_store(sqlite_store: sessionmaker[Session]) -> None:
    seed_store(sqlite_store, None, force=False)
    db = _export(sqlite_store)
    registry = build_retail_registry()
    ctx = ToolContext(session_factory=sqlite_store, run_id="demo")
    user = next(iter(db["users"].values()))
    found = registry.execute(
        "find_user_id_by_name_zip",
        {
            "first_name": user["name"]["first_name"].upper(),
            "last_name": user["name"]["last_name"],
            "zip": user["address"]["zip"],
        },
        ctx,
        "1",
    )
    assert found.ok
    found_user = db["users"][found.result]
    assert found_user["name"] == user["name"]
    by_email = registry.execute("find_user_id_by_email", {"email": user["email"]}, ctx, "2")
    assert by_email.result == user["user_id"]
    types = registry.execute("list_all_product_types", {}, ctx, "3")
    assert list(types.result) == sorted(p["name"] for p in db["products"].values())

    # exchange one item of a delivered order for another available variant of its product
    for order in db["orders"].values():
        if order["status"] != "delivered":
            continue
        item = order["items"][0]
        product = db["products"][item["product_id"]]
        new = next(
            (
                v
                for v in product["variants"].values()
                if v["available"] and v["item_id"] != item["item_id"]
            ),
            None,
        )
        method = order["payment_history"][0]["payment_method_id"]
        if new is not None and not method.startswith("gift_card"):
            break
    else:
        pytest.fail("no delivered order to exchange in the demo store")
    outcome = registry.execute(
        "exchange_delivered_order_items",
        {
            "order_id": order["order_id"],
            "item_ids": [item["item_id"]],
            "new_item_ids": [new["item_id"]],
            "payment_method_id": method,
        },
        ctx,
        "4",
    )
    assert outcome.ok, outcome.error
    assert outcome.result["status"] == "exchange requested"
    assert outcome.result["exchange_price_difference"] == round(new["price"] - item["price"], 2)
    with sqlite_store() as session:
        assert store_counts(session)["orders"] == 150


def test_cli_store_seed_and_stats(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from waypost.domains.retail import cli as store_cli
    from waypost.runtime.settings import get_settings

    from waypost.cli import app

    monkeypatch.setenv("WAYPOST_DATABASE__URL", f"sqlite:///{tmp_path / 'cli.db'}")
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        seeded = runner.invoke(store_cli.app, ["seed"])
        assert seeded.exit_code == 0, seeded.output
        assert "orders" in seeded.output and "150" in seeded.output
        refused = runner.invoke(store_cli.app, ["seed"])
        assert refused.exit_code != 0
        assert isinstance(refused.exception, Conflict)
        forced = runner.invoke(store_cli.app, ["seed", "--force"])
        assert forced.exit_code == 0, forced.output
        stats = runner.invoke(store_cli.app, ["stats"])
        assert stats.exit_code == 0 and "150" in stats.output
        assert app is not None
    finally:
        get_settings.cache_clear()


def test_store_commands_are_registered() -> None:
    import typer

    from waypost.cli import commands

    app = typer.Typer()
    commands.register(app)
    assert "store" in {group.name for group in app.registered_groups}
