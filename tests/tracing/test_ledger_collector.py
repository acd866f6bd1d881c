"""A UsageCollector with a ledger sink: failed calls, unpriced models and tool errors become
honest ledger rows."""

from __future__ import annotations

import asyncio

import pytest
from langchain_core.runnables import RunnableLambda
from langgraph.types import Command
from sqlalchemy.orm import Session, sessionmaker
from waypost.observability.ledger import (
    LedgerEvent,
    LedgerWriter,
    RunContext,
    run_entries,
    run_totals,
)
from waypost.observability.tracing import observe_tool_call, trace_run
from waypost.observability.tracing._handler import generation_details
from waypost.observability.usage import UsageCollector

from tests.fakes import Fault, scripted
from tests.tracing.conftest import MODEL, langfuse_for, make_settings


class Sink(list[LedgerEvent]):
    def record(self, event: LedgerEvent) -> None:
        self.append(event)


def test_failed_llm_call_is_an_error_row_with_its_code() -> None:
    sink = Sink()
    model = scripted(Fault.BAD_REQUEST, name=MODEL)
    with pytest.raises(Exception, match="bad request"):
        model.invoke(
            "hi",
            config={
                "callbacks": [UsageCollector(sink=sink)],
                "metadata": {"langgraph_node": "plan"},
            },
        )
    (event,) = sink
    assert (event.kind, event.name, event.node, event.status, event.error_code) == (
        "llm",
        MODEL,
        "plan",
        "error",
        "provider_error",
    )
    assert event.usd == 0 and event.input_tokens == 0


def test_unknown_model_is_flagged_not_free() -> None:
    sink = Sink()
    collector = UsageCollector(sink=sink)
    scripted("hello there", name="openai:mystery-model").invoke(
        "hi", config={"callbacks": [collector]}
    )
    (event,) = sink
    assert event.price_known is False and event.usd == 0 and event.output_tokens > 0
    assert collector.totals().all_priced is False
    details = generation_details(collector.priced(event.name, 10, 5))
    assert "cost_details" not in details and details["metadata"] == {"price_known": False}


def test_tool_errors_and_outside_a_run(db_factory: sessionmaker[Session]) -> None:
    sink = Sink()

    def node(_: object) -> str:
        with observe_tool_call("refund", {"order_id": "#W1"}) as obs:
            obs.finish(None, error_code="invalid_state", error_message="not delivered")
        with observe_tool_call("lookup", {"q": 1}) as obs:
            obs.finish({"ok": 1})
        return "done"

    RunnableLambda(node).invoke(None, config={"callbacks": [UsageCollector(sink=sink)]})
    assert [(e.name, e.status, e.error_code) for e in sink] == [
        ("refund", "error", "invalid_state"),
        ("lookup", "ok", None),
    ]
    with observe_tool_call("lookup", {}) as obs:  # no run in context: a no-op
        obs.finish(1)

    writer = LedgerWriter(db_factory, RunContext(run_id="r1", workflow="w"))
    for event in sink:
        writer.record(event)
    with db_factory() as session:
        totals = run_totals(session, "r1")
        assert [r.status for r in run_entries(session, "r1")] == ["error", "ok"]
    assert (totals.tool_calls, totals.errors, totals.llm_calls) == (2, 1, 0)


def test_ledger_write_failure_does_not_break_the_run() -> None:
    def broken() -> Session:
        raise RuntimeError("database is gone")

    seen: list[str] = []
    writer = LedgerWriter(
        broken,
        RunContext(run_id="r"),  # type: ignore[arg-type]
        observers=[lambda ctx, e: seen.append(e.name)],
    )
    writer.record(LedgerEvent(kind="tool", name="t"))
    assert seen == ["t"] and len(writer.events) == 1


async def test_async_invocations_share_one_trace(receiver, db_factory) -> None:
    from langgraph.checkpoint.memory import InMemorySaver
    from waypost.domains.retail.graph import build_retail_graph
    from waypost.domains.retail.store_client import StoreClient
    from waypost.domains.retail.tools import build_retail_registry
    from waypost.domains.retail.workflow import make_structured_call

    from tests.graphs.conftest import CANCEL_MESSAGE
    from tests.tracing.conftest import scripted_model

    settings = make_settings("sqlite://", langfuse_for(receiver))
    model = scripted_model()
    graph = build_retail_graph(
        store=StoreClient(build_retail_registry(), db_factory),
        structured=make_structured_call(settings, model_factory=lambda _n: model),
        checkpointer=InMemorySaver(),
    )
    base = {"configurable": {"thread_id": "t-async"}}
    collector = UsageCollector(
        sink=LedgerWriter(db_factory, RunContext(run_id="r-async")), prices=settings.models.prices
    )
    common = dict(
        run_key="r-async", thread_id="t-async", workflow="retail_support", ledger=collector
    )
    with trace_run(settings, **common) as tracing:
        await graph.ainvoke({"message": CANCEL_MESSAGE}, tracing.config(base))
    with trace_run(settings, **common) as tracing:
        out = await graph.ainvoke(Command(resume="approve"), tracing.config(base))
        await asyncio.to_thread(tracing.flush, 5.0)
    assert out["status"] == "completed"
    assert {s.trace_id for s in receiver.spans} == {tracing.trace_id}
    assert sum(s.type == "generation" for s in receiver.spans) == 2
    with db_factory() as session:
        assert run_totals(session, "r-async").llm_calls == 2
