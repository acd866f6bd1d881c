"""Deterministic resolution of the customer's requests into a draft plan.

Intake gives requests in the customer's words ("the mechanical keyboard", "clicky switches",
"refund to PayPal"). This module maps them onto records: which order, which order items,
which variant, which payment method. It needs no model; the planner starts from its draft.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from waypost.domains.retail.state import (
    Action,
    ActionKind,
    Address,
    CustomerRequest,
    Intake,
    RequestKind,
)
from waypost.domains.retail.wishes import (
    comparative_wishes,
    named_variant,
    preference_bonus,
    wish_score,
)

__all__ = [
    "ALL_ORDERS",
    "Draft",
    "draft_plan",
    "match_items",
    "named_in",
    "named_items",
    "norm",
    "pick_variant",
]

_KIND_TO_ACTION = {
    RequestKind.cancel_order: ActionKind.cancel_order,
    RequestKind.modify_items: ActionKind.modify_items,
    RequestKind.modify_order_address: ActionKind.modify_order_address,
    RequestKind.modify_payment: ActionKind.modify_payment,
    RequestKind.return_items: ActionKind.return_items,
    RequestKind.exchange_items: ActionKind.exchange_items,
    RequestKind.modify_user_address: ActionKind.modify_user_address,
}
_NEEDS_PENDING = {
    ActionKind.cancel_order,
    ActionKind.modify_items,
    ActionKind.modify_order_address,
    ActionKind.modify_payment,
}
_NEEDS_DELIVERED = {ActionKind.return_items, ActionKind.exchange_items}
_SWAPPABLE = {
    ActionKind.exchange_items: ActionKind.modify_items,
    ActionKind.modify_items: ActionKind.exchange_items,
}
_STOP = {"the", "a", "an", "my", "of", "and", "to", "for", "with", "one", "new", "in", "on", "it"}


def norm(text: str) -> str:
    """Lowercase, hyphens and punctuation folded: 'T-Shirt' and 'tshirt' compare equal; a
    dot stays only inside a number ('1.5 liters')."""
    text = re.sub(r"[.](?![0-9])", " ", text.lower().replace("-", ""))  # "black." is "black"
    return re.sub(r"[^a-z0-9.]+", " ", text).strip()


def _tokens(text: str) -> set[str]:
    out = set()
    for tok in norm(text).split():
        if tok in _STOP:
            continue
        out.add(tok[:-1] if len(tok) > 3 and tok.endswith("s") else tok)
    return out


@dataclass
class Draft:
    actions: list[Action] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # requests that could not be resolved
    # notes of requests the customer's own fallback took over ("if it cannot be returned,
    # cancel it"): told in the reply, but nothing is left to ask the planner about
    settled: list[str] = field(default_factory=list)

    @property
    def unsure(self) -> bool:
        return any(n not in self.settled for n in self.notes)


# first words of product names too generic to name the product on their own
_GENERIC = {
    "smart",
    "wireless",
    "portable",
    "electric",
    "digital",
    "mechanical",
    "office",
    "running",
    "water",
    "action",
    "garden",
    "indoor",
    "outdoor",
    "coffee",
    "makeup",
}


def _forms(word: str) -> set[str]:
    """A noun's singular and plural spellings: 'headphones'/'headphone', 'shelf'/'shelves'."""
    forms = {word, f"{word}s", f"{word}es"}
    if word.endswith("s") and len(word) > 3:
        forms.add(word[:-1])
    if word.endswith("f"):
        forms.add(f"{word[:-1]}ves")
    return forms


def named_in(name: str, message: str) -> bool:
    """The product named in the text: its full name (spaced or not: 'book shelf'), its head
    noun in either number ('Smart Thermostat' -> 'thermostats'), a distinctive first word
    ('Jigsaw Puzzle' -> 'jigsaw'), or a word the head noun ends with ('Wristwatch' -> 'watch')."""
    text = f" {re.sub(r'[.](?![0-9])', ' ', norm(message))} "  # "blanket." is "blanket"
    words = norm(name).split()
    if not words:
        return False
    tokens = set(text.split())
    head = words[-1]
    if f" {' '.join(words)} " in text or "".join(words) in text.replace(" ", ""):
        return True
    if _forms(head) & tokens:
        return True
    if len(words) > 1 and len(words[0]) >= 5 and words[0] not in _GENERIC and words[0] in tokens:
        return True
    return any(len(t) >= 5 and t != head and head.endswith(t) for t in tokens)


