"""The ``retail_support`` state machine: one turn of a support conversation.

    begin -> intake -> authenticate -> gather -> plan -> validate -+-> approve <-> execute -> reply
                           |                      ^                |                 ^
                           +-> reply (who are you?) +- violations -+-> reply --------+

A thread is a conversation and every run on it is a turn (``begin``: the kit's turn id,
per-turn lists reset, the customer's new words appended to ``messages``). What earlier turns
established carries over: a known customer is not asked again, and a turn that only answers a
question (name and zip, which order) continues the requests the previous turn asked about.
Judgement steps (intake, plan) use the model layer with structured output; every other step is
code. ``approve`` asks through the kit's approval protocol before each consequential action
(the tools' risk levels and the retail approval policy decide which); ``execute`` runs the
tool idempotently per (thread, turn, action), so a crash replay never acts twice and a new turn
acts afresh. ``reply`` answers and appends the answer to ``messages``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

from langchain_core.messages import HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command
from pydantic import ValidationError
from waypost.domains.retail import info as info_mod
from waypost.domains.retail.intake import (
    carry_over,
    fallback_intake,
    grounded_intake_model,
    intake_messages,
    merge_patterns,
    pattern_facts,
)
from waypost.domains.retail.planner import plan_context, plan_messages, plan_schema, to_actions
from waypost.domains.retail.reply import compose_reply, describe_action
from waypost.domains.retail.resolve import draft_plan, match_items
from waypost.domains.retail.state import (
    Action,
    ActionKind,
    CustomerRequest,
    Intake,
    RequestKind,
    RetailState,
)
from waypost.domains.retail.store_client import StoreClient
from waypost.domains.retail.validate import price_difference, validate_plan
from waypost.graphs.kit import (
    ApprovalPolicy,
    ApprovalRequest,
    StructuredCall,
    begin_turn,
    end_turn,
    message_text,
    request_approval,
    reset,
    step_error_usage,
)
from waypost.runtime.errors import ModelError
from waypost.tools import RiskLevel

__all__ = ["RetailGraphConfig", "build_retail_graph"]

POLICY_OF = {
    ActionKind.cancel_order: "§5 Cancelling a pending order",
    ActionKind.modify_items: "§6.3 Modifying items of a pending order",
    ActionKind.modify_order_address: "§6.1 Modifying a pending order",
    ActionKind.modify_payment: "§6.2 Changing the payment method of a pending order",
    ActionKind.return_items: "§7 Returning items of a delivered order",
    ActionKind.exchange_items: "§8 Exchanging items of a delivered order",
    ActionKind.modify_user_address: "§1.3 Changing the default address",
    ActionKind.transfer: "§9 Transfer to a human agent",
}

# Every consequential retail tool pauses for a reviewer (they move money or change orders).
RETAIL_APPROVALS = ApprovalPolicy(levels=frozenset({RiskLevel.WRITE, RiskLevel.IRREVERSIBLE}))


@dataclass(frozen=True)
class RetailGraphConfig:
    """Per-workflow knobs: bounded re-planning and which steps may use a model."""

    max_plan_rounds: int = 2
    # model: the planner model revises every code draft; draft: code only (the model only
    # re-plans after violations); auto: the model is asked only when the draft leaves a request
    # unresolved (notes), proposes nothing for an actionable request, or was rejected
    planner: Literal["model", "draft", "auto"] = "model"
    step_models: dict[str, tuple[str, ...]] = field(default_factory=dict)
    approvals: ApprovalPolicy = RETAIL_APPROVALS
    # answers product questions from the knowledge collection (domains/retail/knowledge.py)
    knowledge: Any = None


def _elapsed_ms(t0: float) -> float:
    return round((time.perf_counter() - t0) * 1000, 2)


def _step(name: str, t0: float, usage: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    return [{"step": name, "latency_ms": _elapsed_ms(t0), **(usage or {})}]


def build_retail_graph(
    *,
    store: StoreClient,
    structured: StructuredCall | None,
    checkpointer: Any = None,
    config: RetailGraphConfig | None = None,
) -> Any:
    """Compile the workflow. ``structured(step, schema, messages)`` runs a model step and returns
    (validated object, usage); ``None`` runs the workflow on code alone (patterns and draft)."""
    cfg = config or RetailGraphConfig()

    def begin(state: RetailState, config: RunnableConfig) -> dict[str, Any]:
        return {
            **begin_turn(state, config),
            "executed": reset(),
            "decisions": reset(),
            "steps": reset(),
            "plan": [],
            "dropped": [],
            "notes": [],
            "violations": [],
            "approval_error": None,
            "status": "running",
            "reply": "",
        }

    def intake(state: RetailState) -> dict[str, Any]:
        t0 = time.perf_counter()
        message = state.get("message") or ""
        usage: dict[str, Any] = {}
        result: Intake
        if structured is None:
            result = fallback_intake(message)
        else:
            try:
                value, usage = structured(
                    "intake", grounded_intake_model(message), intake_messages(message)
                )
                result = merge_patterns(Intake.model_validate(value.model_dump()), message)
            except ModelError as exc:
                result = fallback_intake(message)
                usage = step_error_usage(exc)
        known = Intake.model_validate(state["intake"]) if state.get("intake") else None
        pending = [CustomerRequest.model_validate(r) for r in state.get("pending") or []]
        result = carry_over(known, result, pending, message)
        return {
            "intake": result.model_dump(mode="json"),
            "pending": [],
            "steps": _step("intake", t0, usage),
        }

    def authenticate(state: RetailState) -> dict[str, Any]:
        t0 = time.perf_counter()
        ident = Intake.model_validate(state["intake"]).identity
        if state.get("user_id"):  # an earlier turn authenticated this customer (§2.1: once)
            known = str(state["user_id"])
            return {"user": store.user(known), "steps": _step("authenticate", t0)}
        user_id = None
        # "my emails are a@x.com and b@x.com": each email the customer gave is tried
        emails = [ident.email] if ident.email else []
        emails += [
            e for e in pattern_facts(state.get("message") or "")["emails"] if e not in emails
        ]
        for email in emails:
            user_id = store.find_user_by_email(email)
            if user_id is not None:
                break
        if user_id is None and ident.first_name and ident.last_name and ident.zip:
            user_id = store.find_user_by_name_zip(ident.first_name, ident.last_name, ident.zip)
        if user_id is None and ident.user_id and ident.zip:
            # A user id alone does not authenticate (policy §2.1), but user ids are made of the
            # customer's name: name + zip must then find that very user id.
            parts = ident.user_id.split("_")
            if len(parts) >= 3:
                found = store.find_user_by_name_zip(parts[0], parts[1], ident.zip)
                user_id = found if found == ident.user_id else None
        if user_id is None:
            return {
                "user_id": None,
                "status": "needs_identity",
                "pending": state["intake"].get("requests", []),
                "steps": _step("authenticate", t0),
            }
        return {"user_id": user_id, "user": store.user(user_id), "steps": _step("authenticate", t0)}

    def gather(state: RetailState) -> dict[str, Any]:
        t0 = time.perf_counter()
        user = state["user"] or {}
        found = {oid: store.order(oid) for oid in user.get("orders", [])}
        orders = {k: v for k, v in found.items() if v is not None}
        product_ids = sorted({it["product_id"] for o in orders.values() for it in o["items"]})
        products = {pid: store.product(pid) for pid in product_ids}
        return {
            "orders": orders,
            "products": {k: v for k, v in products.items() if v},
            "plan_rounds": 0,
            "cursor": 0,
            "steps": _step("gather", t0),
        }

    def plan(state: RetailState) -> dict[str, Any]:
        t0 = time.perf_counter()
        intake_v = Intake.model_validate(state["intake"])
        user, orders, products = state["user"] or {}, state["orders"], state["products"]
        draft = draft_plan(
            intake_v,
            message=state.get("message") or "",
            user=user,
            orders=orders,
            products=products,
        )
        actions = draft.actions
        usage: dict[str, Any] = {}
        rounds = state.get("plan_rounds", 0)
        violations = state.get("violations", [])
        unsure = draft.unsure or (not actions and _actionable(intake_v))
        use_model = structured is not None and (
            cfg.planner == "model" or bool(violations) or (cfg.planner == "auto" and unsure)
        )
        if use_model and structured is not None and (actions or intake_v.requests):
            focus = {
                it["product_id"]
                for o in orders.values()
                for it in match_items([p for r in intake_v.requests for p in r.items], o["items"])
            } | {
                it["product_id"]
                for a in actions
                for o in [orders.get(a.order_id or "", {})]
                for it in o.get("items", [])
                if it["item_id"] in a.item_ids
            }
            context = plan_context(
                intake=intake_v,
                user=user,
                orders=orders,
                products=products,
                draft=actions
                if not violations
                else [Action.model_validate(a) for a in state.get("plan", [])],
                focus_products=focus,
            )
            hints = {}
            if violations:  # a cascading route answers a rejected plan with its next model
                hints = {"escalate_after": _last_model(state, "plan"), "because": violations[0]}
            try:
                value, usage = structured(
                    "plan",
                    plan_schema(user, orders, products),
                    plan_messages(context, violations),
                    **hints,
                )
                actions = _keep_addresses(to_actions(value), draft.actions)
            except ModelError as exc:
                usage = step_error_usage(exc)  # degrade to the code draft
        return {
            "plan": [a.model_dump(mode="json") for a in actions],
            "notes": draft.notes,
            "plan_rounds": rounds + 1,
            "steps": _step("plan", t0, usage),
        }

    def validate(state: RetailState) -> Command[Literal["plan", "approve", "reply"]]:
        t0 = time.perf_counter()
        actions = [Action.model_validate(a) for a in state.get("plan", [])]
        found = validate_plan(
            actions,
            user=state["user"] or {},
            orders=state["orders"],
            products=state["products"],
            asked=_customer_text(state),
        )
        steps = _step("validate", t0, {"violations": len(found)})
        if found and state.get("plan_rounds", 0) < cfg.max_plan_rounds + 1:
            return Command(
                goto="plan", update={"violations": [str(v) for v in found], "steps": steps}
            )
        bad = {v.action_index for v in found}
        dropped = [
            {
                "action": actions[i].model_dump(mode="json"),
                "reason": "; ".join(
                    f"{v.message} (policy {v.section})" for v in found if v.action_index == i
                ),
            }
            for i in sorted(bad)
        ]
        kept = [a.model_dump(mode="json") for i, a in enumerate(actions) if i not in bad]
        update = {"plan": kept, "dropped": dropped, "violations": [], "cursor": 0, "steps": steps}
        return Command(goto="approve" if kept else "reply", update=update)

    def approve(state: RetailState) -> Command[Literal["execute", "approve", "reply"]]:
        t0 = time.perf_counter()
        plan_ = [Action.model_validate(a) for a in state.get("plan", [])]
        i = state.get("cursor", 0)
        if i >= len(plan_):
            return Command(goto="reply")
        action = plan_[i]
        tool = action.tool_name()
        arguments = action.tool_arguments(state.get("user_id"))
        spec = store.registry.get(tool).spec
        if not cfg.approvals.needs_approval(spec, arguments):  # e.g. a transfer (read-only)
            return Command(goto="execute")
        order = state["orders"].get(action.order_id or "", {})
        diff = (
            price_difference(action, order, state["products"])
            if action.kind in (ActionKind.exchange_items, ActionKind.modify_items)
            else None
        )
        decision = request_approval(
            ApprovalRequest(
                tool=tool,
                arguments=arguments,
                summary=describe_action(action, state["orders"], diff),
                risk=spec.risk,
                call_id=f"action-{i}",
                turn_id=state.get("turn_id"),
                policy=POLICY_OF[action.kind],
                details={
                    "action_index": i,
                    "price_difference": diff,
                    "user_id": state.get("user_id"),
                },
                args_schema=spec.parameters,
                error=state.get("approval_error"),
            )
        )
        steps = _step("approve", t0, {"decision": decision.decision})
        update: dict[str, Any] = {
            "decisions": [{"action_index": i, **decision.resume_value()}],
            "approval_error": None,
            "steps": steps,
        }
        if decision.decision == "reject":
            update["cursor"] = i + 1
            return Command(goto="approve", update=update)
        if decision.decision == "edit":
            try:
                edited = action.with_tool_arguments(decision.arguments or {})
            except (ValidationError, ValueError) as exc:
                return Command(goto="approve", update={"approval_error": str(exc), "steps": steps})
            problems = validate_plan(
                [edited],
                user=state["user"] or {},
                orders=state["orders"],
                products=state["products"],
            )
            if problems:
                return Command(
                    goto="approve",
                    update={"approval_error": "; ".join(str(p) for p in problems), "steps": steps},
                )
            new_plan = list(state["plan"])
            new_plan[i] = edited.model_dump(mode="json")
            update["plan"] = new_plan
        return Command(goto="execute", update=update)

    def execute(state: RetailState, config: RunnableConfig) -> Command[Literal["approve"]]:
        t0 = time.perf_counter()
        i = state.get("cursor", 0)
        action = Action.model_validate(state["plan"][i])
        args = action.tool_arguments(state.get("user_id"))
        outcome = store.call(
            action.tool_name(), args, state=state, config=config, call_id=f"action-{i}"
        )
        update: dict[str, Any] = {
            "executed": [{"action_index": i, **outcome}],
            "cursor": i + 1,
            "steps": _step("execute", t0, {"tool": action.tool_name(), "ok": outcome["ok"]}),
        }
        if outcome["ok"] and action.order_id:
            orders = dict(state["orders"])
            refreshed = store.order(action.order_id)
            if refreshed is not None:
                orders[action.order_id] = refreshed
            update["orders"] = orders
            if state.get("user_id"):
                update["user"] = store.user(str(state["user_id"]))
        return Command(goto="approve", update=update)

    def reply(state: RetailState, config: RunnableConfig) -> dict[str, Any]:
        t0 = time.perf_counter()
        full: dict[str, Any] = dict(state)
        grounding = None
        if state.get("user"):
            full["info"] = info_mod.answer_questions(
                Intake.model_validate(state["intake"]), state["orders"], state["products"]
            )
            if cfg.knowledge is not None:
                cited = cfg.knowledge.answer(state.get("message") or "", store, config)
                if cited is not None:
                    grounding = cited.as_dict()
                    if cited.answer:
                        full["info"] = [*full["info"], cited.answer]
        executed = state.get("executed", [])
        status = state.get("status", "running")
        if status == "running":
            if any(e["tool"] == "transfer_to_human_agents" for e in executed):
                status = "transferred"
            elif executed:
                status = "completed"
            elif state.get("decisions") and all(
                d["decision"] == "reject" for d in state["decisions"]
            ):
                status = "rejected"
            elif full.get("info"):
                status = "completed"
            elif state.get("notes") and not state.get("dropped"):
                status = "needs_clarification"  # nothing could be resolved: ask, keep the request
            else:
                status = "nothing_to_do"
        full["status"] = status
        text = compose_reply(full)
        update: dict[str, Any] = {
            "status": status,
            "reply": text,
            "steps": _step("reply", t0),
            "grounding": grounding,
            **end_turn(state, text),
        }
        if status == "needs_clarification":
            update["pending"] = state["intake"].get("requests", [])
        return update

    def after_auth(state: RetailState) -> Literal["gather", "reply"]:
        return "reply" if state.get("status") == "needs_identity" else "gather"

    builder = StateGraph(RetailState)
    builder.add_node("begin", begin)
    builder.add_node("intake", intake)
    builder.add_node("authenticate", authenticate)
    builder.add_node("gather", gather)
    builder.add_node("plan", plan)
    builder.add_node("validate", validate)
    builder.add_node("approve", approve)
    builder.add_node("execute", execute)
    builder.add_node("reply", reply)
    builder.add_edge(START, "begin")
    builder.add_edge("begin", "intake")
    builder.add_edge("intake", "authenticate")
    builder.add_conditional_edges("authenticate", after_auth)
    builder.add_edge("gather", "plan")
    builder.add_edge("plan", "validate")
    builder.add_edge("reply", END)
    return builder.compile(checkpointer=checkpointer, name="retail_support")


def _actionable(intake: Intake) -> bool:
    return any(r.kind is not RequestKind.order_info for r in intake.requests)


def _customer_text(state: RetailState) -> str:
    """Everything the customer wrote in this conversation (what they asked for)."""
    said = [message_text(m) for m in state.get("messages") or [] if isinstance(m, HumanMessage)]
    return "\n".join([*said, state.get("message") or ""])


def _last_model(state: RetailState, step: str) -> str | None:
    """The model that served ``step`` last in this turn (None: code, or not yet run)."""
    for record in reversed(state.get("steps") or []):
        if record.get("step") == step:
            model = record.get("model")
            return str(model) if model else None
    return None


def _keep_addresses(actions: list[Action], draft: list[Action]) -> list[Action]:
    """Addresses come from intake, not from the planner: carry the draft's over."""
    by_kind = {(a.kind, a.order_id): a.address for a in draft if a.address is not None}
    out = []
    for a in actions:
        if a.address is None and (a.kind, a.order_id) in by_kind:
            a = a.model_copy(update={"address": by_kind[(a.kind, a.order_id)]})
        out.append(a)
    return out
