"""The retail reply answers product questions from the knowledge collection, with citations."""

from __future__ import annotations

import re

import sqlalchemy as sa
from langgraph.checkpoint.memory import InMemorySaver
from sqlalchemy.orm import Session, sessionmaker
from waypost.domains.retail.graph import RetailGraphConfig, build_retail_graph
from waypost.domains.retail.knowledge import RetailKnowledge, product_questions
from waypost.domains.retail.store_client import StoreClient
from waypost.domains.retail.tools import build_retail_registry
from waypost.retrieval.embeddings import MiniLMEmbedder

QUESTION = "I'm Ada Byron, zip 62701. Which colours does the desk lamp come in, and at what price?"


def _graph(store_factory: sessionmaker[Session]) -> tuple[object, RetailKnowledge]:
    engine = store_factory.kw["bind"]
    knowledge = RetailKnowledge(engine, MiniLMEmbedder())
    graph = build_retail_graph(
        store=StoreClient(build_retail_registry(), store_factory),
        structured=None,
        checkpointer=InMemorySaver(),
        config=RetailGraphConfig(knowledge=knowledge),
    )
    return graph, knowledge


def test_product_question_gets_cited_catalogue_facts(store_factory) -> None:
    graph, _ = _graph(store_factory)
    out = graph.invoke({"message": QUESTION}, {"configurable": {"thread_id": "k1"}})
    reply = out["reply"]
    # the available variants with their options and prices, each cited
    assert "white" in reply and "$100.00" in reply
    assert "black" in reply and "$90.00" in reply
    assert "item 113" not in reply and "113:" not in reply  # red is not available
    cited = re.findall(r"\[(product:100#[0-9a-f]{12})\]", reply)
    assert cited
    assert out["grounding"]["groundedness"] == 1.0
    assert out["grounding"]["unsupported"] == 0
    # the citations are real chunk ids of the knowledge collection
    with store_factory.kw["bind"].connect() as conn:
        ids = set(conn.execute(sa.text("SELECT chunk_id FROM retrieval_chunks")).scalars())
        logged = conn.execute(sa.text("SELECT count(*) FROM retrieval_searches")).scalar_one()
    assert set(cited) <= ids
    assert logged >= 1


def test_second_run_embeds_nothing_new(store_factory) -> None:
    graph, knowledge = _graph(store_factory)
    graph.invoke({"message": QUESTION}, {"configurable": {"thread_id": "k2"}})
    engine = store_factory.kw["bind"]
    with engine.connect() as conn:
        before = conn.execute(sa.text("SELECT count(*) FROM retrieval_embedding_cache")).scalar()
    knowledge._fresh.clear()  # a new process: the catalogue is compared with the stored one
    graph.invoke({"message": QUESTION}, {"configurable": {"thread_id": "k3"}})
    with engine.connect() as conn:
        after = conn.execute(sa.text("SELECT count(*) FROM retrieval_embedding_cache")).scalar()
    assert before == after


def test_questions_about_own_orders_are_not_catalogue_questions() -> None:
    assert product_questions("How many tshirt options are available right now?")
    assert product_questions("You want to know the cheapest available mechanical keyboard.")
    assert not product_questions("What is the status of my order #W0000001?")
    assert not product_questions("Please cancel order #W0000001.")
