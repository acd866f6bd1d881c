"""Reading what a customer asks for: clauses, negations, fallbacks, and their resolution."""

from __future__ import annotations

import copy

from waypost.domains.retail.info import answer_questions
from waypost.domains.retail.intake import annotate_requests, code_requests, merge_patterns
from waypost.domains.retail.reply import compose_reply
from waypost.domains.retail.resolve import draft_plan, pick_variant
from waypost.domains.retail.state import (
    Action,
    ActionKind,
    Address,
    CustomerRequest,
    Intake,
    RequestKind,
)

from tests.graphs.conftest import TINY_DB

USER = TINY_DB["users"]["ada_byron_1815"]
ORDERS = TINY_DB["orders"]
PRODUCTS = TINY_DB["products"]


def kinds(message: str) -> list[tuple[str, bool]]:
    return [(r.kind.value, r.fallback) for r in code_requests(message)]


def test_a_new_verb_after_and_is_a_new_request() -> None:
    message = "Cancel all pending orders (no longer needed) and return the watch I received."
    assert kinds(message) == [("cancel_order", False), ("return_items", False)]


def test_a_negated_request_is_not_a_request() -> None:
    assert kinds("Exchange the skateboard. You do not want to cancel any order.") == [
        ("exchange_items", False)
    ]
    assert kinds("I don't want to return anything, just swap the lamp") == [
        ("exchange_items", False)
    ]


def test_what_to_do_if_a_request_fails_is_a_fallback() -> None:
    assert kinds("Return the laptop. If it cannot be returned, see if it can be cancelled.") == [
        ("return_items", False),
        ("cancel_order", True),
    ]
    assert kinds("Exchange the lamp for a black one; otherwise return it.") == [
        ("exchange_items", False),
        ("return_items", True),
    ]
    # no comma: the condition ends at the verb
    assert kinds("Swap it for the same item, but if it is not available just return it.") == [
        ("exchange_items", False),
        ("return_items", True),
    ]
    # a condition on facts, not on a failure: a first-hand request
    assert kinds("If the lamp costs more than $90, cancel it.") == [("cancel_order", False)]


def test_a_payment_preference_is_not_a_return_and_an_item_is_not_cancelled_alone() -> None:
    assert kinds("Change the lamp to black. You prefer PayPal for any payment or refund.") == [
        ("exchange_items", False)
    ]
    assert kinds("Cancel the garden hose from the pending order.") == [("other", False)]


def test_one_clause_can_ask_for_the_default_and_the_order_addresses() -> None:
    message = "Change my default address and all my order addresses to 1 Elm St."
    assert kinds(message) == [("modify_user_address", False), ("modify_order_address", False)]


def test_a_models_requests_are_annotated_from_the_words() -> None:
    message = "Return the lamp. If it cannot be returned, cancel the order."
    raw = [
        CustomerRequest(kind=RequestKind.return_items),
        CustomerRequest(kind=RequestKind.cancel_order),
    ]
    assert [r.fallback for r in annotate_requests(raw, message)] == [False, True]
    merged = merge_patterns(Intake(requests=raw), message)
    assert [r.fallback for r in merged.requests] == [False, True]
    # each takes the words that ask for it; "the order" of a fallback is that of the request
    # it stands in for
    assert [r.said for r in merged.requests] == [
        "Return the lamp.",
        "Return the lamp. cancel the order.",
    ]


def _plan(requests: list[CustomerRequest], message: str, orders=ORDERS, user=USER, address=None):
    return draft_plan(
        Intake(requests=requests, address=address),
        message=message,
        user=user,
        orders=orders,
        products=PRODUCTS,
    )


def _plan_words(message: str, orders=ORDERS, user=USER, address=None):
    """The plan for the requests the words prove."""
    return _plan(code_requests(message), message, orders, user, address)


