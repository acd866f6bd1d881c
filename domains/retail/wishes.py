"""Described option wishes resolved against the catalogue, in code.

Customers describe the variant they want rather than name it: "a bigger one", "less bright",
"one size smaller", "1000 more pieces", "the maximum zoom", "prefer battery > USB > AC",
"prefer i5 over i7", "item 1421289881". A small model is unreliable at comparing option values;
code is not. This module reads such wishes from the text and scores a product's variants
against the item the customer has:

- comparatives move an option with an order (numbers with units, or known scales such as
  S < M < L, low < medium < high) in a direction, to the nearest value, by a stated amount, or
  to the extreme ("maximum", "fewest");
- preference orders rank the values they list;
- an item id written in the text picks that variant outright.

Which option a comparative is about comes from the words next to it ("less bright" ->
brightness) or, for size words ("bigger", "smaller"), from the item's size-like options; an
item without such an option is not affected, so "a bigger water bottle and a less bright lamp"
changes the bottle's capacity and the lamp's brightness.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Wish",
    "comparative_wishes",
    "named_variant",
    "option_order",
    "preference_bonus",
    "wish_score",
]

_SCALES: tuple[tuple[str, ...], ...] = (
    ("xxs", "xs", "s", "m", "l", "xl", "xxl", "xxxl"),
    ("extra small", "small", "medium", "large", "extra large"),
    ("low", "medium", "high"),
    ("beginner", "intermediate", "expert"),
    ("easy", "medium", "hard"),
    ("light", "medium", "dark"),
    ("compact", "standard", "professional"),
)
_NUMBER = re.compile(r"(\d+(?:\.\d+)?)")
_UP = (
    "bigger|larger|more|higher|brighter|longer|taller|heavier|thicker|faster|stronger|"
    "greater|increase|upgrade to a larger|maximum|max|largest|biggest|highest|most|longest"
)
_DOWN = (
    "smaller|less|lower|shorter|dimmer|thinner|lighter|fewer|weaker|reduce|decrease|"
    "minimum|min|smallest|lowest|least|fewest|shortest|easiest|easier"
)
_EXTREME = {
    "maximum",
    "max",
    "largest",
    "biggest",
    "highest",
    "most",
    "longest",
    "minimum",
    "min",
    "smallest",
    "lowest",
    "least",
    "fewest",
    "shortest",
    "easiest",
}
_COMPARATIVE = re.compile(
    rf"(?:(?P<amount>\d+(?:\.\d+)?|one|two)\s+(?:\w+\s+)?)?\b(?P<word>{_UP}|{_DOWN})\b"
    rf"(?:\s+(?P<after>\w+(?:\s+\w+)?))?",
    re.IGNORECASE,
)
_UP_WORDS = set(_UP.split("|"))
_SIZE_WORDS = {"bigger", "larger", "smaller", "largest", "biggest", "smallest", "size"}
_SIZE_KEYS = ("size", "capacity", "volume", "frame size", "length", "pieces", "storage")
# a word next to a comparative that names an option key (beyond the key's own words)
_KEY_HINTS = {
    "bright": "brightness",
    "brighter": "brightness",
    "dimmer": "brightness",
    "piece": "pieces",
    "pieces": "pieces",
    "zoom": "zoom",
    "bar": "pressure",
    "pressure": "pressure",
    "difficult": "difficulty",
    "difficulty": "difficulty",
    "easier": "difficulty",
    "easiest": "difficulty",
    "frame": "frame size",
    "storage": "storage",
    "battery": "battery life",
    "screen": "screen size",
    "capacity": "capacity",
    "shorter": "length",
    "longer": "length",
    "longest": "length",
    "shortest": "length",
}
_PREFER = re.compile(r"\bprefer(?:s|red|ably)?\b\s+(?P<body>[^.;()\n]+)", re.IGNORECASE)
_PREFER_SPLIT = re.compile(r"\s*(?:>|\bover\b|\brather than\b|\bthan\b|\bthen\b)\s*")


@dataclass(frozen=True)
class Wish:
    """Move option ``key`` up (+1) or down (-1): nearest value, by ``amount``, or extreme."""

    key: str
    direction: int
    extreme: bool = False
    amount: float | None = None


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9.]+", " ", text.lower().replace("-", "")).strip()


def option_order(values: list[str]) -> dict[str, float] | None:
    """A rank for each value when the values have an order: numbers, or a known scale."""
    normed = {v: _norm(v) for v in values}
    for scale in _SCALES:
        if all(n in scale for n in normed.values()):
            return {v: float(scale.index(n)) for v, n in normed.items()}
    numbers = {v: _NUMBER.search(n) for v, n in normed.items()}
    if all(numbers.values()):
        return {v: float(m.group(1)) for v, m in numbers.items() if m}
    return None


def _key_words(key: str) -> set[str]:
    return {w for w in _norm(key).split() if len(w) > 2}


def _amount(raw: str | None) -> float | None:
    if not raw:
        return None
    return {"one": 1.0, "two": 2.0}.get(raw.lower()) or float(raw)


def comparative_wishes(item: dict[str, Any], product: dict[str, Any], text: str) -> list[Wish]:
    """The comparatives in ``text`` that apply to this item's ordered options."""
    keys = list(item.get("options", {}))
    variants = product.get("variants", {}).values()
    ordered = {
        k: order
        for k in keys
        if (order := option_order(sorted({str(v["options"].get(k, "")) for v in variants})))
    }
    if not ordered:
        return []
    wishes: dict[str, Wish] = {}
    for m in _COMPARATIVE.finditer(text):
        word = m.group("word").lower()
        direction = 1 if word in _UP_WORDS else -1
        around = _norm(" ".join([text[max(0, m.start() - 25) : m.start()], m.group(0)]))
        near = set(around.split())
        key = next(
            (k for k in ordered if _key_words(k) & near),
            None,
        ) or next((_KEY_HINTS[w] for w in near if _KEY_HINTS.get(w) in ordered), None)
        if key is None and (word in _SIZE_WORDS or near & _SIZE_WORDS):
            key = next((k for k in ordered if any(s in k.lower() for s in _SIZE_KEYS)), None)
        if key is None or key in wishes:
            continue
        wishes[key] = Wish(key, direction, word in _EXTREME, _amount(m.group("amount")))
    return list(wishes.values())


