"""What the Langfuse SDK really sends for a traced run, decoded by a local OTLP/HTTP receiver."""

from __future__ import annotations

import json

import pytest
from sqlalchemy.orm import Session, sessionmaker
from waypost.observability.ledger import run_entries
from waypost.observability.tracing import resolve_config, trace_id_for

from tests.tracing.conftest import (
    MODEL,
    PII_MESSAGE,
    REVIEWER,
    langfuse_for,
    make_settings,
    run_cancel_case,
)
from tests.tracing.otlp_receiver import OtlpReceiver, Span


def _run(receiver: OtlpReceiver, db_factory: sessionmaker[Session]) -> tuple[object, list[Span]]:
    settings = make_settings("sqlite://", langfuse_for(receiver))
    result = run_cancel_case(settings, db_factory, message=PII_MESSAGE)
    assert result.state["status"] == "completed"
    return result, sorted(receiver.spans, key=lambda s: s.start_ns)


def test_one_trace_across_interrupt_and_resume(receiver, db_factory) -> None:
    result, spans = _run(receiver, db_factory)
    trace_id = trace_id_for(result.run_key)
    assert result.trace_ids == [trace_id, trace_id]
    assert result.trace_url == f"{receiver.base_url}/trace/{trace_id}"
    assert {s.trace_id for s in spans} == {trace_id}
    roots = [s for s in spans if s.attributes.get("langfuse.internal.as_root")]
    assert [s.name for s in roots] == [
        "retail_support",
        "approval requested",
        "approval approve",
        "retail_support",
    ]
    # the SDK really spoke OTLP/HTTP with gzip and our Basic credentials
    assert receiver.rejected == 0 and receiver.encodings == {"gzip"}


def test_observation_types_and_trace_attributes(receiver, db_factory) -> None:
    result, spans = _run(receiver, db_factory)
    types = {s.type for s in spans}
    assert {"chain", "generation", "tool", "event"} <= types
    nodes = {s.name for s in spans if s.type == "chain"}
    assert {
        "intake",
        "authenticate",
        "gather",
        "plan",
        "validate",
        "approve",
        "execute",
        "reply",
    } <= nodes
    for span in spans:
        assert span.attributes["session.id"] == result.thread_id
        assert span.attributes["user.id"] == "alice@acme.test"
        assert span.attributes["langfuse.trace.name"] == "retail_support"
        assert {"retail_support", MODEL, "test"} <= set(span.attributes["langfuse.trace.tags"])
        assert span.attributes["langfuse.environment"] == "test"
    # LangChain's plumbing (RunnableSequence, RunnableLambda...) is hidden: generations hang
    # directly under their node
    by_id = {s.span_id: s for s in spans}
    assert not [s for s in spans if s.name.startswith("Runnable")]
    assert [by_id[s.parent_span_id].name for s in spans if s.type == "generation"] == [
        "intake",
        "plan",
    ]
    root = next(s for s in spans if s.name == "retail_support")
    assert json.loads(root.attributes["langfuse.trace.metadata.run_id"]) == result.run_key
    assert json.loads(root.attributes["langfuse.trace.metadata.assistant_id"]) == "retail_support"
    assert json.loads(root.attributes["langfuse.trace.metadata.workflow_version"]) == "1"
    assert json.loads(root.attributes["langfuse.trace.metadata.assistant_version"]) == 3


def test_generations_carry_the_ledger_cost(receiver, db_factory) -> None:
    result, spans = _run(receiver, db_factory)
    generations = [s for s in spans if s.type == "generation"]
    with db_factory() as session:
        rows = [r for r in run_entries(session, result.run_key) if r.kind == "llm"]
    assert len(generations) == len(rows) == 2
    for gen, row in zip(generations, rows, strict=True):
        assert gen.attributes["langfuse.observation.model.name"] == MODEL == row.name
        usage = gen.json_attr("langfuse.observation.usage_details")
        assert usage == {
            "input": row.input_tokens,
            "output": row.output_tokens,
            "total": row.input_tokens + row.output_tokens,
        }
        cost = gen.json_attr("langfuse.observation.cost_details")
        assert cost["total"] == row.usd > 0
        assert cost["input"] == pytest.approx(row.input_tokens * 3.0 / 1e6)
        assert cost["output"] == pytest.approx(row.output_tokens * 15.0 / 1e6)


def test_tools_appear_with_arguments_and_results(receiver, db_factory) -> None:
    _, spans = _run(receiver, db_factory)
    cancel = next(s for s in spans if s.type == "tool" and s.name == "cancel_pending_order")
    assert cancel.json_attr("langfuse.observation.input") == {
        "order_id": "#W0000001",
        "reason": "ordered by mistake",
    }
    output = cancel.json_attr("langfuse.observation.output")
    assert output["status"] == "success"
    assert json.loads(output["content"])["status"] == "cancelled"
    parents = {s.span_id: s for s in spans}
    assert parents[cancel.parent_span_id].name == "execute"


def test_approval_wait_and_decision_are_in_the_trace(receiver, db_factory) -> None:
    _, spans = _run(receiver, db_factory)
    requested = next(s for s in spans if s.name == "approval requested")
    assert requested.json_attr("langfuse.observation.input")["tool"] == "cancel_pending_order"
    decided = next(s for s in spans if s.name == "approval approve")
    meta = {
        k.rsplit(".", 1)[-1]: json.loads(v)
        for k, v in decided.attributes.items()
        if k.startswith("langfuse.observation.metadata.")
    }
    assert meta["decision"] == "approve" and meta["decided_by"] == REVIEWER
    assert meta["waited_s"] >= 0 and meta["decided_at"] >= meta["requested_at"]
    assert decided.json_attr("langfuse.observation.output")["decision"] == "approve"


def test_emails_and_card_numbers_are_masked(receiver, db_factory) -> None:
    _, spans = _run(receiver, db_factory)
    sent = json.dumps([s.attributes for s in spans])
    assert "ada@example.com" not in sent
    assert "4111 1111 1111 1111" not in sent
    assert "[EMAIL]" in sent and "[CARD]" in sent


def test_configured_mask_patterns(receiver, db_factory) -> None:
    settings = make_settings(
        "sqlite://", langfuse_for(receiver, mask_patterns={"order": r"#W\d{7}"})
    )
    run_cancel_case(settings, db_factory)
    sent = json.dumps([s.attributes for s in receiver.spans])
    assert "#W0000001" not in sent and "[ORDER]" in sent


def test_tracing_is_off_without_keys(db_factory) -> None:
    result = run_cancel_case(make_settings("sqlite://"), db_factory)
    assert result.state["status"] == "completed"
    assert result.trace_ids == [None, None] and result.trace_url is None
    with db_factory() as session:
        assert len(run_entries(session, result.run_key)) == 10  # ledger works without Langfuse


def test_config_falls_back_to_langfuse_env() -> None:
    from waypost.runtime.settings import LangfuseSettings

    env = {
        "LANGFUSE_PUBLIC_KEY": "pk",
        "LANGFUSE_SECRET_KEY": "sk",
        "LANGFUSE_BASE_URL": "http://127.0.0.1:3000/",
    }
    config = resolve_config(LangfuseSettings(), env)
    assert config is not None and config.base_url == "http://127.0.0.1:3000"
    assert resolve_config(LangfuseSettings(), {"LANGFUSE_PUBLIC_KEY": "pk"}) is None
