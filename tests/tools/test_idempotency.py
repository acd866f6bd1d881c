"""Side-effecting tool calls are idempotent per (run id, tool call id), on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from waypost.domains.retail.tools import (
    RETAIL_TOOLS,
    build_retail_registry,
    export_tau2_db,
    seed_store,
)
from waypost.domains.retail.tools.store import User
from waypost.runtime.db import make_session_factory
from waypost.runtime.errors import InvalidState
from waypost.runtime.models import ToolInvocation
from waypost.tools import RiskLevel, ToolArgs, ToolContext, ToolRegistry, tool


@pytest.fixture
def demo_store(migrated_engine: Engine) -> sessionmaker[Session]:
    factory = make_session_factory(migrated_engine)
    seed_store(factory, None, force=False)
    return factory


def _snapshot(factory: sessionmaker[Session]) -> dict[str, Any]:
    with factory() as session:
        return export_tau2_db(session)


def _pending_gift_card_order(db: dict[str, Any]) -> tuple[str, str, float]:
    """A pending order paid by gift card: (order id, gift card id, amount)."""
    for order in db["orders"].values():
        payment = order["payment_history"][0]
        if order["status"] == "pending" and payment["payment_method_id"].startswith("gift_card"):
            return order["order_id"], payment["payment_method_id"], payment["amount"]
    raise AssertionError("the demo store has no pending gift card order")


def _balance(db: dict[str, Any], user_id: str, method_id: str) -> float:
    balance: float = db["users"][user_id]["payment_methods"][method_id]["balance"]
    return balance


def _invocations(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        return int(session.scalar(select(func.count()).select_from(ToolInvocation)) or 0)


def test_replayed_write_returns_the_recorded_result_and_changes_nothing(
    demo_store: sessionmaker[Session],
) -> None:
    registry = build_retail_registry()
    ctx = ToolContext(session_factory=demo_store, run_id="run-a")
    before = _snapshot(demo_store)
    order_id, card, amount = _pending_gift_card_order(before)
    user_id = before["orders"][order_id]["user_id"]
    args = {"order_id": order_id, "reason": "no longer needed"}

    first = registry.execute("cancel_pending_order", args, ctx, "call-1")
    assert first.ok and not first.replayed
    assert first.result["status"] == "cancelled"
    after_first = _snapshot(demo_store)
    expected = round(_balance(before, user_id, card) + amount, 2)
    assert _balance(after_first, user_id, card) == expected

    again = registry.execute("cancel_pending_order", args, ctx, "call-1")
    assert again.ok and again.replayed
    assert again.result == first.result
    assert _snapshot(demo_store) == after_first
    assert _invocations(demo_store) == 1

    # A new call id acts again: the order is no longer pending, and that error is recorded too.
    other = registry.execute("cancel_pending_order", args, ctx, "call-2")
    assert not other.ok and other.error is not None
    assert other.error.code == "invalid_state"
    replayed_error = registry.execute("cancel_pending_order", args, ctx, "call-2")
    assert replayed_error.replayed and replayed_error.error == other.error
    assert _snapshot(demo_store) == after_first


def test_different_call_ids_and_runs_act(demo_store: sessionmaker[Session]) -> None:
    registry = build_retail_registry()
    user_id = next(iter(_snapshot(demo_store)["users"]))
    address = {"address2": "", "city": "Ames", "state": "IA", "country": "USA", "zip": "50010"}
    run_a = ToolContext(session_factory=demo_store, run_id="run-a")
    run_b = ToolContext(session_factory=demo_store, run_id="run-b")

    registry.execute(
        "modify_user_address",
        {"user_id": user_id, "address1": "1 First St", **address},
        run_a,
        "c1",
    )
    registry.execute(
        "modify_user_address",
        {"user_id": user_id, "address1": "2 Second St", **address},
        run_a,
        "c2",
    )
    assert _snapshot(demo_store)["users"][user_id]["address"]["address1"] == "2 Second St"
    # the same call id in another run is another call
    outcome = registry.execute(
        "modify_user_address",
        {"user_id": user_id, "address1": "3 Third St", **address},
        run_b,
        "c1",
    )
    assert outcome.ok and not outcome.replayed
    assert _snapshot(demo_store)["users"][user_id]["address"]["address1"] == "3 Third St"
    assert _invocations(demo_store) == 3


def test_reads_are_not_recorded(demo_store: sessionmaker[Session]) -> None:
    registry = build_retail_registry()
    ctx = ToolContext(session_factory=demo_store, run_id="run-a")
    user_id = next(iter(_snapshot(demo_store)["users"]))
    for _ in range(2):
        outcome = registry.execute("get_user_details", {"user_id": user_id}, ctx, "read-1")
        assert outcome.ok and not outcome.replayed
    assert _invocations(demo_store) == 0


def test_concurrent_replays_act_once(demo_store: sessionmaker[Session]) -> None:
    registry = build_retail_registry()
    before = _snapshot(demo_store)
    order_id, card, amount = _pending_gift_card_order(before)
    user_id = before["orders"][order_id]["user_id"]
    args = {"order_id": order_id, "reason": "ordered by mistake"}
    outcomes: list[Any] = []
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def call() -> None:
        try:
            start.wait()
            ctx = ToolContext(session_factory=demo_store, run_id="run-c")
            outcomes.append(registry.execute("cancel_pending_order", args, ctx, "same-call"))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    assert len(outcomes) == 6
    assert all(o.ok for o in outcomes), [o.error for o in outcomes]
    assert sum(not o.replayed for o in outcomes) == 1
    assert len({str(o.result) for o in outcomes}) == 1
    after = _snapshot(demo_store)
    assert _balance(after, user_id, card) == round(_balance(before, user_id, card) + amount, 2)
    refunds = [
        p for p in after["orders"][order_id]["payment_history"] if p["transaction_type"] == "refund"
    ]
    assert len(refunds) == 1
    assert _invocations(demo_store) == 1


def test_concurrent_distinct_calls_on_one_order_act_once(demo_store: sessionmaker[Session]) -> None:
    """Different calls racing to cancel the same order: one wins, the rest see it cancelled."""
    registry = build_retail_registry()
    before = _snapshot(demo_store)
    order_id, card, amount = _pending_gift_card_order(before)
    user_id = before["orders"][order_id]["user_id"]
    args = {"order_id": order_id, "reason": "no longer needed"}
    outcomes: list[Any] = []
    start = threading.Barrier(4)

    def call(n: int) -> None:
        start.wait()
        ctx = ToolContext(session_factory=demo_store, run_id="run-d")
        outcomes.append(registry.execute("cancel_pending_order", args, ctx, f"call-{n}"))

    threads = [threading.Thread(target=call, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(outcomes) == 4
    assert sum(o.ok for o in outcomes) == 1
    assert {o.error.code for o in outcomes if not o.ok} == {"invalid_state"}
    after = _snapshot(demo_store)
    assert _balance(after, user_id, card) == round(_balance(before, user_id, card) + amount, 2)


class _RenameArgs(ToolArgs):
    user_id: str


@tool(risk=RiskLevel.WRITE, result=str, description="Changes an email, then refuses.")
def _write_then_refuse(ctx: ToolContext, args: _RenameArgs) -> str:
    user = ctx.db.get(User, args.user_id)
    assert user is not None
    user.email = "changed@example.com"
    ctx.db.flush()
    raise InvalidState("refused after writing")


def test_a_refused_write_rolls_back_and_records_the_error(
    demo_store: sessionmaker[Session],
) -> None:
    registry = ToolRegistry([*RETAIL_TOOLS, _write_then_refuse])
    ctx = ToolContext(session_factory=demo_store, run_id="run-r")
    before = _snapshot(demo_store)
    user_id = next(iter(before["users"]))
    outcome = registry.execute("_write_then_refuse", {"user_id": user_id}, ctx, "w1")
    assert not outcome.ok and outcome.error is not None
    assert outcome.error.code == "invalid_state"
    assert _snapshot(demo_store) == before
    replay = registry.execute("_write_then_refuse", {"user_id": user_id}, ctx, "w1")
    assert replay.replayed and replay.error == outcome.error
    # a call id reused for another tool is a conflict, not a replay
    clash = registry.execute("get_user_details", {"user_id": user_id}, ctx, "w1")
    assert clash.ok  # reads are never recorded or replayed
    clash = registry.execute(
        "modify_user_address",
        {
            "user_id": user_id,
            "address1": "x",
            "address2": "",
            "city": "c",
            "state": "s",
            "country": "USA",
            "zip": "1",
        },
        ctx,
        "w1",
    )
    assert not clash.ok and clash.error is not None and clash.error.code == "conflict"
    assert _snapshot(demo_store) == before