def match_items(phrases: list[str], items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Order items whose product name shares a word with one of ``phrases``."""
    out = []
    for item in items:
        name = _tokens(item["name"])
        if any(name & _tokens(p) for p in phrases):
            out.append(item)
    return out


# "instead of Apple HomeKit", "rather than the white one": values the customer does not want
_NOT_WANTED = re.compile(r"\b(?:instead of|rather than|not the)\s+[^,.;]*", re.IGNORECASE)
# "the same one but with ...", "same item except ...": only what is named changes
_SAME_BUT = re.compile(r"\bsame\b(?:\s+\w+){0,3}?\s+(?:but|except)\b", re.IGNORECASE)
_OPTION_WORDS = {"size", "type", "color", "colour", "material", "style", "level", "version"}


def _written(value: Any, text: str) -> bool:
    """``value`` written as a whole in the normalised, space-padded ``text``."""
    v = norm(str(value))
    return bool(v) and f" {v} " in text


def value_said(key: str, value: str, text: str, current: str = "") -> bool:
    """Whether the (normalised, space-padded) ``text`` asks for ``value`` of option ``key``:
    the value itself; a distinctive word of a longer value that the current value lacks
    ("Google Home" for "Google Assistant"); "no backlight" / "without a backlight" for the
    value "none"."""
    v = norm(value)
    if not v:
        return False
    if _written(v, text):
        return True
    if v in {"none", "no"}:
        k = norm(key)
        return bool(re.search(rf" (?:no|without(?: an?)?) {re.escape(k)}s? ", text))
    words = v.split()
    if len(words) < 2:
        return False
    had = set(norm(current).split())
    return any(
        len(w) >= 5 and w.isalpha() and w not in _OPTION_WORDS and w not in had and f" {w} " in text
        for w in words
    )


def pick_variant(
    item: dict[str, Any], product: dict[str, Any], wanted: str | None
) -> dict[str, Any] | None:
    """The available variant that best fits ``wanted``: an item id written in it, else
    described wishes (comparatives, preference orders, ``wishes.py``) and mentioned values
    win, and options the customer did not mention stay as they are."""
    variants: list[dict[str, Any]] = [
        v
        for v in product.get("variants", {}).values()
        if v.get("available") and v["item_id"] != item["item_id"]
    ]
    if not variants:
        return None
    text = wanted or ""
    named = named_variant(item, product, text)
    if named is not None:
        return named
    wanted_n = f" {norm(_NOT_WANTED.sub(' ', text))} "
    current = item.get("options", {})

    def said(key: str, value: Any) -> bool:
        return value_said(key, str(value), wanted_n, str(current.get(key, "")))

    def mentioned(v: dict[str, Any]) -> int:
        return sum(said(k, val) for k, val in v.get("options", {}).items())

    for words, pick in (
        (("cheapest", "lowest price", "least expensive"), min),
        (("most expensive", "priciest", "highest price"), max),
    ):
        if any(f" {w} " in wanted_n for w in words):
            # among the variants with the most values the customer asked for
            most = max(mentioned(v) for v in variants)
            pool = [v for v in variants if mentioned(v) == most]
            return dict(pick(pool, key=lambda v: float(v["price"])))

    wishes = comparative_wishes(item, product, text)

    def fits(v: dict[str, Any]) -> float | None:
        return wish_score(v, item, product, wishes) if wishes else 0.0

    def score(v: dict[str, Any]) -> tuple[float, float]:
        s = fits(v) or 0.0
        wished = {w.key for w in wishes}
        for key, value in v.get("options", {}).items():
            if key in wished:
                continue
            preferred = preference_bonus(str(value), text)
            if preferred:
                s += 1 + preferred
                continue
            is_mentioned = said(key, value)
            same = str(current.get(key)) == str(value)
            if is_mentioned and not same:
                s += 3
            elif is_mentioned:
                s += 1
            elif same:
                s += 0.5
            else:
                s -= 1
        return (s, -float(v["price"]))

    def changes(v: dict[str, Any]) -> list[tuple[str, bool]]:
        """(option, asked for) of every option ``v`` changes."""
        return [
            (key, said(key, value) or bool(preference_bonus(str(value), text)))
            for key, value in v.get("options", {}).items()
            if str(current.get(key)) != str(value)
        ]

    if wishes:
        variants = [v for v in variants if fits(v) is not None]
        if not variants:
            return None  # nothing available goes the way the customer asked
    elif text and not any(asked for v in variants for _, asked in changes(v)):
        return None  # nothing available has what the customer asked for: do not guess
    elif _SAME_BUT.search(text):
        # "the same one but with clicky switches": nothing else may change
        variants = [v for v in variants if all(asked for _, asked in changes(v))]
        if not variants:
            return None
    best: dict[str, Any] = max(variants, key=score)
    return best


_BRANDS = r"visa|master ?card|amex|discover"
_PAYMENT_SOURCES = (
    ("gift_card", re.compile(r"gift|\bgc\b")),
    ("paypal", re.compile(r"pay ?pal")),
    ("credit_card", re.compile(rf"credit|card|\b(?:{_BRANDS})\b")),
)
_PAYMENT_WORDS = re.compile(
    rf"gift ?card|pay ?pal|credit ?card|\bGC\b|\b(?:{_BRANDS})\b(?: card)?"
    r"|\bcard ending (?:in )?\d{4}\b",
    re.IGNORECASE,
)


def _methods_of(user: dict[str, Any], source: str) -> list[str]:
    """The customer's payment method ids of one source (gift_card, paypal, credit_card)."""
    return [
        str(pm_id)
        for pm_id, pm in user.get("payment_methods", {}).items()
        if pm.get("source") == source
    ]


def _original_method(order: dict[str, Any] | None) -> str | None:
    history = (order or {}).get("payment_history", [])
    return str(history[0]["payment_method_id"]) if history else None


def _named_method(
    text: str | None, user: dict[str, Any], order: dict[str, Any] | None
) -> str | None:
    """The customer's payment method of the kind ``text`` names; of several of that kind (two
    credit cards), the one that paid the order."""
    t = norm(text or "")
    original = _original_method(order)
    for source, words in _PAYMENT_SOURCES:
        if words.search(t):
            of_kind = _methods_of(user, source)
            if len(of_kind) > 1 and source == "credit_card":
                return _which_card(t, user, of_kind, original)
            if of_kind:
                return original if original in of_kind else of_kind[0]
    return None


def _which_card(text: str, user: dict[str, Any], cards: list[str], original: str | None) -> str:
    """Of several credit cards, the one ``text`` names by its last four digits or its brand
    ("the visa card"), else the one that paid the order ("the other card" says nothing: other
    than the one an agent offered, which the words cannot know)."""
    methods = user.get("payment_methods", {})
    squeezed = text.replace(" ", "")
    by_digits = [c for c in cards if str(methods[c].get("last_four") or "-") in text]
    by_brand = [
        c for c in cards if norm(str(methods[c].get("brand") or "-")).replace(" ", "") in squeezed
    ]
    for named in (by_digits, by_brand):
        if len(named) == 1:
            return named[0]
    return original if original in cards else cards[0]


def _payment_method(
    text: str | None, user: dict[str, Any], order: dict[str, Any] | None
) -> str | None:
    return _named_method(text, user, order) or _original_method(order)


def _methods_named(
    req: CustomerRequest, texts: tuple[str, ...], user: dict[str, Any], order: dict[str, Any] | None
) -> list[str]:
    """The customer's payment methods the request's preference, then ``texts``, name, in order."""
    names = [req.payment] if req.payment else []
    for text in texts:
        names += [m.group(0) for m in _PAYMENT_WORDS.finditer(text)]
    return [m for m in (_named_method(n, user, order) for n in names) if m]


def _refundable(user: dict[str, Any], order: dict[str, Any] | None) -> set[str | None]:
    """Where a refund can go (policy §7.3): the order's original method or a gift card."""
    return {_original_method(order), *_methods_of(user, "gift_card")}


def _refund_method(
    req: CustomerRequest, message: str, user: dict[str, Any], order: dict[str, Any] | None
) -> str | None:
    """Where a return's refund goes: of the methods the customer names ("PayPal is preferred,
    but otherwise credit card is fine"), the first that can take it, those the request's own
    words name before the rest of the message; else the first named (the validator refuses it
    and the reply says why); with none named, the original."""
    methods = _methods_named(req, (req.said or "", message), user, order)
    if not methods:
        return _original_method(order)
    allowed = _refundable(user, order)
    return next((m for m in methods if m in allowed), methods[0])


def _refused_refund(
    req: CustomerRequest, user: dict[str, Any], order: dict[str, Any]
) -> str | None:
    """Why a return cannot be done as asked: the request's own words ask for the refund on
    methods none of which can take it. The request then comes to nothing, and the customer's
    alternative ("if refund to credit card is not possible, return everything and refund to
    GC") stands in."""
    methods = _methods_named(req, (req.said or "",), user, order)
    if not methods or any(m in _refundable(user, order) for m in methods):
        return None
    return (
        f"a refund for order {order['order_id']} can only go to its original payment method "
        f"or a gift card, not {methods[0]}"
    )


def _payment_words(message: str) -> str | None:
    """A payment method the message names ("use my gift card", "refund to PayPal")."""
    m = _PAYMENT_WORDS.search(message)
    return m.group(0) if m else None


def _cancel_reason(req: CustomerRequest, message: str) -> str:
    """The request's own words first ("cancel it since you no longer need it"), then the
    message's."""
    for text in (f"{req.reason or ''} {req.said or ''}", message):
        t = norm(text)
        if "mistake" in t:
            return "ordered by mistake"
        if "no longer need" in t:
            return "no longer needed"
    return "no longer needed"


def _status_for(kind: ActionKind) -> str:
    return "pending" if kind in _NEEDS_PENDING else "delivered"


def _candidate_orders(
    kind: ActionKind, req: CustomerRequest, orders: dict[str, dict[str, Any]], message: str = ""
) -> list[dict[str, Any]]:
    if req.order_id:  # a named order that is not the customer's is not replaced by another
        return [orders[req.order_id]] if req.order_id in orders else []
    wanted_status = _status_for(kind)
    pool = [o for o in orders.values() if o.get("status") == wanted_status]
    if req.items:
        pool = [o for o in pool if match_items(req.items, o.get("items", []))]
    elif message and kind is not ActionKind.modify_order_address:
        # (an address change describes its order by the address, not by items)
        # no items extracted: the orders whose items the request's words (else the message)
        # name describe the request; an order holding none of the products named among the
        # customer's orders is not meant
        for words in (req.said, message):
            if not words:
                continue
            described = [o for o in pool if _described_items(o.get("items", []), words)]
            if described:
                return described
            if any(_described_items(o.get("items", []), words) for o in orders.values()):
                return []
            if words is req.said and _ORDER_BY_STATUS.search(words):
                return pool  # "change its item to red" after "your pending order's address"
    return pool


# the request names its order by status, not by items: "your pending order", "its item"
_ORDER_BY_STATUS = re.compile(
    r"\b(?:pending|delivered|received|processed)\s+orders?\b|\bits\s+items?\b", re.I
)


def _all_of_product(words: str, candidates: list[dict[str, Any]]) -> bool:
    """ "modify all my pending t-shirts", "both laptops": "all" (or a number) and, within
    four words, the plural of a product the candidate orders hold."""
    tokens = norm(words).split()
    heads = {
        norm(it["name"]).split()[-1]
        for o in candidates
        for it in o.get("items", [])
        if norm(it["name"])
    }
    plurals = {f for h in heads for f in _forms(h) if f != h}
    return any(
        w in _ALL_WORDS and plurals.intersection(tokens[i + 1 : i + 5])
        for i, w in enumerate(tokens)
    )


_ALL_WORDS = {"all", "both", "two", "three", "four", "every", "each"}


def _cover(
    req: CustomerRequest, candidates: list[dict[str, Any]], message: str
) -> list[dict[str, Any]]:
    """The fewest candidate orders holding every product the request names: "return the two
    skateboards, and the smart watch" spans two orders when no one order holds all three."""
    words = req.said or message

    def described(text: str, own: str | None = None) -> set[int]:
        # told apart across the orders: "the 15-inch laptop" is in one of them; the request's
        # own words first ("you received two tablets ... return the more expensive one")
        items = [i for o in candidates for i in o.get("items", [])]
        found = match_items(req.items, items) if req.items else _described_items(items, text)
        for apart in (own, text):
            kept = distinguish(found, apart) if apart else found
            if len(kept) < len(found):
                return {id(i) for i in kept}
        return {id(i) for i in found}

    meant = described(words)

    def named(order: dict[str, Any]) -> set[str]:
        return {i["name"] for i in order.get("items", []) if id(i) in meant}

    left = set().union(*(named(o) for o in candidates))
    if not left and words != message:  # "just cancel the whole order": the message names them
        meant = described(message, own=words)
        words = message
        left = set().union(*(named(o) for o in candidates))
    out = []
    for order in sorted(candidates, key=lambda o: -len(named(o))):
        if named(order) & left:
            out.append(order)
            left -= named(order)
    return out


# "the backpack you received with the vacuum cleaner": the vacuum cleaner says which order
_ALONG_WITH = re.compile(
    r"\b(?:received|bought|ordered|got|came|delivered)\s+(?:together\s+|along\s+)?with\s+"
    r"(?:the|my|a|an|your)\s+[^,.;]*",
    re.I,
)


def _described_items(items: list[dict[str, Any]], message: str) -> list[dict[str, Any]]:
    """Items the message names by product name (or head noun) or by item id, not counting
    those it names as exceptions ("everything except the coffee machine") or only to say which
    order ("the backpack you received with the vacuum cleaner"); of several of one product,
    those it tells apart (``distinguish``)."""
    excepted = _excepted_items(items, message)
    named = named_items(items, message)
    if _ALONG_WITH.search(message):
        named = named_items(items, _ALONG_WITH.sub(" ", message)) or named
    return distinguish([i for i in named if i not in excepted], message)


# "change X to/for/into Y": what follows the preposition is the wish, not the item's description
_WISH = re.compile(
    r"(\b(?:exchang|modif|chang|switch|swap|upgrad|downgrad|replac)\w*\b[^.;]*?)"
    r"\s(?:to|for|into)\s[^.;]*",
    re.IGNORECASE,
)
_DEARER = re.compile(
    r"\b(?:more|most) (?:expensive|costly|pricey)\b|\bpricier\b|\bpriciest\b|\bdearer\b",
    re.I,
)
_CHEAPER = re.compile(
    r"\b(?:less|least) (?:expensive|costly|pricey)\b|\bcheaper\b|\bcheapest\b", re.I
)


def distinguish(items: list[dict[str, Any]], words: str) -> list[dict[str, Any]]:
    """Of several items of one product, the ones the words tell apart from the others: by a
    price comparison ("return the more expensive one") or by option values only they have
    ("the 17-inch laptop", "the robotic one"). What the customer wants instead ("... to the
    13-inch version") describes no item and is left out. The first sentence is read first (it
    names the item; what follows tends to list wishes), then all the words. Without such words
    all stay: "both" and "the two skateboards" are decided elsewhere."""
    first = _SENTENCE_END.split(words.strip(" ,"), maxsplit=1)[0]
    for text in dict.fromkeys((first, words)):
        dropped = _told_apart(items, text)
        if dropped:
            return [i for i in items if id(i) not in dropped]
    return items


_SENTENCE_END = re.compile(r"(?<=[.;!?])\s")


def _told_apart(items: list[dict[str, Any]], words: str) -> set[int]:
    """ids of the items ``words`` tell apart as not meant (see ``distinguish``)."""
    description = _WISH.sub(r"\1", words)
    text = f" {norm(description)} "
    by_product: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        by_product.setdefault(item["product_id"], []).append(item)
    dearer, cheaper = bool(_DEARER.search(description)), bool(_CHEAPER.search(description))
    dropped: set[int] = set()
    for group in by_product.values():
        if len(group) < 2:
            continue
        if dearer != cheaper:  # one price comparison: keep the dearest (or cheapest)
            prices = [float(i.get("price", 0)) for i in group]
            keep = max(prices) if dearer else min(prices)
            dropped |= {id(i) for i, p in zip(group, prices, strict=True) if p != keep}
            continue
        hits = [sum(_written(v, text) for v in i.get("options", {}).values()) for i in group]
        if max(hits) > min(hits):
            dropped |= {id(i) for i, h in zip(group, hits, strict=True) if h < max(hits)}
    return dropped


def named_items(items: list[dict[str, Any]], words: str) -> list[dict[str, Any]]:
    """Items ``words`` name by product name (or head noun) or by item id."""
    return [i for i in items if i["item_id"] in words or named_in(i["name"], words)]


def _excepted_items(items: list[dict[str, Any]], words: str) -> list[dict[str, Any]]:
    """Items named after "except", "other than", "apart from", up to the sentence's end."""
    parts = _EXCEPT.split(words, maxsplit=1)
    return named_items(items, _EXCEPT_END.split(parts[-1])[0]) if len(parts) > 1 else []


_EXCEPT = re.compile(r"\b(?:except(?: for)?|other than|apart from|but not)\b", re.I)
_EXCEPT_END = re.compile(r"[.;!?]")


# "cancel all my pending orders", "return all things ordered", "everything"
ALL_ORDERS = re.compile(
    r"\b(?:all|every|each)\b(?:\s+\w+){0,3}?\s+(?:orders?|things|items|purchases)\b"
    r"|\beverything\b",
    re.IGNORECASE,
)
# "to my default address", "back to the address on file" (not "... along with my default
# address", which changes it)
_DEFAULT_ADDRESS = re.compile(
    r"\b(?:to|as|is)\s+(?:\w+\s+){0,2}(?:default|profile|user|home|account)\s+(?:\w+\s+)?address\b"
    r"|address on file",
    re.IGNORECASE,
)


def _referenced_address(
    message: str, user: dict[str, Any], orders: dict[str, dict[str, Any]], target: str | None
) -> Address | None:
    """An address the customer points at instead of writing it: another order's ("same as
    order #W..."; "the address of my other order"), or their default one."""
    others = [o for o in re.findall(r"#W\d{7}", message) if o != target and o in orders]
    if others and orders[others[0]].get("address"):
        return Address.model_validate(orders[others[0]]["address"])
    if re.search(r"\bother orders?\b", message, re.IGNORECASE) and target in orders:
        mine = orders[target].get("address")
        for o in orders.values():
            if o["order_id"] != target and o.get("address") and o["address"] != mine:
                return Address.model_validate(o["address"])
    if target is not None and _DEFAULT_ADDRESS.search(message) and user.get("address"):
        return Address.model_validate(user["address"])
    return _named_place(message, user, orders, target)


def _address_for(
    req: CustomerRequest,
    message: str,
    user: dict[str, Any],
    orders: dict[str, dict[str, Any]],
    target: str | None,
) -> Address | None:
    """The address a request points at: in its own words first, else in the message."""
    found = _referenced_address(req.said, user, orders, target) if req.said else None
    return found or _referenced_address(message, user, orders, target)


# what customers call a city (a state name is matched as written)
_CITY_NAMES = {
    "nyc": "new york",
    "la": "los angeles",
    "sf": "san francisco",
    "philly": "philadelphia",
}


def _named_place(
    message: str, user: dict[str, Any], orders: dict[str, dict[str, Any]], target: str | None
) -> Address | None:
    """The address among the customer's whose city the customer names ("to the Washington DC
    address in one of my orders", "my NYC address"), when that city says which address."""
    words = f" {norm(message)} "
    for short, city in _CITY_NAMES.items():
        words = words.replace(f" {short} ", f" {city} ")
    current = orders[target].get("address") if target in orders else user.get("address")
    known = [o.get("address") for o in orders.values()] + [user.get("address")]
    named: list[dict[str, Any]] = []
    for address in known:
        if address and address not in named and f" {norm(str(address.get('city', '')))} " in words:
            named.append(address)
    # one address in a named city other than where the target already goes (a city with two of
    # the customer's addresses does not say which)
    others = [a for a in named if a != current]
    if not others and named:  # the target is there already
        return Address.model_validate(named[0])
    if len(others) != 1 or (current and others[0].get("city") == current.get("city")):
        return None
    return Address.model_validate(others[0])


def draft_plan(
    intake: Intake,
    *,
    message: str,
    user: dict[str, Any],
    orders: dict[str, dict[str, Any]],
    products: dict[str, dict[str, Any]],
) -> Draft:
    """Map each request onto records; merges item changes per order (policy §4.2).

    Requests of one kind that name no order go to different orders where the candidates
    allow ("cancel the boots ... also cancel the kettle"); "all ... orders" takes every
    candidate order."""
    run = _Resolution(intake, message, user, orders, products)
    firsthand = [r for r in intake.requests if not r.fallback]
    fallbacks = [r for r in intake.requests if r.fallback]
    failed_notes: list[str] = []
    any_failed = False
    for req in firsthand:
        noted = len(run.draft.notes)
        if not run.resolve(req) and req.kind in _KIND_TO_ACTION:
            any_failed = True
            failed_notes += run.draft.notes[noted:]
    _same_new_address(run.draft)
    # the customer's fallbacks ("if it cannot be returned, cancel it") stand in when a
    # first-hand request came to nothing, or when the message asks for nothing else
    wanted = any_failed or not any(r.kind in _KIND_TO_ACTION for r in firsthand)
    if fallbacks and wanted and any([run.resolve(req) for req in fallbacks]):  # all resolved
        run.draft.settled += failed_notes
    _item_changes_last(run.draft)
    return run.draft


# "return everything on that order": the order the request before was about
_THAT_ORDER_WORDS = r"(?:on|in|from|of)\s+(?:that|the same)\s+order\b"
_ON_THAT_ORDER = re.compile(rf"\b{_THAT_ORDER_WORDS}", re.I)
# "everything on that order", "all the items in the same order": every item of that order
_EVERYTHING = re.compile(
    rf"\b(?:everything|all (?:the |of the )?items)\s+{_THAT_ORDER_WORDS}", re.I
)


def _that_order(req: CustomerRequest, run: _Resolution) -> list[str]:
    """The orders "that order" in the request's words means: those the request before it was
    mapped onto."""
    if not (req.said and _ON_THAT_ORDER.search(req.said)):
        return []
    requests = run.intake.requests
    at = next((i for i, r in enumerate(requests) if r is req), 0)
    return run.targets.get(id(requests[at - 1]), []) if at else []


def _item_changes_last(draft: Draft) -> None:
    """A pending order's items are modified after its address or payment changes: once its
    items are modified, nothing else of the order can be (policy §6.3)."""
    others = {
        a.order_id
        for a in draft.actions
        if a.kind in (ActionKind.modify_order_address, ActionKind.modify_payment)
    }
    last = [a for a in draft.actions if a.kind is ActionKind.modify_items and a.order_id in others]
    draft.actions = [a for a in draft.actions if all(a is not x for x in last)] + last


_NO_DEFAULT_ADDRESS = "a new default address was asked for but not given"


def _same_new_address(draft: Draft) -> None:
    """ "Change my order addresses, and my default address too": a default address asked for
    without one takes the new address the order changes resolved, when they agree on one."""
    if _NO_DEFAULT_ADDRESS not in draft.notes:
        return
    news = {
        a.address.model_dump_json()
        for a in draft.actions
        if a.kind is ActionKind.modify_order_address and a.address is not None
    }
    if len(news) == 1:
        (only,) = news
        draft.actions.append(
            Action(kind=ActionKind.modify_user_address, address=Address.model_validate_json(only))
        )
        draft.notes.remove(_NO_DEFAULT_ADDRESS)


_PENDING_WORDS = re.compile(r"\bpending\b|\bjust (?:placed|ordered)\b", re.I)
_DELIVERED_WORDS = re.compile(r"\b(?:received|delivered)\b", re.I)


@dataclass
class _Resolution:
    """One draft in the making: the records, and the actions so far (one per order and kind
    for item changes, which later requests merge into)."""

    intake: Intake
    message: str
    user: dict[str, Any]
    orders: dict[str, dict[str, Any]]
    products: dict[str, dict[str, Any]]
    draft: Draft = field(default_factory=Draft)
    merged: dict[tuple[ActionKind, str], Action] = field(default_factory=dict)
    used: set[tuple[ActionKind, str]] = field(default_factory=set)
    # the orders each request (by id) was mapped onto, acted on or not: "that order" of the
    # request after it
    targets: dict[int, list[str]] = field(default_factory=dict)

    def resolve(self, req: CustomerRequest) -> bool:
        """Map one request onto records; True when it added or merged an action."""
        size = (len(self.draft.actions), sum(len(a.item_ids) for a in self.merged.values()))
        _resolve(req, self)
        return size != (len(self.draft.actions), sum(len(a.item_ids) for a in self.merged.values()))


def _resolve(req: CustomerRequest, run: _Resolution) -> None:
    """Map one request onto records, adding to ``run.draft`` (and ``run.merged``, per order)."""
    intake, message, user, orders = run.intake, run.message, run.user, run.orders
    products, draft, merged, used = run.products, run.draft, run.merged, run.used
    if req.kind is RequestKind.human_agent or req.kind is RequestKind.other:
        draft.actions.append(Action(kind=ActionKind.transfer, summary=req.reason or message[:300]))
        return
    kind = _KIND_TO_ACTION.get(req.kind)
    if kind is None:
        return  # information requests are answered in the reply
    if kind is ActionKind.modify_user_address:
        address = intake.address or _address_for(req, message, user, orders, None)
        if address is None:
            draft.notes.append(_NO_DEFAULT_ADDRESS)
        else:
            draft.actions.append(Action(kind=kind, address=address))
        return
    if kind in _SWAPPABLE and req.said:  # "my pending t-shirts", "the lamp I received"
        if _PENDING_WORDS.search(req.said):
            kind = ActionKind.modify_items
        elif _DELIVERED_WORDS.search(req.said):
            kind = ActionKind.exchange_items
    candidates = _candidate_orders(kind, req, orders, message)
    pinned = _that_order(req, run)
    if pinned:
        candidates = [o for o in candidates if o["order_id"] in pinned] or candidates
    if (
        kind in _SWAPPABLE
        and candidates
        and all(o.get("status") == _status_for(_SWAPPABLE[kind]) for o in candidates)
    ):
        kind = _SWAPPABLE[kind]  # the named order's status decides
    if not candidates and kind in _SWAPPABLE:
        # "exchange"/"change" say nothing of the order's status: a pending order's items
        # are modified, a delivered order's exchanged
        other = _SWAPPABLE[kind]
        swapped = _candidate_orders(other, req, orders, message)
        if swapped:
            kind, candidates = other, swapped
    if not candidates:
        draft.notes.append(
            f"no suitable order found for {req.kind.value}"
            + (f" of {', '.join(req.items)}" if req.items else "")
        )
        return
    every = (
        req.order_id is None
        and kind
        in (
            ActionKind.cancel_order,
            ActionKind.return_items,
            ActionKind.modify_order_address,  # "correct all order addresses"
        )
        and bool(ALL_ORDERS.search(req.said or message))
    ) or (req.order_id is None and _all_of_product(req.said or message, candidates))
    if req.all_items or len(candidates) == 1 or every:
        targets = candidates
    else:
        fresh = [o for o in candidates if (kind, o["order_id"]) not in used]
        # a request with its own words goes where they name items; one without goes to an
        # order no request of its kind took yet
        # (not an address change: it names its order by the address, not by items)
        pool = candidates if req.said and kind is not ActionKind.modify_order_address else fresh
        targets = _cover(req, pool, message) if req.order_id is None and pool else []
        targets = targets or (fresh or candidates)[:1]
    run.targets[id(req)] = [o["order_id"] for o in targets]
    for order in targets:
        used.add((kind, order["order_id"]))
        if kind is ActionKind.modify_order_address:
            if any(a.kind is kind and a.order_id == order["order_id"] for a in draft.actions):
                continue  # one new address per order
            address = intake.address or _address_for(req, message, user, orders, order["order_id"])
            if address is not None and address.model_dump() == order.get("address"):
                continue  # the order goes there already
            if address is None:
                draft.notes.append(f"no new address given for order {order['order_id']}")
            else:
                draft.actions.append(Action(kind=kind, order_id=order["order_id"], address=address))
            continue
        if kind is ActionKind.cancel_order and any(
            a.kind is kind and a.order_id == order["order_id"] for a in draft.actions
        ):
            continue  # one cancellation per order
        action = _action_for(kind, req, order, user, products, message, draft)
        if action is None:
            continue
        _later_words_win(action, req, order, run)
        key = (kind, order["order_id"])
        if (
            kind in (ActionKind.modify_items, ActionKind.exchange_items, ActionKind.return_items)
            and key in merged
        ):
            _merge_items(merged[key], action, order)
            continue
        merged[key] = action
        draft.actions.append(action)


def _later_words_win(
    action: Action, req: CustomerRequest, order: dict[str, Any], run: _Resolution
) -> None:
    """An item the customer first asked to return and then, naming it again, to exchange (or
    the other way round: "return the e-reader ... get the 32GB E-Reader instead") is exchanged
    (returned): the later request takes it out of the earlier one, which goes when nothing is
    left of it."""
    other = {
        ActionKind.return_items: ActionKind.exchange_items,
        ActionKind.exchange_items: ActionKind.return_items,
    }.get(action.kind)
    if other is None:
        return
    key = (other, action.order_id or "")
    earlier = run.merged.get(key)
    if earlier is None:
        return
    named = {i["item_id"] for i in named_items(order.get("items", []), req.said or "")}
    for item_id in action.item_ids:
        if item_id in named and item_id in earlier.item_ids:
            at = earlier.item_ids.index(item_id)
            del earlier.item_ids[at]
            if earlier.new_item_ids:
                del earlier.new_item_ids[at]
    if not earlier.item_ids:
        run.draft.actions = [a for a in run.draft.actions if a is not earlier]
        del run.merged[key]


def _merge_items(prev: Action, action: Action, order: dict[str, Any]) -> None:
    """Add ``action``'s items to ``prev`` (one action per order), never more of an item than
    the order holds."""
    held = Counter(it["item_id"] for it in order.get("items", []))
    news: list[str | None] = list(action.new_item_ids) or [None] * len(action.item_ids)
    pairs = zip(action.item_ids, news, strict=True)
    for old, new in pairs:
        if prev.item_ids.count(old) >= held[old]:
            continue
        prev.item_ids.append(old)
        if new is not None:
            prev.new_item_ids.append(new)


def _price_holds(req: CustomerRequest, what: str, price: float, draft: Draft) -> bool:
    """Whether the price a request depends on meets the customer's condition ("if it is less
    than $200, exchange it"). When it does not, the request comes to nothing by the customer's
    own choice: told in the reply (a fallback such as "if not, return it" stands in), and
    nothing is left to ask about."""
    if req.condition is None or req.condition.holds(price):
        return True
    note = f"the {what} costs ${price:,.2f}, not {req.condition}"
    draft.notes.append(note)
    draft.settled.append(note)
    return False


def _action_for(
    kind: ActionKind,
    req: CustomerRequest,
    order: dict[str, Any],
    user: dict[str, Any],
    products: dict[str, dict[str, Any]],
    message: str,
    draft: Draft,
) -> Action | None:
    order_id = order["order_id"]
    if kind is ActionKind.cancel_order:
        total = sum(float(i.get("price", 0)) for i in order.get("items", []))
        if not _price_holds(req, f"order {order_id}", total, draft):
            return None
        return Action(kind=kind, order_id=order_id, reason=_cancel_reason(req, message))
    if kind is ActionKind.modify_payment:
        pm = _payment_method(req.payment, user, None)
        if pm is None:
            draft.notes.append(f"no payment method given to pay order {order_id}")
            return None
        return Action(kind=kind, order_id=order_id, payment_method_id=pm)
    items = order.get("items", [])
    if req.all_items or _EVERYTHING.search(req.said or ""):
        chosen = items
    elif req.items:
        chosen = match_items(req.items, items)
    else:  # no items extracted: those the request's words (else the message) name, else every
        # "cancel or return all possible orders. Well, except the boots": an exception the
        # message makes anywhere holds for every item
        excepted = _excepted_items(items, req.said or "") + _excepted_items(items, message)
        chosen = (
            _described_items(items, req.said or "")
            or _described_items(items, message)
            or [i for i in items if i not in excepted]
        )
    if not chosen:
        draft.notes.append(f"no item matching {req.items} in order {order_id}")
        return None
    if kind is ActionKind.return_items:
        chosen = [i for i in chosen if _price_holds(req, i["name"], float(i["price"]), draft)]
        if not chosen:
            return None
        refused = _refused_refund(req, user, order)
        if refused is not None:
            draft.notes.append(refused)
            return None
        return Action(
            kind=kind,
            order_id=order_id,
            item_ids=[i["item_id"] for i in chosen],
            payment_method_id=_refund_method(req, message, user, order),
        )
    payment = _payment_method(req.payment or _payment_words(message), user, order)
    named = {id(i) for i in chosen} if req.items else set()
    # Customers often name several items in one sentence and the intake may keep only one:
    # other items of the order named in the message are candidates too. An item only changes
    # when the customer asked for one of its variant's option values, so extra candidates are
    # harmless.
    extra = [i for i in distinguish(named_items(items, message), message) if id(i) not in named]
    old_ids, new_ids = [], []
    for item in [*chosen, *extra] if req.items else chosen:
        wanted = f"{req.wanted or ''} {message}"
        variant = pick_variant(item, products.get(item["product_id"], {}), wanted)
        if variant is None:
            if id(item) in named:
                draft.notes.append(f"no available {item['name']} matches what you asked for")
            continue
        if not _price_holds(req, f"new {item['name']}", float(variant["price"]), draft):
            continue
        old_ids.append(item["item_id"])
        new_ids.append(variant["item_id"])
    if not old_ids:
        return None
    return Action(
        kind=kind,
        order_id=order_id,
        item_ids=old_ids,
        new_item_ids=new_ids,
        payment_method_id=payment,
    )
