"""Unit tests of the code steps: pattern intake, draft resolution, the policy validator."""

from __future__ import annotations

import copy

import pytest
from waypost.domains.retail.intake import fallback_intake, merge_patterns, pattern_facts
from waypost.domains.retail.resolve import draft_plan, pick_variant
from waypost.domains.retail.state import Action, ActionKind, CustomerRequest, Intake, RequestKind
from waypost.domains.retail.validate import validate_plan

from tests.fakes import ScriptedChatModel
from tests.graphs.conftest import TINY_DB

USER = TINY_DB["users"]["ada_byron_1815"]
ORDERS = TINY_DB["orders"]
PRODUCTS = TINY_DB["products"]


def codes(plan: list[Action], orders=ORDERS, user=USER) -> list[str]:
    return [v.code for v in validate_plan(plan, user=user, orders=orders, products=PRODUCTS)]


def test_patterns_find_email_order_zip_and_user_id() -> None:
    facts = pattern_facts("I'm ada_byron_1815 (ada@example.com), zip 62701, order #W0000001.")
    assert facts == {
        "emails": ["ada@example.com"],
        "order_ids": ["#W0000001"],
        "zip": "62701",
        "user_ids": ["ada_byron_1815"],
    }


def test_merge_drops_invented_values_and_spurious_transfers() -> None:
    message = "I'm Ada Byron, zip 62701: cancel #W0000001"
    raw = Intake.model_validate(
        {
            "identity": {"first_name": "Ada", "last_name": "Lovelace", "zip": "99999"},
            "requests": [{"kind": "cancel_order"}, {"kind": "other"}],
        }
    )
    merged = merge_patterns(raw, message)
    # "Lovelace" is not in the text: the self-introduction's name replaces it
    assert (merged.identity.first_name, merged.identity.last_name) == ("Ada", "Byron")
    assert merged.identity.zip == "62701"  # from the pattern, replacing the invented one
    assert [r.kind for r in merged.requests] == [RequestKind.cancel_order]
    assert merged.requests[0].order_id == "#W0000001"


def test_a_second_person_case_introduces_the_customer() -> None:
    out = fallback_intake("You are Yusuf Rossi in zip code 19122. You want to return order #W1")
    assert (out.identity.first_name, out.identity.last_name) == ("Yusuf", "Rossi")
    assert merge_patterns(Intake(), "You are Yusuf Rossi in zip code 19122.").identity.zip == (
        "19122"
    )


def test_fallback_intake_needs_no_model() -> None:
    out = fallback_intake("ada@example.com: please return order #W0000002")
    assert out.identity.email == "ada@example.com"
    assert out.requests[0].kind is RequestKind.return_items
    assert out.requests[0].order_id == "#W0000002"


def test_pick_variant_prefers_mentioned_options_and_skips_unavailable() -> None:
    item = ORDERS["#W0000002"]["items"][0]
    assert pick_variant(item, PRODUCTS["100"], "I want it in black")["item_id"] == "112"
    # red is asked for but unavailable: no guess at something else
    assert pick_variant(item, PRODUCTS["100"], "red please") is None
    assert pick_variant(item, PRODUCTS["100"], "the cheapest one")["item_id"] == "112"


def test_draft_merges_items_of_one_order_and_uses_original_payment() -> None:
    intake = Intake(
        requests=[
            CustomerRequest(kind=RequestKind.return_items, items=["lamp"]),
        ]
    )
    draft = draft_plan(
        intake, message="return my lamp", user=USER, orders=ORDERS, products=PRODUCTS
    )
    assert [a.model_dump(exclude_none=True) for a in draft.actions] == [
        {
            "kind": ActionKind.return_items,
            "order_id": "#W0000002",
            "item_ids": ["111"],
            "new_item_ids": [],
            "payment_method_id": "credit_card_1",
        }
    ]