def test_a_fallback_stands_in_only_when_the_first_request_comes_to_nothing() -> None:
    only_pending = {"#W0000001": ORDERS["#W0000001"]}
    message = "Return the desk lamp. If it cannot be returned, cancel it."
    requests = code_requests(message)
    # the lamp's order is pending: no return is possible, so the customer's fallback applies
    draft = _plan(requests, message, only_pending)
    assert [(a.kind, a.order_id) for a in draft.actions] == [(ActionKind.cancel_order, "#W0000001")]
    assert draft.notes and not draft.unsure  # told in the reply, nothing left to ask
    # with a delivered lamp the return is done and nothing is cancelled
    draft = _plan(requests, message, {"#W0000002": ORDERS["#W0000002"]})
    assert [a.kind for a in draft.actions] == [ActionKind.return_items]


def _second_delivered(product_name: str, order_id: str) -> dict:
    order = copy.deepcopy(ORDERS["#W0000002"])
    order["order_id"] = order_id
    for item in order["items"]:
        item["name"] = product_name
    return order


def test_items_named_in_different_orders_are_all_acted_on() -> None:
    orders = {**ORDERS, "#W0000004": _second_delivered("Smart Watch", "#W0000004")}
    message = "Return the desk lamp and the smart watch, refund to my gift card."
    draft = _plan(code_requests(message), message, orders)
    assert sorted(a.order_id for a in draft.actions) == ["#W0000002", "#W0000004"]
    # each request keeps to the items its own clause names
    message = "Return the smart watch, and exchange the desk lamp for a black one."
    draft = _plan(code_requests(message), message, orders)
    assert sorted((a.kind, a.order_id) for a in draft.actions) == [
        (ActionKind.exchange_items, "#W0000002"),
        (ActionKind.return_items, "#W0000004"),
    ]


def test_all_of_a_product_takes_every_order_holding_it() -> None:
    second = copy.deepcopy(ORDERS["#W0000001"])
    second["order_id"] = "#W0000003"
    orders = {**ORDERS, "#W0000003": second}
    message = "Change all my pending desk lamps to black."
    draft = _plan(code_requests(message), message, orders)
    assert sorted((a.kind, a.order_id) for a in draft.actions) == [
        (ActionKind.modify_items, "#W0000001"),
        (ActionKind.modify_items, "#W0000003"),
    ]
    draft = _plan(
        code_requests("Change my pending desk lamp to black."),
        "Change my pending desk lamp to black.",
        orders,
    )
    assert len(draft.actions) == 1


def test_an_order_holding_nothing_the_customer_names_is_not_meant() -> None:
    # the only delivered order holds a makeup kit: "exchange the desk lamp" is the pending
    # order's lamp, modified, and the kit is left alone
    orders = {**ORDERS, "#W0000002": _second_delivered("Makeup Kit", "#W0000002")}
    message = "Exchange the desk lamp for a black one."
    draft = _plan(code_requests(message), message, orders)
    assert [(a.kind, a.order_id, a.new_item_ids) for a in draft.actions] == [
        (ActionKind.modify_items, "#W0000001", ["112"])
    ]


def test_each_clause_is_its_own_request_and_only_narrows_what_came_before() -> None:
    orders = {**ORDERS, "#W0000004": _second_delivered("Smart Watch", "#W0000004")}
    # two item changes of one kind in different orders: both are made
    message = "Exchange the desk lamp for a black one, and exchange the smart watch too."
    requests = code_requests(message)
    assert [r.said for r in requests] == [
        "Exchange the desk lamp for a black one",
        "exchange the smart watch too.",
    ]
    # "only" replaces what was asked of that kind before
    message = (
        "Exchange the desk lamp and the smart watch for black ones. "
        "Actually, only exchange the lamp."
    )
    assert [r.said for r in code_requests(message)] == ["Actually, only exchange the lamp."]
    draft = _plan(code_requests(message), message, orders)
    assert [(a.order_id, a.item_ids, a.new_item_ids) for a in draft.actions] == [
        ("#W0000002", ["111"], ["112"])
    ]


