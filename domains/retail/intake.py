"""Intake: structured extraction of identity and requests from the case text.

Code extracts what patterns can prove (emails, order ids, zip codes, user ids); the model
extracts the rest (names, what is asked) under a JSON-schema constraint. Extracted identity
strings must occur in the text: a value the text does not contain is a validation error that
the model is re-asked about, so the model cannot invent an identity.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import field_validator
from waypost.domains.retail.state import (
    CustomerRequest,
    Identity,
    Intake,
    PriceCondition,
    RequestKind,
)

__all__ = [
    "INTAKE_SYSTEM",
    "TOTAL_QUESTION",
    "annotate_requests",
    "carry_over",
    "code_requests",
    "fallback_intake",
    "grounded_intake_model",
    "intake_messages",
    "merge_patterns",
    "pattern_facts",
]

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")  # no trailing sentence dot
_ORDER = re.compile(r"#W\d{7}")
_ZIP = re.compile(r"(?<!\d)\d{5}(?!\d)")
_PERSON_WORDS = ("human", "person", "representative", "real agent", "manager", "supervisor")
_EVIDENCE: dict[RequestKind, tuple[str, ...]] = {
    RequestKind.cancel_order: ("cancel",),
    RequestKind.return_items: ("return", "refund", "send back", "send it back"),
    RequestKind.exchange_items: (
        "exchange",
        "swap",
        "change",
        "switch",
        "replace",
        "instead",
        "upgrade",
        "different",
        "modify",
    ),
    RequestKind.modify_items: (
        "exchange",
        "swap",
        "change",
        "switch",
        "replace",
        "instead",
        "upgrade",
        "different",
        "modify",
    ),
    RequestKind.modify_order_address: ("address", "ship", "deliver", "move"),
    RequestKind.modify_user_address: ("address", "move", "moved"),
    RequestKind.modify_payment: ("pay", "card", "paypal", "gift"),
}
# "I'm Ada Byron", "this is Ada Byron", "my name is Ada Byron": the fallback's name pattern.
# "You are Ada Byron in zip code 10001": a case written in the second person, as tau2's are.
_SELF_INTRO = re.compile(
    r"\b(?:I am|I'm|this is|my name is|[Yy]ou are|[Yy]ou're|[Yy]our? name is|called|named)"
    r"\s+([A-Z][a-z]+)\s+([A-Z][a-z]+)"
)
_USER_ID = re.compile(r"\b[a-z]+_[a-z]+_\d{4}\b")

INTAKE_SYSTEM = """You read a customer's message to an online store's support desk and extract:
- identity: email, first_name, last_name, zip, user_id, exactly as written (null if absent);
- requests: one entry per thing the customer wants. kind is one of:
  cancel_order, modify_items (change options of items in a pending order),
  modify_order_address, modify_payment, return_items, exchange_items (delivered order),
  modify_user_address, order_info (a question about orders or products),
  human_agent (asks for a person), other (anything a store agent cannot do).
  order_id: the order id if written ('#W' and 7 digits). items: product names concerned.
  wanted: the new options wanted, in the customer's words. reason: why. payment: the payment
  method the customer wants to use or be refunded to. all_items: true if every item is meant.
- address: a new address if the customer gives one.
Copy words from the message; never invent values.

