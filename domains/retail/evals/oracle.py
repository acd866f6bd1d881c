"""``scripted:gold`` — an oracle that answers the workflow's model steps from the case's answers.

It proves the harness, the graph's execution path, the validator and the tools: with perfect
judgement steps, every case must pass. What it knows comes from the case only:

* intake: the identity the reference used (the arguments of its ``find_user_*`` call, or the
  owner of the orders its write calls touch, as written in the message), and one request per
  reference write call;
* plan: the reference write calls (those that did not fail) as the workflow's ``Action`` list.

The workflow's reply is composed by code from the run's records and cannot state facts it never
looked up (an item's price, a count). The oracle therefore also plays the "reply model": the
runner appends the ``communicate_info`` strings the workflow's reply lacks as a separate,
labelled ``reply_addendum`` (``[oracle reply model] ...``), so reports show which facts came
from the oracle. ``scripted:naive`` is the same oracle with the case's *forbidden* calls added
to every plan: a planner that proposes what the customer asked for, policy or not. The
validator must stop those.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError
from waypost.domains.retail.state import ACTION_TOOLS, ActionKind, RequestKind
from waypost.domains.retail.tools import CONSEQUENTIAL_TOOLS
from waypost.evals.dataset import EvalCase, ToolCall
from waypost.evals.models import OracleError

__all__ = ["ORACLE_LABEL", "GoldOracle", "OracleError", "action_from_call", "oracle_addendum"]

ORACLE_LABEL = "[oracle reply model]"
_KIND_OF_TOOL = {tool: kind for kind, tool in ACTION_TOOLS.items()}
_ADDRESS_FIELDS = ("address1", "address2", "city", "state", "country", "zip")
_REQUEST_OF = {
    ActionKind.cancel_order: RequestKind.cancel_order,
    ActionKind.modify_items: RequestKind.modify_items,
    ActionKind.modify_order_address: RequestKind.modify_order_address,
    ActionKind.modify_payment: RequestKind.modify_payment,
    ActionKind.return_items: RequestKind.return_items,
    ActionKind.exchange_items: RequestKind.exchange_items,
    ActionKind.modify_user_address: RequestKind.modify_user_address,
    ActionKind.transfer: RequestKind.human_agent,
}


def action_from_call(call: ToolCall) -> dict[str, Any]:
    """A reference tool call as the workflow's ``Action`` (plain dict)."""
    kind = _KIND_OF_TOOL[call.name]
    args = call.arguments
    action: dict[str, Any] = {"kind": kind.value}
    for name in ("order_id", "item_ids", "new_item_ids", "payment_method_id", "reason", "summary"):
        if args.get(name) is not None:
            action[name] = args[name]
    if kind in (ActionKind.modify_order_address, ActionKind.modify_user_address):
        action["address"] = {k: args[k] for k in _ADDRESS_FIELDS if k in args}
    return action


def _owner(case: EvalCase, db: Mapping[str, Any]) -> str | None:
    for call in case.expected.actions:
        if call.name.startswith("find_user") and not call.error:
            return None  # identity comes from the call's own arguments
    for call in case.expected.consequential(CONSEQUENTIAL_TOOLS):
        if "user_id" in call.arguments:
            return str(call.arguments["user_id"])
        order = db.get("orders", {}).get(call.arguments.get("order_id"))
        if order:
            return str(order["user_id"])
    return None


def _identity(case: EvalCase, db: Mapping[str, Any]) -> dict[str, Any]:
    found = [c for c in case.expected.actions if c.name.startswith("find_user") and not c.error]
    if found:
        return {
            k: v
            for k, v in found[-1].arguments.items()
            if k in ("email", "first_name", "last_name", "zip")
        }
    user_id = _owner(case, db)
    user = db.get("users", {}).get(user_id or "")
    if not user:
        return {}
    text = case.input.message.lower()
    if user["email"].lower() in text:
        return {"email": user["email"]}
    return {
        "first_name": user["name"]["first_name"],
        "last_name": user["name"]["last_name"],
        "zip": user["address"]["zip"],
    }


class GoldOracle:
    """A ``structured(step, schema, messages)`` callable answering from ``case``'s reference."""

    model_name = "scripted:gold"

    def __init__(self, case: EvalCase, initial_db: Mapping[str, Any], *, naive: bool = False):
        self.case = case
        self.db = initial_db
        self.naive = naive
        calls = list(case.expected.consequential(CONSEQUENTIAL_TOOLS))
        if naive:
            calls += case.expected.forbidden
        self.actions = [action_from_call(c) for c in calls]

    def __call__(
        self, step: str, schema: type[Any], messages: list[tuple[str, str]], /, **_hints: Any
    ) -> tuple[Any, dict[str, Any]]:
        if step == "intake":
            # what this message says: in a conversation the identity comes in a later turn
            text = messages[-1][1] if messages else self.case.input.message
            identity = {
                k: v
                for k, v in _identity(self.case, self.db).items()
                if v and str(v).lower() in text.lower()
            }
            value: dict[str, Any] = {
                "identity": identity,
                "requests": [
                    {
                        "kind": _REQUEST_OF[ActionKind(a["kind"])].value,
                        **(
                            {"order_id": a["order_id"]}
                            if a.get("order_id") and a["order_id"] in text
                            else {}
                        ),
                    }
                    for a in self.actions
                ],
            }
        elif step == "plan":
            value = {"actions": self.actions}
        else:
            raise OracleError(f"the oracle has no answer for step {step!r}")
        try:
            parsed: BaseModel = schema.model_validate(value)
        except ValidationError as exc:
            raise OracleError(
                f"oracle {step} answer does not fit the workflow's schema: "
                f"{exc.errors()[0]['msg']} at {exc.errors()[0]['loc']}"
            ) from None
        name = "scripted:naive" if self.naive else self.model_name
        return parsed, {"model": name, "input_tokens": 0, "output_tokens": 0, "attempts": 1}


def oracle_addendum(case: EvalCase, reply: str) -> str | None:
    """The ``communicate_info`` the workflow's reply lacks, labelled as the oracle's."""
    folded = reply.lower().replace(",", "")
    missing = [
        f for f in case.expected.communicate_info if f.lower().replace(",", "") not in folded
    ]
    return f"{ORACLE_LABEL} {'; '.join(missing)}" if missing else None