def _pending_in(order_id: str, city: str, address1: str) -> dict:
    order = copy.deepcopy(ORDERS["#W0000001"])
    order["order_id"] = order_id
    order["address"] = {**order["address"], "address1": address1, "city": city}
    return order


def test_an_address_named_by_its_city_and_the_default_address_follows_the_orders() -> None:
    orders = {**ORDERS, "#W0000005": _pending_in("#W0000005", "Washington", "9 Capitol St")}
    message = (
        "Change the address of all my pending orders to the Washington DC address of one of my "
        "orders, along with my default address."
    )
    draft = _plan(code_requests(message), message, orders)
    moved = {a.order_id: a.address.address1 for a in draft.actions if a.address is not None}
    # the order already there stays; the other pending order and the default address move
    assert moved == {"#W0000001": "9 Capitol St", None: "9 Capitol St"}
    assert not draft.notes


def test_a_city_holding_two_of_the_customers_addresses_does_not_say_which() -> None:
    here = ORDERS["#W0000001"]["address"]["city"]
    orders = {**ORDERS, "#W0000005": _pending_in("#W0000005", here, "2 Other St")}
    message = f"Change my default address to my new home in {here}."
    draft = _plan(code_requests(message), message, orders)
    assert draft.actions == [] and draft.notes == [
        "a new default address was asked for but not given"
    ]


def test_a_question_about_an_ordered_item_is_answered_with_its_options() -> None:
    message = "I am Ada. What is the status of my order, and the brightness of the desk lamp I got?"
    requests = code_requests(message)
    assert [r.kind for r in requests] == [RequestKind.order_info]
    lines = answer_questions(Intake(requests=requests), ORDERS, PRODUCTS)
    assert "Order #W0000002 is delivered, total $100.00, tracking number 987654321." in lines
    assert "The Desk Lamp in order #W0000002 has color white, brightness medium." in lines


def test_everything_except_a_named_item() -> None:
    order = copy.deepcopy(ORDERS["#W0000002"])
    order["items"].append({**order["items"][0], "name": "Coffee Machine", "item_id": "222"})
    orders = {"#W0000001": ORDERS["#W0000001"], "#W0000002": order}
    message = "Return everything I received except the coffee machine. Refund to my gift card."
    draft = _plan(code_requests(message), message, orders)
    assert [(a.order_id, a.item_ids) for a in draft.actions] == [("#W0000002", ["111"])]
    # the exception in a later sentence still holds for "all"
    message = "You want to return all possible orders. Well, except the coffee machine."
    draft = _plan(code_requests(message), message, orders)
    assert [(a.order_id, a.item_ids) for a in draft.actions] == [("#W0000002", ["111"])]


def test_asking_whether_something_could_be_done_is_not_a_request() -> None:
    message = (
        "Return the desk lamp I received. Also, check whether you are able to return the "
        "smart watch, but you are not sure yet so don't process anything."
    )
    assert kinds(message) == [("return_items", False), ("order_info", False)]
    orders = {**ORDERS, "#W0000004": _second_delivered("Smart Watch", "#W0000004")}
    draft = _plan(code_requests(message), message, orders)
    assert [(a.kind, a.order_id) for a in draft.actions] == [(ActionKind.return_items, "#W0000002")]


def _with_items(order_id: str, status: str, *items: tuple[str, dict, float]) -> dict:
    """An order of desk lamps (item id, options, price) in ``status``."""
    order = copy.deepcopy(ORDERS["#W0000002"])
    order["order_id"], order["status"] = order_id, status
    order["items"] = [
        {"name": "Desk Lamp", "product_id": "100", "item_id": i, "price": p, "options": o}
        for i, o, p in items
    ]
    return order


WHITE = {"color": "white", "brightness": "medium"}
RED = {"color": "red", "brightness": "high"}