def test_draft_notes_what_it_cannot_resolve() -> None:
    intake = Intake(requests=[CustomerRequest(kind=RequestKind.exchange_items, items=["sofa"])])
    draft = draft_plan(intake, message="", user=USER, orders=ORDERS, products=PRODUCTS)
    assert draft.actions == [] and "no suitable order" in draft.notes[0]


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        (Action(kind=ActionKind.cancel_order, order_id="#W0000001", reason="no longer needed"), []),
        (
            Action(kind=ActionKind.cancel_order, order_id="#W0000002", reason="no longer needed"),
            ["order_not_pending"],
        ),
        (
            Action(kind=ActionKind.cancel_order, order_id="#W0000001", reason="too expensive"),
            ["bad_cancel_reason"],
        ),
        (
            Action(kind=ActionKind.cancel_order, order_id="#W9999999", reason="no longer needed"),
            ["unknown_order"],
        ),
        (
            Action(
                kind=ActionKind.return_items,
                order_id="#W0000002",
                item_ids=["111"],
                payment_method_id="gift_card_1",
            ),
            [],
        ),
        (
            Action(
                kind=ActionKind.return_items,
                order_id="#W0000002",
                item_ids=["111", "111"],
                payment_method_id="credit_card_1",
            ),
            ["item_not_in_order"],
        ),
        (
            Action(
                kind=ActionKind.exchange_items,
                order_id="#W0000002",
                item_ids=["111"],
                new_item_ids=["113"],
                payment_method_id="credit_card_1",
            ),
            ["item_unavailable"],
        ),
        (
            Action(
                kind=ActionKind.exchange_items,
                order_id="#W0000002",
                item_ids=["111"],
                new_item_ids=["999"],
                payment_method_id="credit_card_1",
            ),
            ["different_product"],
        ),
        (
            Action(
                kind=ActionKind.modify_items,
                order_id="#W0000001",
                item_ids=["111"],
                new_item_ids=["112"],
                payment_method_id="paypal_9",
            ),
            ["unknown_payment_method"],
        ),
        (
            Action(
                kind=ActionKind.modify_items,
                order_id="#W0000001",
                item_ids=["111"],
                new_item_ids=["112"],
            ),
            ["missing_payment_method"],
        ),
        (
            Action(
                kind=ActionKind.modify_payment,
                order_id="#W0000001",
                payment_method_id="gift_card_1",
            ),
            ["same_payment_method", "insufficient_balance"],
        ),
    ],
)
def test_validator_rules(action: Action, expected: list[str]) -> None:
    assert codes([action]) == expected


def test_gift_card_must_cover_a_positive_difference() -> None:
    products = copy.deepcopy(PRODUCTS)
    products["100"]["variants"]["112"]["price"] = 150.0  # +50 > gift card balance 20
    plan = [
        Action(
            kind=ActionKind.exchange_items,
            order_id="#W0000002",
            item_ids=["111"],
            new_item_ids=["112"],
            payment_method_id="gift_card_1",
        )
    ]
    found = validate_plan(plan, user=USER, orders=ORDERS, products=products)
    assert [v.code for v in found] == ["insufficient_balance"]


def test_second_change_to_the_same_order_is_refused() -> None:
    plan = [
        Action(
            kind=ActionKind.modify_items,
            order_id="#W0000001",
            item_ids=["111"],
            new_item_ids=["112"],
            payment_method_id="credit_card_1",
        ),
        Action(kind=ActionKind.cancel_order, order_id="#W0000001", reason="no longer needed"),
    ]
    assert codes(plan) == ["order_already_changed"]


def test_items_named_in_the_message_join_the_exchange_only_when_a_change_is_asked() -> None:
    kettle = {
        "name": "Electric Kettle",
        "product_id": "200",
        "variants": {
            "211": {
                "item_id": "211",
                "options": {"color": "green"},
                "available": True,
                "price": 30.0,
            },
            "212": {
                "item_id": "212",
                "options": {"color": "red"},
                "available": True,
                "price": 32.0,
            },
        },
    }
    products = {**PRODUCTS, "200": kettle}
    order = copy.deepcopy(ORDERS["#W0000002"])
    order["items"].append(
        {
            "name": "Electric Kettle",
            "product_id": "200",
            "item_id": "211",
            "price": 30.0,
            "options": {"color": "green"},
        }
    )
    orders = {"#W0000002": order}
    intake = Intake(
        requests=[
            CustomerRequest(
                kind=RequestKind.exchange_items,
                order_id="#W0000002",
                items=["lamp"],
                wanted="black",
            )
        ]
    )
    both = "Swap my lamp for a black one and the kettle for a red one."
    draft = draft_plan(intake, message=both, user=USER, orders=orders, products=products)
    assert draft.actions[0].item_ids == ["111", "211"]
    assert draft.actions[0].new_item_ids == ["112", "212"]
    only_lamp = "Swap my lamp for a black one; the kettle is fine."
    draft = draft_plan(intake, message=only_lamp, user=USER, orders=orders, products=products)
    assert draft.actions[0].item_ids == ["111"]


