"""A tiny store of our own (tau2 format) and a retail graph factory over the scripted model."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from sqlalchemy.orm import Session, sessionmaker
from waypost.domains.retail.graph import RetailGraphConfig, build_retail_graph
from waypost.domains.retail.store_client import StoreClient
from waypost.domains.retail.tools import build_retail_registry, export_tau2_db, load_tau2_db
from waypost.domains.retail.workflow import make_structured_call
from waypost.graphs.plugins import migrate
from waypost.runtime.db import make_engine, make_session_factory
from waypost.runtime.settings import DatabaseSettings, Settings

from tests.fakes import ScriptedChatModel

ADDRESS = {
    "address1": "1 Main St",
    "address2": "",
    "city": "Springfield",
    "country": "USA",
    "state": "IL",
    "zip": "62701",
}

TINY_DB: dict[str, Any] = {
    "users": {
        "ada_byron_1815": {
            "user_id": "ada_byron_1815",
            "name": {"first_name": "Ada", "last_name": "Byron"},
            "address": ADDRESS,
            "email": "ada@example.com",
            "payment_methods": {
                "credit_card_1": {
                    "source": "credit_card",
                    "id": "credit_card_1",
                    "brand": "visa",
                    "last_four": "1111",
                },
                "gift_card_1": {"source": "gift_card", "id": "gift_card_1", "balance": 20.0},
            },
            "orders": ["#W0000001", "#W0000002"],
        }
    },
    "products": {
        "100": {
            "name": "Desk Lamp",
            "product_id": "100",
            "variants": {
                "111": {
                    "item_id": "111",
                    "options": {"color": "white", "brightness": "medium"},
                    "available": True,
                    "price": 100.0,
                },
                "112": {
                    "item_id": "112",
                    "options": {"color": "black", "brightness": "low"},
                    "available": True,
                    "price": 90.0,
                },
                "113": {
                    "item_id": "113",
                    "options": {"color": "red", "brightness": "high"},
                    "available": False,
                    "price": 150.0,
                },
            },
        }
    },
    "orders": {
        "#W0000001": {
            "order_id": "#W0000001",
            "user_id": "ada_byron_1815",
            "address": ADDRESS,
            "items": [
                {
                    "name": "Desk Lamp",
                    "product_id": "100",
                    "item_id": "111",
                    "price": 100.0,
                    "options": {"color": "white", "brightness": "medium"},
                }
            ],
            "status": "pending",
            "fulfillments": [],
            "payment_history": [
                {"transaction_type": "payment", "amount": 100.0, "payment_method_id": "gift_card_1"}
            ],
        },
        "#W0000002": {
            "order_id": "#W0000002",
            "user_id": "ada_byron_1815",
            "address": ADDRESS,
            "items": [
                {
                    "name": "Desk Lamp",
                    "product_id": "100",
                    "item_id": "111",
                    "price": 100.0,
                    "options": {"color": "white", "brightness": "medium"},
                }
            ],
            "status": "delivered",
            "fulfillments": [{"tracking_id": ["987654321"], "item_ids": ["111"]}],
            "payment_history": [
                {
                    "transaction_type": "payment",
                    "amount": 100.0,
                    "payment_method_id": "credit_card_1",
                }
            ],
        },
    },
}

CANCEL_MESSAGE = "I'm Ada Byron, zip 62701. Please cancel order #W0000001, I ordered it by mistake."
CANCEL_INTAKE = {
    "identity": {"first_name": "Ada", "last_name": "Byron", "zip": "62701"},
    "requests": [{"kind": "cancel_order", "order_id": "#W0000001", "reason": "by mistake"}],
}
CANCEL_PLAN = {
    "actions": [{"kind": "cancel_order", "order_id": "#W0000001", "reason": "ordered by mistake"}]
}


@pytest.fixture
def store_factory(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(DatabaseSettings(url=f"sqlite:///{tmp_path / 'store.db'}"))
    migrate(engine)
    factory = make_session_factory(engine)
    load_tau2_db(factory, copy.deepcopy(TINY_DB))
    yield factory
    engine.dispose()


@pytest.fixture
def export(store_factory: sessionmaker[Session]) -> Callable[[], dict[str, Any]]:
    def run() -> dict[str, Any]:
        with store_factory() as session:
            return export_tau2_db(session)

    return run


@pytest.fixture
def make_graph(store_factory: sessionmaker[Session]) -> Callable[..., Any]:
    """``make_graph(model, checkpointer=None, **config)`` -> compiled retail graph."""

    def make(model: ScriptedChatModel, checkpointer: Any = None, **config: Any) -> Any:
        settings = Settings(env="test", _env_file=None)  # type: ignore[call-arg]
        structured = make_structured_call(settings, model_factory=lambda _name: model)
        return build_retail_graph(
            store=StoreClient(build_retail_registry(), store_factory),
            structured=structured,
            checkpointer=checkpointer if checkpointer is not None else InMemorySaver(),
            config=RetailGraphConfig(**config),
        )

    return make