def test_a_price_comparison_or_an_own_option_tells_items_of_one_product_apart() -> None:
    order = _with_items("#W0000002", "delivered", ("111", WHITE, 100.0), ("113", RED, 150.0))
    orders = {"#W0000002": order}
    for message, kept in [
        ("Return the more expensive desk lamp, refund to my card.", ["113"]),
        ("Return the cheaper desk lamp.", ["111"]),
        ("Return the red desk lamp.", ["113"]),
        ("Return both desk lamps.", ["111", "113"]),  # nothing tells them apart: both
    ]:
        draft = _plan(code_requests(message), message, orders)
        assert [a.item_ids for a in draft.actions] == [kept], message
    # the first sentence names the item; a later one about wishes does not undo that
    message = "Exchange the red desk lamp for a white one. If none, list every white option."
    draft = _plan(code_requests(message), message, orders)
    assert [a.item_ids for a in draft.actions] == [["113"]]
    # what the customer wants instead ("for a white one") describes no item they hold
    message = "Exchange the red desk lamp for a white one."
    draft = _plan(code_requests(message), message, orders)
    assert [(a.item_ids, a.new_item_ids) for a in draft.actions] == [(["113"], ["111"])]


def test_an_item_told_apart_picks_its_order_among_several() -> None:
    orders = {
        "#W0000002": _with_items("#W0000002", "delivered", ("111", WHITE, 100.0)),
        "#W0000005": _with_items("#W0000005", "delivered", ("113", RED, 150.0)),
    }
    message = "I received a desk lamp and want to return it. It is the red one."
    draft = _plan(code_requests(message), message, orders)
    assert [(a.order_id, a.item_ids) for a in draft.actions] == [("#W0000005", ["113"])]


def test_a_refund_goes_to_the_first_named_method_that_can_take_it() -> None:
    # the lamp was paid by credit card; a refund can go to the original method or a gift
    # card only (policy 7.3); the customer also has PayPal
    user = copy.deepcopy(USER)
    user["payment_methods"]["paypal_1"] = {"source": "paypal", "id": "paypal_1"}

    def refunded_to(message: str) -> list[str | None]:
        draft = _plan_words(message, {"#W0000002": ORDERS["#W0000002"]}, user)
        return [a.payment_method_id for a in draft.actions]

    message = "Return the desk lamp. PayPal is preferred for the refund, otherwise credit card."
    assert refunded_to(message) == ["credit_card_1"]
    # only PayPal named, which cannot take it: nothing is returned, and the reply says why
    assert refunded_to("Return the desk lamp and refund it to PayPal.") == []
    # a gift card can always take a refund; "GC" names it too
    message = "Return the desk lamp, refund to PayPal, and if that is not possible, to GC."
    assert refunded_to(message) == ["gift_card_1"]


def test_an_only_in_a_fallback_does_not_replace_the_first_hand_request() -> None:
    message = (
        "Exchange the desk lamp for a black one and the smart watch for a blue one. "
        "If there is no black desk lamp, only exchange the smart watch."
    )
    requests = code_requests(message)
    assert [(r.kind.value, r.fallback) for r in requests] == [
        ("exchange_items", False),
        ("exchange_items", True),
    ]


def _product(current: dict, *others: dict) -> tuple[dict, dict]:
    variants = {
        str(900 + n): {"item_id": str(900 + n), "options": o, "available": True, "price": 10.0 + n}
        for n, o in enumerate([current, *others])
    }
    item = {"item_id": "900", "product_id": "9", "name": "Gadget", "options": current}
    return item, {"product_id": "9", "name": "Gadget", "variants": variants}


