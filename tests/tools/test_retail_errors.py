"""Tool errors come back as typed outcomes: not found, invalid state, balance, bad arguments."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker
from waypost.domains.retail.tools import build_retail_registry, export_tau2_db, seed_store
from waypost.domains.retail.tools.store import PaymentMethod
from waypost.graphs.plugins import migrate
from waypost.runtime.db import make_engine, make_session_factory
from waypost.runtime.settings import DatabaseSettings
from waypost.tools import ToolContext, ToolOutcome

REGISTRY = build_retail_registry()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> sessionmaker[Session]:
    path: Path = tmp_path_factory.mktemp("errors") / "store.db"
    engine = make_engine(DatabaseSettings(url=f"sqlite:///{path}"))
    migrate(engine)
    factory = make_session_factory(engine)
    seed_store(factory, None, force=False)
    return factory


@pytest.fixture(scope="module")
def db(store: sessionmaker[Session]) -> dict[str, Any]:
    with store() as session:
        return export_tau2_db(session)


def run(store: sessionmaker[Session], name: str, args: dict[str, Any]) -> ToolOutcome:
    """Each call gets its own run and call id, so no call replays another."""
    call = uuid.uuid4().hex
    return REGISTRY.execute(name, args, ToolContext(session_factory=store, run_id=call), call)


def _order_with(db: dict[str, Any], status: str) -> dict[str, Any]:
    return next(o for o in db["orders"].values() if o["status"] == status)


@pytest.mark.parametrize(
    ("name", "args", "message"),
    [
        ("get_order_details", {"order_id": "#W0000000"}, "Order not found"),
        ("get_user_details", {"user_id": "nobody_1"}, "User not found"),
        ("get_product_details", {"product_id": "1"}, "Product not found"),
        ("get_item_details", {"item_id": "1"}, "Item not found"),
        ("find_user_id_by_email", {"email": "none@example.com"}, "User not found"),
        (
            "find_user_id_by_name_zip",
            {"first_name": "No", "last_name": "Body", "zip": "00000"},
            "User not found",
        ),
    ],
)
def test_not_found(
    store: sessionmaker[Session], name: str, args: dict[str, Any], message: str
) -> None:
    outcome = run(store, name, args)
    assert not outcome.ok and outcome.error is not None
    assert outcome.error.code == "tool_not_found"
    assert outcome.content == f"Error: {message}"


def test_invalid_state(store: sessionmaker[Session], db: dict[str, Any]) -> None:
    delivered = _order_with(db, "delivered")
    pending = _order_with(db, "pending")
    cancel = run(
        store,
        "cancel_pending_order",
        {"order_id": delivered["order_id"], "reason": "no longer needed"},
    )
    assert cancel.error is not None and cancel.error.code == "invalid_state"
    assert cancel.error.message == "Non-pending order cannot be cancelled"
    ret = run(
        store,
        "return_delivered_order_items",
        {"order_id": pending["order_id"], "item_ids": [], "payment_method_id": "x"},
    )
    assert ret.error is not None and ret.error.code == "invalid_state"
    assert ret.content == "Error: Non-delivered order cannot be returned"


def test_insufficient_balance(store: sessionmaker[Session], db: dict[str, Any]) -> None:
    order = next(
        o
        for o in db["orders"].values()
        if o["status"] == "pending"
        and len(o["payment_history"]) == 1
        and any(
            m.startswith("gift_card") and m != o["payment_history"][0]["payment_method_id"]
            for m in db["users"][o["user_id"]]["payment_methods"]
        )
    )
    card = next(
        m
        for m in db["users"][order["user_id"]]["payment_methods"]
        if m.startswith("gift_card") and m != order["payment_history"][0]["payment_method_id"]
    )
    with store.begin() as session:
        method = session.get(PaymentMethod, (order["user_id"], card))
        assert method is not None
        method.balance = 0.0
    outcome = run(
        store,
        "modify_pending_order_payment",
        {"order_id": order["order_id"], "payment_method_id": card},
    )
    assert outcome.error is not None and outcome.error.code == "insufficient_balance"
    assert outcome.content == "Error: Insufficient gift card balance to pay for the order"


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        ({"order_id": "#W1"}, "reason: Field required"),
        ({"order_id": 5, "reason": "no longer needed"}, "order_id: Input should be a valid string"),
        (
            {"order_id": "#W1", "reason": "x", "force": True},
            "force: Extra inputs are not permitted",
        ),
    ],
)
def test_bad_arguments(store: sessionmaker[Session], args: dict[str, Any], fragment: str) -> None:
    outcome = run(store, "cancel_pending_order", args)
    assert not outcome.ok and outcome.error is not None
    assert outcome.error.code == "invalid_input"
    assert outcome.error.message.startswith("invalid arguments for cancel_pending_order: ")
    assert fragment in outcome.error.message


def test_unknown_tool(store: sessionmaker[Session]) -> None:
    outcome = run(store, "refund_everything", {})
    assert outcome.error is not None and outcome.error.code == "invalid_input"
    assert "unknown tool 'refund_everything'" in outcome.error.message


def test_invalid_reason(store: sessionmaker[Session], db: dict[str, Any]) -> None:
    pending = _order_with(db, "pending")
    outcome = run(store, "cancel_pending_order", {"order_id": pending["order_id"], "reason": "meh"})
    assert outcome.error is not None and outcome.error.code == "invalid_input"
    assert outcome.content == "Error: Invalid reason"


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("2 + 2", "4.0"),
        ("3131.1 + 4777.75 + 367.38", "8276.23"),
        ("(10 - 4) / 3", "2.0"),
        ("-1.005 * 3", "-3.01"),
        ("2 ** 10", "1024.0"),
    ],
)
def test_calculate(store: sessionmaker[Session], expression: str, expected: str) -> None:
    assert run(store, "calculate", {"expression": expression}).content == expected


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("__import__('os')", "Invalid characters in expression"),
        ("1 / 0", "division by zero"),
        ("2 +", "Invalid expression"),
        ("9 ** 9 ** 9", "Exponent too large"),
        ("()", "Invalid expression"),
    ],
)
def test_calculate_refuses(store: sessionmaker[Session], expression: str, message: str) -> None:
    outcome = run(store, "calculate", {"expression": expression})
    assert outcome.error is not None and outcome.error.message == message