Example message: "Hi, I'm Ada Byron, zip 10001. Please return the blender from order #W1234567
to my gift card, and swap my green kettle for a red one."
Example output: {"identity": {"email": null, "first_name": "Ada", "last_name": "Byron",
"zip": "10001", "user_id": null}, "requests": [{"kind": "return_items", "order_id": "#W1234567",
"items": ["blender"], "wanted": null, "reason": null, "payment": "gift card", "all_items": false},
{"kind": "exchange_items", "order_id": null, "items": ["kettle"], "wanted": "red", "reason": null,
"payment": null, "all_items": false}], "address": null}"""


def pattern_facts(message: str) -> dict[str, Any]:
    """Facts that patterns prove: emails, order ids, zip codes, user ids."""
    zips = _ZIP.findall(re.sub(r"#W\d{7}|\d{6,}", " ", message))
    return {
        "emails": _EMAIL.findall(message),
        "order_ids": _ORDER.findall(message),
        "zip": zips[0] if zips else None,
        "user_ids": _USER_ID.findall(message),
    }


def _occurs(value: str, text: str) -> bool:
    return value.strip().lower() in text.lower()


def grounded_intake_model(message: str) -> type[Intake]:
    """An ``Intake`` subclass whose identity values must occur in ``message``.

    An invented identity value is a validation error, so the structured-output layer re-asks
    the model with it; an invented order id is dropped.
    """

    class GroundedIntake(Intake):
        @field_validator("identity")
        @classmethod
        def _identity_in_text(cls, identity: Identity) -> Identity:
            for name in ("email", "first_name", "last_name", "zip", "user_id"):
                value = getattr(identity, name)
                if value and not _occurs(value, message):
                    raise ValueError(f"identity.{name}={value!r} does not occur in the message")
            return identity

        @field_validator("requests")
        @classmethod
        def _orders_in_text(cls, requests: list[CustomerRequest]) -> list[CustomerRequest]:
            # An order id the message does not contain is dropped, not re-asked: small models
            # repeat the same id on a re-ask, and code re-attaches the ids the text does hold.
            return [
                r
                if not r.order_id or r.order_id in message
                else r.model_copy(update={"order_id": None})
                for r in requests
            ]

    GroundedIntake.__name__ = "Intake"
    return GroundedIntake


def intake_messages(message: str) -> list[tuple[str, str]]:
    return [("system", INTAKE_SYSTEM), ("human", message)]


def _evidenced(kind: RequestKind, message: str) -> bool:
    words = _EVIDENCE.get(kind)
    return words is None or any(w in message.lower() for w in words)


def merge_patterns(intake: Intake, message: str) -> Intake:
    """Fill identity from proven patterns and drop values the text does not contain."""
    facts = pattern_facts(message)
    ident = intake.identity.model_copy()
    for name in ("email", "first_name", "last_name", "zip", "user_id"):
        value = getattr(ident, name)
        if value and not _occurs(value, message):
            setattr(ident, name, None)
    if not ident.email and facts["emails"]:
        ident.email = facts["emails"][0]
    if not ident.zip and facts["zip"]:
        ident.zip = facts["zip"]
    if not ident.user_id and facts["user_ids"]:
        ident.user_id = facts["user_ids"][0]
    named = _SELF_INTRO.search(message)
    if named and not (ident.first_name and ident.last_name):
        ident.first_name, ident.last_name = named.group(1), named.group(2)
    requests = [r for r in intake.requests if not r.order_id or r.order_id in message]
    # A transfer is for what the actions cannot do (policy §9): keep an "other" request only
    # when it is the whole case, and a human_agent one only when the customer asks for a person.
    actionable = [r for r in requests if r.kind not in (RequestKind.other, RequestKind.human_agent)]
    asks_person = any(w in message.lower() for w in _PERSON_WORDS)
    # A consequential request needs a word for it in the message: a small model sometimes adds
    # a second, unasked kind of change for the same items.
    evidenced = [r for r in requests if _evidenced(r.kind, message)]
    if evidenced:
        requests = evidenced
    requests = [
        r
        for r in requests
        if r.kind is not RequestKind.other or not actionable
        if r.kind is not RequestKind.human_agent or asks_person or not actionable
    ]
    requests = annotate_requests(requests, message)
    mentioned = {r.order_id for r in requests if r.order_id}
    if len(facts["order_ids"]) == 1 and requests and not mentioned:
        requests = [r.model_copy(update={"order_id": facts["order_ids"][0]}) for r in requests]
    return intake.model_copy(update={"identity": ident, "requests": requests})


def fallback_intake(message: str) -> Intake:
    """Pattern-only intake, used when no model could produce a valid one."""
    facts = pattern_facts(message)
    named = _SELF_INTRO.search(message)
    ident = Identity(
        email=facts["emails"][0] if facts["emails"] else None,
        first_name=named.group(1) if named else None,
        last_name=named.group(2) if named else None,
        zip=facts["zip"],
        user_id=facts["user_ids"][0] if facts["user_ids"] else None,
    )
    return Intake(identity=ident, requests=code_requests(message))


_SENTENCES = re.compile(r"(?<=[.;!?])\s+")
# the verbs a request for an action starts with
_VERBS = r"(?:return|cancel|exchange|swap|change|switch|modify|replace)"
# a condition starts its own part: "..., but if it is not available, return it"
_CONDITION_START = re.compile(r",\s*(?:but\s+|and\s+)?(?=(?:if|otherwise|or else)\b)", re.I)
_CLAUSES = re.compile(
    r",\s+and\b|\b(?:also|and then|finally|lastly|additionally)\b"
    # "cancel all pending orders and return the watch": a new verb of request starts a clause
    rf"|\band\b(?=\s+(?:\w+\s+){{0,2}}?{_VERBS}\b)",
    re.I,
)
# the first kind whose words a clause contains (order matters: "return" before "change")
_CLAUSE_KINDS: tuple[tuple[RequestKind, re.Pattern[str]], ...] = (
    # not "your cancelled order" (an order, not a request)
    (
        RequestKind.cancel_order,
        re.compile(r"\bcancel(?!l?ed\s+orders?\b)", re.I),
    ),
    # "refund the blender", not "PayPal for any refund" (a payment preference)
    (
        RequestKind.return_items,
        re.compile(
            r"\breturn|\brefund\s+(?:(?:for|of|on)\s+)?(?:the|my|this|that|it|them)\b", re.I
        ),
    ),
    (
        RequestKind.modify_user_address,
        re.compile(r"\b(?:default|user|profile)\s+address", re.I),
    ),
    (RequestKind.modify_order_address, re.compile(r"\baddress\b", re.I)),
    (RequestKind.modify_payment, re.compile(r"\bpayment method\b|\bpay (?:with|using|by)\b", re.I)),
    (
        RequestKind.exchange_items,
        re.compile(r"\bexchange|\bswap|\bchange\b|\bswitch|\bupgrade|\bmodify|\breplace", re.I),
    ),
    (RequestKind.human_agent, re.compile(r"\b(?:human|real person|representative)\b", re.I)),
)
# "change my default address and all my order addresses": one clause, two requests
_ORDER_ADDRESSES = re.compile(
    r"\border\s+address|\baddress(?:es)? of (?:\w+\s+){0,3}orders?\b", re.I
)
_IF = re.compile(r"^\s*(?:and\s+|but\s+)?(?:if|in case|should|when)\b", re.I)
_OTHERWISE = re.compile(r"^\s*(?:and\s+|but\s+)?(?:otherwise|or else|failing that)\b[,:]?", re.I)
# a condition that something failed: "if it cannot be returned", "if not", "if there are issues"
_FAILED = re.compile(
    r"\b(?:not|no|cannot|unable|impossible|unavailable|fails?|refuses?|issues?|problems?)\b"
    r"|n't\b",
    re.I,
)
_ONLY = re.compile(rf"\bonly\s+(?:\w+\s+){{0,2}}?{_VERBS}", re.I)
# "the total price for all the grills you have bought": answered by ``info.answer_questions``
TOTAL_QUESTION = r"\btotal (?:price|cost|amount)\b|\bhow much\b[^.]{0,40}\bin total\b"
# a question about an order: "the tracking number", "when will it arrive", "its status"
_INFO = re.compile(
    r"\btracking\b|\bstatus\b|\bwhere (?:is|are)\b|\bwhen\b[^.]{0,40}\barriv"
    rf"|\bhow much\b[^.]{{0,30}}\bpa(?:id|y) for\b|{TOTAL_QUESTION}",
    re.I,
)
_CANCEL_OR_RETURN = re.compile(r"\bcancel\w* or return|\breturn\w* or cancel", re.I)
_PRONOUN = re.compile(rf"\b{_VERBS}\w*\s+(?:them|it|both|these|those)\b", re.I)
_ITS = re.compile(r"\bits\b", re.I)
_THAT_ORDER = re.compile(r"\b(?:that|this|the)(?: whole| entire)? order\b", re.I)
_PARTIAL_CANCEL = re.compile(
    r"\bcancel\w*\s+(?:\w+\s+){0,4}?(?:from|out of|inside)\s+(?:\w+\s+){0,3}?(?:order|it)\b", re.I
)
# a question about what could be done, not a request to do it
_JUST_ASKING = re.compile(
    r"\bnot sure yet\b|\b(?:do not|don't|not to) (?:process|proceed with|do|change) "
    r"(?:anything|it|them|that)(?: yet)?\b|\bwithout (?:processing|doing) anything\b",
    re.I,
)
_NEGATED = re.compile(r"(?:\bnot|n't|\bnever|\bno)\b(?:\s+\w+){0,3}\s*$", re.I)


# a comparison with an amount of money: "less than 200 bucks", "over $300", "at most $50"
_COMPARED = re.compile(
    r"\b(?P<word>less|lower|cheaper|under|below|at most|no more|more|greater|higher|over|above"
    r"|exceeds?|at least)\b(?:\s+than)?\s+(?P<dollar>\$)?\s*(?P<amount>\d[\d,]*(?:\.\d+)?)"
    r"(?:\s*(?P<unit>dollars?|bucks|usd)\b)?",
    re.I,
)
_PRICE_WORDS = re.compile(r"\b(?:price[sd]?|costs?|expensive|cheap\w*|pay)\b|\$", re.I)
_OPS: dict[str, Literal["<", "<=", ">", ">="]] = {
    "at most": "<=",
    "no more": "<=",
    "at least": ">=",
    **dict.fromkeys(("less", "lower", "cheaper", "under", "below"), "<"),
    **dict.fromkeys(("more", "greater", "higher", "over", "above", "exceed", "exceeds"), ">"),
}


def price_condition(condition: str) -> PriceCondition | None:
    """The price comparison a condition makes ("if it is less than 200 bucks"), if it is one:
    the amount must be money (a dollar sign, "dollars"/"bucks", or price words around it), so
    "if there are more than 2 options" is not."""
    m = _COMPARED.search(condition)
    if m is None or _FAILED.search(condition[: m.start()]):
        return None
    if not (m["dollar"] or m["unit"] or _PRICE_WORDS.search(condition)):
        return None
    op = _OPS[" ".join(m["word"].lower().split())]
    return PriceCondition(op=op, amount=float(m["amount"].replace(",", "")))


@dataclass(frozen=True)
class _Part:
    text: str
    fallback: bool = False  # asked for only if another request fails
    condition: PriceCondition | None = None  # holds only at that price
    revises: bool = False  # the customer's last word when asked to confirm (see _REVISES)


# "if the agent asks you to confirm", "when the agent asks for final confirmation"
_AT_CONFIRMATION = re.compile(r"\bconfirm", re.I)
# "change your mind" asks for no change
_MIND_WORDS = r"chang\w*\s+(?:your|my|his|her|their)\s+minds?"
_MIND = re.compile(rf"\b{_MIND_WORDS}\b", re.I)
# ...and what the customer then says changes what came before: "you regret and want to keep
# it", "you change your mind and return the more expensive one", "... instead"
_WITHDRAWS = re.compile(r"\b(?:regret\w*|keep (?:it|them|both))\b", re.I)
_REVISES = re.compile(rf"\b(?:{_MIND_WORDS}|instead)\b|{_WITHDRAWS.pattern}", re.I)


def _parts(message: str) -> list[_Part]:
    """The message in parts, conditions removed: "If it cannot be returned, cancel it" is the
    part "cancel it", a fallback; "If the price is over $300, cancel it" is "cancel it", a
    first-hand request that holds only at that price; "if the agent asks you to confirm, you
    regret and want to keep it" revises what came before."""
    out: list[_Part] = []
    for sentence in _SENTENCES.split(message):
        for part in _CONDITION_START.split(sentence):
            if _OTHERWISE.match(part):
                out.append(_Part(_OTHERWISE.sub("", part, count=1), fallback=True))
                continue
            if not _IF.match(part):
                out.append(_Part(part))
                continue
            if "," in part:
                cond, then = part.split(",", 1)
            else:  # "if it is not available just return it": the condition ends at the verb
                verb = min(
                    (m.start() for _, w in _CLAUSE_KINDS for m in [w.search(part)] if m),
                    default=len(part),
                )
                cond, then = part[:verb], part[verb:]
            if _AT_CONFIRMATION.search(cond) and _REVISES.search(then):
                out.append(_Part(then, revises=True))
                continue
            compared = price_condition(cond)
            out.append(_Part(then, compared is None and bool(_FAILED.search(cond)), compared))
    return out