def test_unasked_kinds_of_change_are_dropped() -> None:
    message = "I'm Ada Byron, zip 62701. Please return the lamp from #W0000002."
    raw = Intake.model_validate(
        {
            "identity": {"first_name": "Ada", "last_name": "Byron", "zip": "62701"},
            "requests": [
                {"kind": "return_items", "items": ["lamp"]},
                {"kind": "modify_items", "items": ["lamp"]},
            ],
        }
    )
    assert [r.kind for r in merge_patterns(raw, message).requests] == [RequestKind.return_items]


def test_fallback_intake_reads_a_self_introduction() -> None:
    out = fallback_intake("Hi, this is Ada Byron, zip code 62701. Please cancel order #W0000001.")
    assert (out.identity.first_name, out.identity.last_name, out.identity.zip) == (
        "Ada",
        "Byron",
        "62701",
    )
    assert out.requests[0].kind is RequestKind.cancel_order


# -- §3.4 act only on what was asked ----------------------------------------------------------


def test_cancelling_an_order_the_customer_never_named_is_a_violation(make_graph, export) -> None:
    message = (
        "I'm Ada Byron, zip 62701. Please cancel order #W9999999, it is my friend's order "
        "and she no longer needs it."
    )
    intake = {
        "identity": {"first_name": "Ada", "last_name": "Byron", "zip": "62701"},
        "requests": [{"kind": "cancel_order", "order_id": "#W9999999"}],
    }
    own = {
        "actions": [{"kind": "cancel_order", "order_id": "#W0000001", "reason": "no longer needed"}]
    }
    model = ScriptedChatModel(responses=[intake, own, own, own])
    graph = make_graph(model)
    out = graph.invoke({"message": message}, {"configurable": {"thread_id": "t-other"}})

    assert not graph.get_state({"configurable": {"thread_id": "t-other"}}).next  # no approval
    assert out["status"] == "nothing_to_do"
    (dropped,) = out["dropped"]
    assert dropped["action"]["order_id"] == "#W0000001"
    assert "did not ask about order #W0000001" in dropped["reason"] and "§3.4" in dropped["reason"]
    assert export()["orders"]["#W0000001"]["status"] == "pending"


def test_items_the_customer_did_not_describe_are_violations() -> None:
    lamp = {"name": "Desk Lamp", "product_id": "100", "item_id": "111", "price": 1.0}
    kettle = {"name": "Tea Kettle", "product_id": "200", "item_id": "211", "price": 1.0}
    order = {"order_id": "#W0000003", "status": "delivered", "items": [lamp, kettle]}
    other = {"order_id": "#W0000004", "status": "delivered", "items": [dict(lamp)]}
    orders = {"#W0000003": order, "#W0000004": other}
    both = Action(kind=ActionKind.return_items, order_id="#W0000003", item_ids=["111", "211"])

    def found(text: str, action: Action = both) -> list[str]:
        return [v.message for v in _not_asked_only(action, orders, text)]

    assert found("Please return the desk lamp from order #W0000003.") == [
        "the customer did not ask about item 211 (Tea Kettle) of order #W0000003"
    ]
    assert found("Return the lamp and the kettles from #W0000003") == []
    assert found("Return all items of order #W0000003") == []
    # no order id: the items describe it; an order whose items were never mentioned does not
    kettle_only = Action(kind=ActionKind.return_items, order_id="#W0000003", item_ids=["211"])
    assert found("I want to return my tea kettle", kettle_only) == []
    lamp_other = Action(kind=ActionKind.return_items, order_id="#W0000004", item_ids=["111"])
    assert found("I want to return my tea kettle", lamp_other) == [
        "the customer did not ask about order #W0000004 (they named no order and none of its items)"
    ]


def _not_asked_only(action: Action, orders: dict, text: str) -> list:
    user = {"user_id": None, "payment_methods": {}}
    found = validate_plan([action], user=user, orders=orders, products={}, asked=text)
    return [v for v in found if v.code == "not_asked"]


def test_orders_described_by_a_quantifier_or_their_items_are_asked_for() -> None:
    lamp = {"name": "Bookshelf", "product_id": "100", "item_id": "111", "price": 1.0}
    orders = {
        oid: {"order_id": oid, "status": "pending", "items": [dict(lamp)]}
        for oid in ("#W0000005", "#W0000006")
    }
    cancel = Action(kind=ActionKind.cancel_order, order_id="#W0000006", reason="no longer needed")
    assert _not_asked_only(cancel, orders, "Please cancel all my pending orders.") == []
    assert _not_asked_only(cancel, orders, "Change the book shelf, else cancel it") == []
    assert _not_asked_only(cancel, orders, "Cancel order #W0000005.")  # the other one was named


