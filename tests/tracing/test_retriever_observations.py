"""A search made by a node is a Langfuse retriever observation under that node, in the run's
trace: decoded from what the SDK really sends to a local OTLP/HTTP receiver."""

from __future__ import annotations

import uuid

from langgraph.checkpoint.memory import InMemorySaver
from waypost.domains.retail.graph import RetailGraphConfig, build_retail_graph
from waypost.domains.retail.knowledge import RetailKnowledge
from waypost.domains.retail.store_client import StoreClient
from waypost.domains.retail.tools import build_retail_registry
from waypost.observability.tracing import trace_id_for, trace_run
from waypost.retrieval.embeddings import HashEmbedder

from tests.tracing.conftest import langfuse_for, make_settings

QUESTION = "I'm Ada Byron, zip 62701. Which colours does the desk lamp come in, and at what price?"


def test_retrieval_is_a_retriever_observation_under_its_node(receiver, db_factory) -> None:
    settings = make_settings("sqlite://", langfuse_for(receiver))
    graph = build_retail_graph(
        store=StoreClient(build_retail_registry(), db_factory),
        structured=None,
        checkpointer=InMemorySaver(),
        config=RetailGraphConfig(knowledge=RetailKnowledge(db_factory.kw["bind"], HashEmbedder())),
    )
    run_key, thread_id = f"run-{uuid.uuid4().hex[:8]}", f"thread-{uuid.uuid4().hex[:8]}"
    with trace_run(
        settings, run_key=run_key, thread_id=thread_id, workflow="retail_support"
    ) as tracing:
        out = graph.invoke(
            {"message": QUESTION}, tracing.config({"configurable": {"thread_id": thread_id}})
        )
        tracing.flush(5.0)
    assert "[product:100#" in out["reply"]
    spans = receiver.spans
    retrievers = [s for s in spans if s.type == "retriever"]
    assert retrievers, sorted({str(s.type) for s in spans})
    trace_id = trace_id_for(run_key)
    assert {s.trace_id for s in retrievers} == {trace_id}
    by_id = {s.span_id: s for s in spans}
    parents = {by_id[s.parent_span_id].name for s in retrievers if s.parent_span_id in by_id}
    assert parents == {"reply"}
    first = retrievers[0]
    assert "desk lamp" in str(first.attributes.get("langfuse.observation.input")).lower()
    output = first.json_attr("langfuse.observation.output")
    chunk_ids = [d["metadata"]["chunk_id"] for d in output]
    assert chunk_ids and all(c.startswith("product:") for c in chunk_ids)
    assert all("score" in d["metadata"] for d in output)