def _clause_kinds(clause: str) -> list[RequestKind]:
    """The request kinds a clause asks for: the first kind whose words it contains, not
    negated ("you do not want to cancel any order")."""
    clause = _MIND.sub(" ", clause)
    if _JUST_ASKING.search(clause):  # "check whether you can return it, but don't process it"
        return [RequestKind.order_info]
    for kind, words in _CLAUSE_KINDS:
        m = next(
            (m for m in words.finditer(clause) if not _NEGATED.search(clause[: m.start()])), None
        )
        if m is None:
            continue
        if kind is RequestKind.cancel_order and _PARTIAL_CANCEL.search(clause):
            return []  # an item out of an order: orders are cancelled whole (policy)
        if kind is RequestKind.modify_user_address and _ORDER_ADDRESSES.search(clause):
            return [kind, RequestKind.modify_order_address]
        if _CANCEL_OR_RETURN.search(clause):  # the order's status says which applies
            return [RequestKind.cancel_order, RequestKind.return_items]
        return [kind, *([RequestKind.order_info] if _INFO.search(clause) else [])]
    return [RequestKind.order_info] if _INFO.search(clause) else []


def code_requests(message: str) -> list[CustomerRequest]:
    """Requests that words prove, one per clause and order id ("cancel #W1...; also return
    the lamp"): what a request is when no model answers. A request asked for only in case
    another cannot be done is marked ``fallback``.
    Whether an item change is an exchange or a modification is left to the order's status."""
    all_ids = pattern_facts(message)["order_ids"]
    found: list[list[Any]] = []  # [kind, words, fallback, price condition]
    context = ""  # the clause before, when it asked for nothing
    before = 0  # where the requests of the part before this one start in ``found``
    for part in _parts(message):
        start = len(found)
        if part.revises:
            asked_now = [k for c in _CLAUSES.split(part.text) if c for k in _clause_kinds(c)]
            if not asked_now and _WITHDRAWS.search(part.text):
                del found[before:]  # "... you regret and want to keep it": nothing of that
                start = before
            else:  # "you change your mind and return the more expensive one": it replaces
                groups = {_group(k) for k in asked_now}
                found = [f for f in found if _group(f[0]) not in groups]
                start = len(found)
            context = ""
        for clause in (c for c in _CLAUSES.split(part.text) if c and c.strip()):
            fallback_here = part.fallback or bool(_OTHERWISE.match(clause))
            asked = [
                [kind, clause, fallback_here, part.condition] for kind in _clause_kinds(clause)
            ]
            refers_back = bool(_PRONOUN.search(clause) or _THAT_ORDER.search(clause))
            if asked and refers_back and context:
                # "You bought two skateboards. You want to return them."
                for a in asked:
                    a[1] = f"{context} {clause}"
            elif (
                asked
                and found
                and (_ITS.search(clause) or (refers_back and fallback_here and not found[-1][2]))
            ):
                # "change your pending order's address, and change its item to red": the
                # order of the request before
                # "modify the skateboard ... If that is not possible, cancel the order": the
                # order of the request it stands in for
                for a in asked:
                    a[1] = f"{found[-1][1]} {clause.strip()}"
            if asked:
                found += asked
            elif found and not part.revises:
                # "return the cleaner, headphone, and smart watch": the list goes on
                found[-1][1] = f"{found[-1][1]} {clause}"
            context = "" if asked else f"{context} {clause}".strip()
        if len(found) > start:
            before = start
    out: list[CustomerRequest] = []
    for kind, clause, fallback, condition in found:
        # one request and one order id in the message: that order is meant
        only = [all_ids[0]] if len(all_ids) == 1 and len(found) == 1 else [None]
        for order_id in _ORDER.findall(clause) or only:
            said = clause.strip()
            if _ONLY.search(said) and not fallback:
                # "exchange the bottle and the lamp ... only exchange the lamp": a later "only"
                # replaces what was asked of that kind before (not when it is the fallback:
                # "if there is no clicky keyboard, only exchange the thermostat" keeps both)
                out = [
                    r
                    for r in out
                    if not (_group(r.kind) is _group(kind) and r.order_id == order_id)
                ]
            # each clause is its own request ("exchange the helmet, and exchange the luggage
            # set in another order"); the resolver merges those that land on one order
            out.append(
                CustomerRequest(
                    kind=kind, order_id=order_id, fallback=fallback, said=said, condition=condition
                )
            )
    return out or [CustomerRequest(kind=RequestKind.other)]