# -- requests that point at records instead of naming them ------------------------------------


def _pending_copy(order_id: str, address1: str) -> dict:
    order = copy.deepcopy(ORDERS["#W0000001"])
    order["order_id"] = order_id
    order["address"] = {**order["address"], "address1": address1}
    return order


def test_cancel_all_pending_orders_cancels_each_once() -> None:
    orders = {**ORDERS, "#W0000003": _pending_copy("#W0000003", "2 Elm St")}
    intake = Intake(requests=[CustomerRequest(kind=RequestKind.cancel_order)])
    message = "Please cancel all my pending orders, I no longer need them."
    draft = draft_plan(intake, message=message, user=USER, orders=orders, products=PRODUCTS)
    assert sorted(a.order_id for a in draft.actions) == ["#W0000001", "#W0000003"]
    # two requests of one kind without ids go to different orders
    two = Intake(requests=[CustomerRequest(kind=RequestKind.cancel_order)] * 2)
    draft = draft_plan(two, message="cancel them", user=USER, orders=orders, products=PRODUCTS)
    assert sorted(a.order_id for a in draft.actions) == ["#W0000001", "#W0000003"]


def test_an_address_pointed_at_is_resolved_from_the_records() -> None:
    orders = {**ORDERS, "#W0000003": _pending_copy("#W0000003", "2 Elm St")}
    req = CustomerRequest(kind=RequestKind.modify_order_address, order_id="#W0000001")
    intake = Intake(requests=[req])

    def address_for(message: str) -> str | None:
        draft = draft_plan(intake, message=message, user=USER, orders=orders, products=PRODUCTS)
        return draft.actions[0].address.address1 if draft.actions else None  # type: ignore[union-attr]

    assert address_for("Ship #W0000001 to the same address as order #W0000003") == "2 Elm St"
    assert address_for("Send #W0000001 to the address of my other order") == "2 Elm St"
    # (#W0000001 goes to the default address already: nothing to change)
    assert address_for("Change #W0000001 to my default address") is None
    assert address_for("Change the address of #W0000001") is None
    elsewhere = {**orders, "#W0000001": _pending_copy("#W0000001", "3 Oak St")}
    draft = draft_plan(
        intake,
        message="Change #W0000001 to my default address",
        user=USER,
        orders=elsewhere,
        products=PRODUCTS,
    )
    assert [a.address.address1 for a in draft.actions] == ["1 Main St"]  # type: ignore[union-attr]


def test_merged_requests_never_repeat_an_item_and_payment_words_count() -> None:
    req = CustomerRequest(kind=RequestKind.return_items, order_id="#W0000002", items=["lamp"])
    intake = Intake(requests=[req, req])
    message = "Return the lamp of #W0000002 and refund it to my gift card."
    draft = draft_plan(intake, message=message, user=USER, orders=ORDERS, products=PRODUCTS)
    (action,) = draft.actions
    assert action.item_ids == ["111"] and action.payment_method_id == "gift_card_1"


def test_the_orders_status_decides_between_exchange_and_modify() -> None:
    asked = CustomerRequest(kind=RequestKind.exchange_items, order_id="#W0000001", wanted="black")
    draft = draft_plan(
        Intake(requests=[asked]),
        message="Change the lamp of #W0000001 to black",
        user=USER,
        orders=ORDERS,
        products=PRODUCTS,
    )
    assert [a.kind for a in draft.actions] == [ActionKind.modify_items]  # #W0000001 is pending
    unnamed = CustomerRequest(kind=RequestKind.modify_items, items=["lamp"], wanted="black")
    only_delivered = {"#W0000002": ORDERS["#W0000002"]}
    draft = draft_plan(
        Intake(requests=[unnamed]),
        message="Change my lamp to black",
        user=USER,
        orders=only_delivered,
        products=PRODUCTS,
    )
    assert [a.kind for a in draft.actions] == [ActionKind.exchange_items]


def test_code_requests_read_one_request_per_clause_and_emails_end_before_the_dot() -> None:
    from waypost.domains.retail.intake import code_requests

    message = (
        "Your email is ada@example.com. Please cancel order #W0000001. "
        "Also return the lamp, and change my default address."
    )
    assert pattern_facts(message)["emails"] == ["ada@example.com"]
    kinds = [(r.kind, r.order_id) for r in code_requests(message)]
    assert kinds == [
        (RequestKind.cancel_order, "#W0000001"),
        (RequestKind.return_items, None),
        (RequestKind.modify_user_address, None),
    ]