def test_variant_wishes_named_loosely_and_the_same_one_but() -> None:
    item, product = _product(
        {"compatibility": "Apple HomeKit", "color": "black"},
        {"compatibility": "Google Assistant", "color": "black"},
        {"compatibility": "Apple HomeKit", "color": "white"},
    )
    # a distinctive word names the value; what comes after "instead of" is not wanted
    pick = pick_variant(item, product, "one compatible with Google Home instead of Apple HomeKit")
    assert pick is not None and pick["options"]["compatibility"] == "Google Assistant"

    item, product = _product(
        {"switch": "linear", "backlight": "RGB", "size": "full size"},
        {"switch": "clicky", "backlight": "RGB", "size": "80%"},
        {"switch": "clicky", "backlight": "none", "size": "full size"},
    )
    # "the same one but with clicky switches": nothing else may change, and nothing does
    assert pick_variant(item, product, "the same one but with clicky switches") is None
    # ... unless the customer also accepts no backlight
    wanted = "the same one but with clicky switches; if not, go for no backlight"
    pick = pick_variant(item, product, wanted)
    assert pick is not None and pick["options"] == {
        "switch": "clicky",
        "backlight": "none",
        "size": "full size",
    }
    # without "same ... but", the nearest variant is still taken
    pick = pick_variant(item, product, "a clicky one")
    assert pick is not None and pick["options"]["switch"] == "clicky"


def test_a_question_about_the_items_kept_after_a_return_is_answered() -> None:
    order = copy.deepcopy(ORDERS["#W0000002"])
    order["items"] += [
        {**order["items"][0], "name": "Smart Watch", "item_id": "221", "price": 40.5},
        {**order["items"][0], "name": "Tea Kettle", "item_id": "222", "price": 9.25},
    ]
    action = Action(
        kind=ActionKind.return_items,
        order_id="#W0000002",
        item_ids=["111"],
        payment_method_id="credit_card_1",
    )
    state = {
        "status": "completed",
        "orders": {"#W0000002": order},
        "plan": [action.model_dump(mode="json")],
        "executed": [{"action_index": 0, "ok": True, "result": order}],
        "message": "Return the lamp. How much did I pay for the remaining items?",
    }
    assert "You paid $49.75 for the 2 item(s) you keep in order #W0000002." in compose_reply(state)
    # not asked: not said
    state["message"] = "Return the lamp."
    assert "you keep" not in compose_reply(state)


def test_a_price_condition_decides_between_a_request_and_its_alternative() -> None:
    delivered = {"#W0000002": ORDERS["#W0000002"]}  # a white lamp; the black one costs $90
    message = (
        "What is the cheapest desk lamp? If it is less than {amount} bucks, exchange mine for "
        "it. If not, return mine."
    )
    cheap = code_requests(message.format(amount=95))
    assert [(r.kind.value, r.fallback, str(r.condition)) for r in cheap] == [
        ("exchange_items", False, "under $95.00"),
        ("return_items", True, "None"),
    ]
    draft = _plan(cheap, message.format(amount=95), delivered)
    assert [(a.kind, a.new_item_ids) for a in draft.actions] == [
        (ActionKind.exchange_items, ["112"])
    ]
    # the cheapest lamp costs more than the customer's limit: the return stands in, and the
    # reason is told without anything left to ask
    draft = _plan(code_requests(message.format(amount=80)), message.format(amount=80), delivered)
    assert [a.kind for a in draft.actions] == [ActionKind.return_items]
    assert draft.notes == ["the new Desk Lamp costs $90.00, not under $80.00"]
    assert not draft.unsure
    # a number that is not money is no price condition
    (exchange,) = code_requests("If there are more than 2 colors, exchange it.")
    assert exchange.condition is None


def test_a_price_condition_on_a_return_is_the_items_own_price() -> None:
    delivered = {"#W0000002": ORDERS["#W0000002"]}  # the lamp cost $100
    for limit, returned in ((150, True), (50, False)):
        message = f"If the desk lamp cost under ${limit}, return it."
        draft = _plan(code_requests(message), message, delivered)
        assert [a.kind for a in draft.actions] == ([ActionKind.return_items] if returned else [])
    # a model's request takes the condition from the words that ask for it
    raw = [CustomerRequest(kind=RequestKind.return_items, items=["desk lamp"])]
    (annotated,) = annotate_requests(raw, "If the desk lamp cost under $50, return it.")
    assert str(annotated.condition) == "under $50.00"