def _group(kind: RequestKind) -> RequestKind:
    """Exchanges and modifications are one kind of request: the order's status decides."""
    return RequestKind.exchange_items if kind is RequestKind.modify_items else kind


def annotate_requests(requests: list[CustomerRequest], message: str) -> list[CustomerRequest]:
    """A model's requests, annotated from the words of the message: a request whose kind the
    message asks for only as a fallback is marked so, and a request takes the words that ask
    for it (``said``) when they are unambiguous: the clause naming its order, or every clause
    of its kind when it is the only request of that kind."""
    words = code_requests(message)
    firsthand = {_group(r.kind) for r in words if not r.fallback}
    fallback = {_group(r.kind) for r in words if r.fallback} - firsthand
    out = []
    for r in requests:
        same = [w for w in words if _group(w.kind) is _group(r.kind)]
        named = [w for w in same if r.order_id and w.order_id == r.order_id]
        asked = sum(_group(q.kind) is _group(r.kind) for q in requests)
        only = named or (same if asked == 1 else [])
        clause = " ".join(w.said or "" for w in only) or None
        update: dict[str, Any] = {"fallback": _group(r.kind) in fallback, "said": r.said or clause}
        if len(only) == 1 and only[0].condition is not None:
            update["condition"] = only[0].condition
        out.append(r.model_copy(update=update))
    return out


_ACTIONABLE = frozenset(RequestKind) - {RequestKind.other, RequestKind.human_agent}


def carry_over(
    known: Intake | None, new: Intake, pending: list[CustomerRequest], message: str
) -> Intake:
    """What the workflow knows after a new message, given what earlier turns established.

    Identity fields the new message leaves empty keep their earlier values. When the new
    message asks for nothing actionable (it answers a question: who the customer is, which
    order), the requests a previous turn could not finish continue; an order id the answer
    names is attached to those that lacked one.
    """
    ident = new.identity.model_copy()
    if known is not None:
        for name in ("email", "first_name", "last_name", "zip", "user_id"):
            if not getattr(ident, name) and getattr(known.identity, name):
                setattr(ident, name, getattr(known.identity, name))
    requests = list(new.requests)
    if pending and not any(r.kind in _ACTIONABLE for r in requests):
        order_ids = pattern_facts(message)["order_ids"]
        requests = [
            r.model_copy(update={"order_id": order_ids[0]})
            if not r.order_id and len(order_ids) == 1
            else r
            for r in pending
        ]
    address = new.address or (known.address if known is not None else None)
    return Intake(identity=ident, requests=requests, address=address)