def wish_score(
    variant: dict[str, Any], item: dict[str, Any], product: dict[str, Any], wishes: list[Wish]
) -> float | None:
    """How well ``variant`` meets the comparatives (None: it goes the wrong way)."""
    score = 0.0
    values = [v["options"] for v in product.get("variants", {}).values()]
    for wish in wishes:
        order = option_order(sorted({str(o.get(wish.key, "")) for o in values})) or {}
        current = order.get(str(item.get("options", {}).get(wish.key)))
        new = order.get(str(variant.get("options", {}).get(wish.key)))
        if current is None or new is None or (new - current) * wish.direction <= 0:
            return None
        step = abs(new - current)
        if wish.extreme:
            score += 3 + step  # the farthest wins
        elif wish.amount is not None:
            # "1000 more pieces" on numbers; "one size smaller" on a scale (one rank)
            score += 3 - 2 * abs(step - wish.amount) / max(step, wish.amount)
        else:
            score += 3 - 0.01 * step  # the nearest in that direction wins
    return score


def _stems(text: str) -> frozenset[str]:
    return frozenset(w[:-1] if len(w) > 3 and w.endswith("s") else w for w in _norm(text).split())


def _matches(value: str, phrase: str) -> bool:
    """'AC adapter' ~ 'AC', 'animals' ~ 'animal', 'art' ~ 'art theme'."""
    v, p = _stems(value), _stems(phrase)
    return bool(v) and bool(p) and (v <= p or p <= v)


def preference_bonus(value: str, text: str) -> float:
    """Rank bonus for a value a preference order lists ("prefer A > B > C": A best); 0 when
    no preference names it."""
    for m in _PREFER.finditer(text):
        ranked = [p for p in _PREFER_SPLIT.split(m.group("body")) if p.strip()]
        for rank, phrase in enumerate(ranked):
            if any(_matches(value, part) for part in re.split(r"\band\b|,", phrase)):
                return (len(ranked) - rank) * 0.5
    return 0.0


def named_variant(
    item: dict[str, Any], product: dict[str, Any], text: str
) -> dict[str, Any] | None:
    """The available variant whose item id the customer wrote (not the item they have)."""
    for vid, v in product.get("variants", {}).items():
        if len(vid) < 6:  # short ids would match counts and sizes ("1000 pieces")
            continue
        if vid != item["item_id"] and v.get("available") and re.search(rf"\b{vid}\b", text):
            return dict(v)
    return None