def test_what_the_customer_says_when_asked_to_confirm_is_their_last_word() -> None:
    withdrawn = (
        "You want to cancel the desk lamp order, but if the agent asks you to confirm, you "
        "regret and want to keep it. You also want to return the watch."
    )
    assert kinds(withdrawn) == [("return_items", False)]
    # "change your mind" asks for no change; what follows replaces the request of its kind
    lamps = {
        "#W0000002": ORDERS["#W0000002"],  # a $100 lamp, paid by credit card
        "#W0000005": _second_delivered("Desk Lamp", "#W0000005"),
    }
    lamps["#W0000005"]["items"][0]["price"] = 120.0
    replaced = (
        "You received two desk lamps and only need one. You want to return the less expensive "
        "one and refund to credit card. But when the agent asks for confirmation, you change "
        "your mind and return the more expensive one and ask for a refund to gift card."
    )
    requests = code_requests(replaced)
    assert kinds(replaced) == [("return_items", False)]
    draft = _plan(requests, replaced, lamps)
    # the dearer lamp, told apart by the request's own words across the two orders, refunded
    # to the method those words name
    assert [(a.kind, a.order_id, a.payment_method_id) for a in draft.actions] == [
        (ActionKind.return_items, "#W0000005", "gift_card_1")
    ]
    # without a change of mind, a confirmation step changes nothing
    assert kinds("Return the lamp. If the agent asks for confirmation, also return the watch.") == [
        ("return_items", False),
        ("return_items", False),
    ]


def _with_second_card() -> dict:
    user = copy.deepcopy(USER)
    user["payment_methods"]["credit_card_2"] = {
        "source": "credit_card",
        "id": "credit_card_2",
        "brand": "mastercard",
        "last_four": "2222",
    }
    return user


def test_a_card_named_by_brand_or_digits() -> None:
    user = _with_second_card()  # the lamp order #W0000002 was paid by credit_card_1 (visa)
    for words, card in (
        ("pay the difference with my mastercard", "credit_card_2"),
        ("pay with the card ending in 2222", "credit_card_2"),
        ("pay with my credit card", "credit_card_1"),  # of two, the one that paid the order
    ):
        message = f"Exchange the desk lamp for a black one, and {words}."
        draft = _plan_words(message, {"#W0000002": ORDERS["#W0000002"]}, user)
        assert [a.payment_method_id for a in draft.actions] == [card], words


def test_a_fallback_that_refers_back_acts_on_the_order_of_its_request() -> None:
    orders = {
        "#W0000001": ORDERS["#W0000001"],  # a pending lamp
        "#W0000003": {**copy.deepcopy(ORDERS["#W0000001"]), "order_id": "#W0000003"},
    }
    orders["#W0000003"]["items"][0]["name"] = "Smart Watch"
    message = (
        "You ordered the smart watch by mistake and want to remove it from your pending order. "
        "If removing one item is not possible, cancel the whole order since you ordered it by "
        "mistake. You also want to change the desk lamp to green. If that is not possible, "
        "cancel the order since you no longer need it."
    )
    assert kinds(message) == [
        ("cancel_order", True),
        ("exchange_items", False),
        ("cancel_order", True),
    ]
    # no green lamp: the fallbacks stand in, each on its own order for its own reason
    draft = _plan_words(message, orders)
    assert sorted((a.kind, a.order_id, a.reason) for a in draft.actions) == [
        (ActionKind.cancel_order, "#W0000001", "no longer needed"),
        (ActionKind.cancel_order, "#W0000003", "ordered by mistake"),
    ]


