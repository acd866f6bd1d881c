"""Console test support: a refund workflow that asks for approval the way the kit does, keys per
tenant and role, and a logged-in httpx client that reads the CSRF token off the page."""

from __future__ import annotations

import re
import uuid
from typing import Any, Literal, TypedDict

import httpx
from langgraph.graph import END, START, StateGraph
from pydantic import BaseModel, Field
from waypost.graphs.kit import ApprovalRequest, request_approval
from waypost.graphs.registry import GraphDeps, GraphRegistry, WorkflowSpec
from waypost.runtime.db import make_engine, make_session_factory
from waypost.server.identity import IdentityStore
from waypost.tools import RiskLevel

from tests.api.conftest import make_settings
from tests.api.sample_graphs import ScriptedChat

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class RefundArgs(BaseModel):
    order_id: str = Field(description="The order to refund.")
    amount: float = Field(gt=0, le=500, description="USD to refund.")
    reason: Literal["damaged", "late", "other"] = "damaged"
    notify: bool = True


class RefundState(TypedDict, total=False):
    message: str
    customer: str
    order_id: str
    amount: float
    draft: str
    outcome: str


def build_refund(deps: GraphDeps) -> Any:
    """draft (one priced model call) -> refund (asks a human, then acts as decided)."""
    model = ScriptedChat(reply="I will refund the damaged lamp.")

    async def draft(state: RefundState) -> dict[str, Any]:
        reply = await model.ainvoke(state.get("message", ""))
        return {"draft": str(reply.content)}

    def refund(state: RefundState) -> dict[str, Any]:
        arguments = {"order_id": state["order_id"], "amount": state["amount"], "reason": "damaged"}
        decision = request_approval(
            ApprovalRequest(
                tool="refund_payment",
                arguments=arguments,
                summary=f"Refund {state['amount']:.2f} USD on order {state['order_id']}",
                risk=RiskLevel.IRREVERSIBLE,
                call_id="refund-1",
                policy="§4 Refunds above 20 USD need a reviewer",
                details={"price_difference": -state["amount"], "user_id": state["customer"]},
                args_schema=RefundArgs.model_json_schema(),
            )
        )
        if decision.decision == "reject":
            return {"outcome": f"rejected: {decision.comment}"}
        final = {**arguments, **(decision.arguments or {})}
        return {"outcome": f"refunded {final['amount']} on {final['order_id']}"}

    g = StateGraph(RefundState)
    g.add_node("draft", draft)
    g.add_node("refund", refund)
    g.add_edge(START, "draft")
    g.add_edge("draft", "refund")
    g.add_edge("refund", END)
    return g.compile(checkpointer=deps.checkpointer)


def refund_registry() -> GraphRegistry:
    registry = GraphRegistry()
    registry.register(WorkflowSpec("refund", "Refunds after a reviewer approves.", build_refund))
    return registry


def refund_input(customer: str = "ada_byron", amount: float = 42.0) -> dict[str, Any]:
    return {
        "message": f"My lamp arrived broken, please refund order #W{amount:.0f}.",
        "customer": customer,
        "order_id": f"#W{amount:.0f}",
        "amount": amount,
    }


def create_keys(database_url: str, spec: dict[str, tuple[str, str]]) -> dict[str, str]:
    """Keys by name: ``{"alice": ("acme", "reviewer")}``; tenants are created as needed."""
    engine = make_engine(make_settings(database_url).database)
    from waypost.graphs.plugins import migrate

    migrate(engine)
    store = IdentityStore(make_session_factory(engine))
    known = {t.tenant for t in store.tenants()}
    keys = {}
    for name, (tenant, role) in spec.items():
        if tenant not in known:
            store.create_tenant(tenant)
            known.add(tenant)
        keys[name] = store.create_key(tenant, role, name=name).key
    engine.dispose()
    return keys


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def login(client: httpx.Client, key: str) -> httpx.Response:
    """Log in through the form as a browser would; returns the page it lands on."""
    page = client.get("/console/login")
    token = csrf_of(page.text)
    return client.post(
        "/console/login",
        data={"api_key": key, "csrf_token": token, "next": "/console/approvals"},
        follow_redirects=True,
    )


def start_refund(base: str, key: str | None, **kwargs: Any) -> dict[str, Any]:
    """Start a refund run over the API and wait for it to pause; returns the run's response."""
    headers = {"x-api-key": key} if key else {}
    thread = str(uuid.uuid4())
    with httpx.Client(base_url=base, headers=headers, timeout=30) as api:
        answer = api.post(
            f"/threads/{thread}/runs/wait",
            json={
                "assistant_id": "refund",
                "input": refund_input(**kwargs),
                "if_not_exists": "create",
            },
        )
        assert answer.status_code == 200, answer.text
        pending = api.get("/approvals", params={"status": "pending", "thread_id": thread}).json()
        runs = api.get(f"/threads/{thread}/runs").json()
    assert len(pending) == 1, pending
    return {"thread_id": thread, "approval": pending[0], "run_id": runs[0]["run_id"]}
