"""Described option wishes against a catalogue: comparatives, preference orders, item ids."""

from __future__ import annotations

from typing import Any

import pytest
from waypost.domains.retail.resolve import pick_variant
from waypost.domains.retail.wishes import option_order


def _product(options: dict[str, list[str]], *, skip: set[tuple[str, ...]] = frozenset()) -> Any:
    """Every combination of ``options`` as an available variant (ids 8000000000, ...01...)."""
    combos: list[dict[str, str]] = [{}]
    for key, values in options.items():
        combos = [{**c, key: v} for c in combos for v in values]
    variants = {}
    for i, combo in enumerate(combos):
        vid = str(8_000_000_000 + i)
        variants[vid] = {
            "item_id": vid,
            "options": combo,
            "available": tuple(combo.values()) not in skip,
            "price": 10.0 + i,
        }
    return {"name": "P", "product_id": "1", "variants": variants}


def _item(product: Any, **options: str) -> dict[str, Any]:
    vid = next(k for k, v in product["variants"].items() if v["options"] == options)
    return {"name": "P", "product_id": "1", "item_id": vid, "options": options, "price": 1.0}


LAMP = _product(
    {
        "color": ["black", "silver", "white"],
        "brightness": ["low", "medium", "high"],
        "power source": ["AC adapter", "USB", "battery"],
    }
)
BOTTLE = _product(
    {"capacity": ["500ml", "750ml", "1000ml"], "material": ["glass", "plastic"], "color": ["red"]}
)
SHIRT = _product({"size": ["S", "M", "L", "XL"], "color": ["black", "blue"]})
PUZZLE = _product(
    {
        "pieces": ["500", "1000", "1500", "2000"],
        "theme": ["animals", "art"],
        "difficulty level": ["beginner", "expert"],
    }
)


def test_orders_come_from_numbers_with_units_and_known_scales() -> None:
    assert option_order(["750ml", "1000ml", "500ml"]) == {
        "750ml": 750,
        "1000ml": 1000,
        "500ml": 500,
    }
    assert option_order(["high", "low", "medium"]) == {"high": 2, "low": 0, "medium": 1}
    assert option_order(["plastic", "glass"]) is None


MESSAGE = (
    "I want to exchange the water bottle to a bigger one, and the desk lamp to a less bright "
    "one (prefer battery > USB > AC)."
)


def test_each_item_takes_the_comparative_about_its_own_options() -> None:
    bottle = _item(BOTTLE, capacity="500ml", material="glass", color="red")
    got = pick_variant(bottle, BOTTLE, MESSAGE)
    assert got is not None and got["options"] == {
        "capacity": "750ml",  # the nearest bigger one, other options unchanged
        "material": "glass",
        "color": "red",
    }
    lamp = _item(LAMP, color="white", brightness="high", **{"power source": "USB"})
    got = pick_variant(lamp, LAMP, MESSAGE)
    assert got is not None and got["options"] == {
        "color": "white",
        "brightness": "medium",
        "power source": "battery",  # preferred over USB and AC
    }


@pytest.mark.parametrize(
    ("text", "current", "expected"),
    [
        ("one size smaller would be good", "L", "M"),
        ("a bigger one please", "S", "M"),
        ("the largest size", "S", "XL"),
    ],
)
def test_size_comparatives(text: str, current: str, expected: str) -> None:
    got = pick_variant(_item(SHIRT, size=current, color="blue"), SHIRT, text)
    assert got is not None and got["options"] == {"size": expected, "color": "blue"}


def test_amounts_and_preferences_on_a_puzzle() -> None:
    have = _item(PUZZLE, pieces="500", theme="art", **{"difficulty level": "expert"})
    text = "the same difficulty, but 1000 more pieces, and I prefer animal than art theme"
    got = pick_variant(have, PUZZLE, text)
    assert got is not None and got["options"] == {
        "pieces": "1500",
        "theme": "animals",
        "difficulty level": "expert",
    }


def test_nothing_in_the_asked_direction_means_no_guess() -> None:
    bottle = _item(BOTTLE, capacity="1000ml", material="glass", color="red")
    assert pick_variant(bottle, BOTTLE, "I'd like a bigger water bottle") is None


def test_an_item_id_in_the_text_picks_that_variant() -> None:
    have = _item(SHIRT, size="S", color="blue")
    assert (
        pick_variant(have, SHIRT, "exchange it for item 8000000006 please")["item_id"]
        == "8000000006"
    )  # type: ignore[index]


def test_cheapest_among_the_variants_with_what_was_asked() -> None:
    have = _item(SHIRT, size="S", color="blue")
    got = pick_variant(have, SHIRT, "the cheapest black one")
    assert got is not None and got["options"]["color"] == "black"
    assert got["item_id"] == "8000000000"  # S/black: the cheapest black variant