def test_a_question_about_what_named_items_cost_in_total_is_answered() -> None:
    orders = {
        "#W0000002": _with_items("#W0000002", "delivered", ("111", WHITE, 100.0)),
        "#W0000005": _with_items("#W0000005", "delivered", ("113", RED, 150.5)),
    }
    message = "You also want to know the total price for all the desk lamps you have bought."
    (question,) = code_requests(message)
    assert question.kind is RequestKind.order_info
    lines = answer_questions(Intake(requests=[question]), orders, PRODUCTS)
    assert lines[0] == "The 2 Desk Lamps you bought cost $250.50 in total."


def test_words_that_only_say_which_order_are_not_requests() -> None:
    order = copy.deepcopy(ORDERS["#W0000002"])
    order["items"].append({**order["items"][0], "name": "Smart Watch", "item_id": "222"})
    message = "Return the desk lamp you received with the smart watch."
    draft = _plan(code_requests(message), message, {"#W0000002": order})
    assert [(a.order_id, a.item_ids) for a in draft.actions] == [("#W0000002", ["111"])]
    # "your cancelled order" is an order, not a cancellation
    assert kinds("You want the tracking number of your cancelled order.") == [("order_info", False)]


def test_its_item_is_the_item_of_the_order_before_and_is_changed_last() -> None:
    message = (
        "You want to change your pending order address to 2 Oak St, Springfield, IL 62701, "
        "and change its item color to black."
    )
    new_home = Address(address1="2 Oak St", city="Springfield", state="IL", zip="62701")
    # the lamp is pending in #W0000001 and delivered in #W0000002
    draft = _plan_words(message, address=new_home)
    # the address first: once an order's items are modified nothing else of it can be
    assert [(a.kind, a.order_id, a.new_item_ids) for a in draft.actions] == [
        (ActionKind.modify_order_address, "#W0000001", []),
        (ActionKind.modify_items, "#W0000001", ["112"]),
    ]


def test_an_item_asked_to_be_returned_then_exchanged_is_exchanged() -> None:
    delivered = {"#W0000002": ORDERS["#W0000002"]}
    message = (
        "You want to return the desk lamp you received. Thinking again, you are willing to "
        "exchange the desk lamp for the black one."
    )
    draft = _plan(code_requests(message), message, delivered)
    assert [(a.kind, a.item_ids, a.new_item_ids) for a in draft.actions] == [
        (ActionKind.exchange_items, ["111"], ["112"])
    ]


def test_a_refund_the_policy_cannot_send_where_asked_lets_the_alternative_stand_in() -> None:
    message = (
        "Return the desk lamp and refund to my mastercard. If refund to the mastercard is not "
        "possible, exchange the desk lamp for the black one."
    )
    # the lamp was paid by the visa card, credit_card_1
    draft = _plan_words(message, {"#W0000002": ORDERS["#W0000002"]}, _with_second_card())
    assert [(a.kind, a.new_item_ids) for a in draft.actions] == [
        (ActionKind.exchange_items, ["112"])
    ]
    assert draft.notes == [
        "a refund for order #W0000002 can only go to its original payment method or a gift "
        "card, not credit_card_2"
    ]


def test_everything_on_that_order_is_the_order_of_the_request_before() -> None:
    dearer = _second_delivered("Desk Lamp", "#W0000004")
    dearer["items"][0]["price"] = 150.0
    dearer["items"].append({**dearer["items"][0], "name": "Smart Watch", "item_id": "222"})
    orders = {"#W0000002": ORDERS["#W0000002"], "#W0000004": dearer}
    message = (
        "You received two desk lamps. Return the more expensive one and refund to my "
        "mastercard. If that is not possible, return everything on that order and refund to "
        "my gift card."
    )
    draft = _plan_words(message, orders, _with_second_card())
    assert [(a.order_id, a.item_ids, a.payment_method_id) for a in draft.actions] == [
        ("#W0000004", ["111", "222"], "gift_card_1")
    ]
