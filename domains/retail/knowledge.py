"""The store's knowledge collection and cited answers to product and policy questions.

The policy and the product catalogue (every product's variants: options, price, availability,
and per product the counts and the cheapest and dearest available variant) are ingested into
the tenant's ``retail-knowledge`` collection, incrementally, the first time a run needs it and
again when the catalogue changes. A product question in the customer's message is answered
from the retrieved catalogue chunks with citations; the grounding check then drops any
sentence whose numbers, ids or names no cited chunk contains.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from langchain_core.runnables import RunnableConfig
from sqlalchemy.engine import Engine
from waypost.domains.retail import POLICY_PATH
from waypost.domains.retail.store_client import StoreClient
from waypost.graphs.kit.retrieval import Retriever, grounded_answer
from waypost.graphs.kit.tools import run_tenant
from waypost.retrieval import ensure_collection, ingest_documents
from waypost.retrieval.chunking import content_hash
from waypost.retrieval.embeddings import Embedder
from waypost.retrieval.grounding import GroundingReport
from waypost.retrieval.loaders import SourceDocument
from waypost.retrieval.search import Hit

__all__ = ["COLLECTION", "RetailKnowledge", "catalogue_documents", "product_questions"]

COLLECTION = "retail-knowledge"

_ASKS = re.compile(
    r"\b(how many|how much|which|what|options?|available|cheapest|least expensive|most "
    r"expensive|price|prices|cost|colou?rs?|sizes?|materials?|variants?|in stock)\b",
    re.IGNORECASE,
)
_ABOUT_ORDER = re.compile(r"\b(my|your) (order|orders|refund|address|payment)\b|#W\d", re.I)


def _opts(options: Mapping[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in options.items())


def product_document(product: Mapping[str, Any]) -> SourceDocument:
    """One product as a document: a summary paragraph and its variants table."""
    name = str(product["name"])
    variants = sorted(product.get("variants", {}).values(), key=lambda v: float(v["price"]))
    available = [v for v in variants if v.get("available")]
    joined = re.sub(r"[^A-Za-z0-9]", "", name)
    lines = [
        f"# {name}",
        "",
        *([f"Also written {joined}.", ""] if joined.lower() != name.lower() else []),
        f"The {name} (product {product['product_id']}) has {len(variants)} variants; "
        f"{len(available)} of them are available.",
    ]
    if available:
        low, high = available[0], available[-1]
        lines.append(
            f"Cheapest available {name}: item {low['item_id']} at ${float(low['price']):.2f} "
            f"({_opts(low['options'])})."
        )
        lines.append(
            f"Most expensive available {name}: item {high['item_id']} at "
            f"${float(high['price']):.2f} ({_opts(high['options'])})."
        )
    lines += ["", "| item | options | price | available |", "| --- | --- | --- | --- |"]
    for v in variants:
        lines.append(
            f"| {v['item_id']} | {_opts(v['options'])} | ${float(v['price']):.2f} | "
            f"{'yes' if v.get('available') else 'no'} |"
        )
    return SourceDocument(
        key=f"product:{product['product_id']}",
        title=name,
        content="\n".join(lines),
        source="store catalogue",
        meta={"kind": "product", "product_id": str(product["product_id"])},
    )


def catalogue_documents(store: StoreClient) -> list[SourceDocument]:
    """The policy and every product of the store as documents."""
    docs = [
        SourceDocument(
            "policy",
            "Retail support policy",
            POLICY_PATH.read_text(encoding="utf-8"),
            "policy.md",
            {"kind": "policy"},
        )
    ]
    types: dict[str, str] = store.runner.read("list_all_product_types") or {}
    for product_id in sorted(set(types.values())):
        product = store.product(product_id)
        if product:
            docs.append(product_document(product))
    return docs


def product_questions(message: str) -> list[str]:
    """The sentences of ``message`` that ask about the catalogue (not about the customer's own
    orders): options, prices, availability, counts; each with the sentence before it, which
    often names the product ("... a bamboo skateboard. I want to know all options.")."""
    parts = [p.strip() for p in re.split(r"(?<=[.!?])\s+", message) if p.strip()]
    asked = []
    for i, part in enumerate(parts):
        if (
            _ASKS.search(part)
            and ("?" in part or re.search(r"\b(know|tell|ask|wonder)", part, re.I))
            and not _ABOUT_ORDER.search(part)
        ):
            asked.append(f"{parts[i - 1]} {part}" if i else part)
    return asked


@dataclass
class RetailKnowledge:
    """Answers product questions from the tenant's knowledge collection, with citations."""

    engine: Engine
    embedder: Embedder
    tenant: str = "default"
    k: int = 6
    _fresh: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def refresh(self, store: StoreClient, tenant: str) -> None:
        """Ingest the policy and catalogue when they changed since this process last looked."""
        docs = catalogue_documents(store)
        digest = content_hash("\n".join(f"{d.key}\n{d.content}" for d in docs))
        key = f"{self.engine.url}|{tenant}"
        with self._lock:  # concurrent runs of one process ingest once
            if self._fresh.get(key) == digest:
                return
            coll = ensure_collection(self.engine, tenant, COLLECTION, self.embedder)
            ingest_documents(self.engine, coll, docs, self.embedder, replace=True)
            self._fresh[key] = digest

    def answer(
        self, message: str, store: StoreClient, config: RunnableConfig | None = None
    ) -> GroundingReport | None:
        """A cited, grounded answer to the message's product questions (None: none asked)."""
        questions = product_questions(message)
        if not questions:
            return None
        tenant = run_tenant(config) or self.tenant
        self.refresh(store, tenant)
        retriever = Retriever(
            self.engine,
            self.embedder,
            COLLECTION,
            tenant=tenant,
            k=self.k,
            filters={"kind": "product"},
        )
        sentences: list[str] = []
        hits_seen: list[Hit] = []
        for question in questions:
            hits = retriever(question, config)
            if not hits:
                continue
            product_id = hits[0].meta.get("product_id")
            product = store.product(str(product_id)) if product_id else None
            if not product:
                continue
            own = Retriever(
                self.engine,
                self.embedder,
                COLLECTION,
                tenant=tenant,
                k=20,
                filters={"product_id": str(product_id)},
            )(product["name"], config)
            hits_seen.extend(own)
            sentences.extend(_compose(question, product, own))
        if not sentences:
            return None
        return grounded_answer(" ".join(sentences), hits_seen, abstain=None)


def _cite(hits: list[Hit], *needles: str) -> str:
    for h in hits:
        if all(n in h.text for n in needles):
            return f" [{h.chunk_id}]"
    return f" [{hits[0].chunk_id}]" if hits else ""


def _compose(question: str, product: Mapping[str, Any], hits: list[Hit]) -> list[str]:
    """Sentences answering ``question`` from the product record, each citing the chunk that
    holds its figures. Option words in the question ("bamboo") narrow the variants."""
    name = str(product["name"])
    variants = sorted(product.get("variants", {}).values(), key=lambda v: float(v["price"]))
    available = [v for v in variants if v.get("available")]
    q = question.lower()
    words = set(re.findall(r"[a-z0-9]+", q))
    wanted = [v for v in available if any(str(o).lower() in words for o in v["options"].values())]
    pool = wanted or available
    out: list[str] = []
    if "how many" in q:
        out.append(
            f"The {name} has {len(available)} options available right now "
            f"({len(variants)} variants in all).{_cite(hits, f'{len(variants)} variants')}"
        )
    extremes = (
        ("cheapest", r"cheapest|least expensive|lowest", 0),
        ("most expensive", r"most expensive|dearest|highest", -1),
    )
    for label, pattern, index in extremes:
        if pool and re.search(pattern, q):
            v = pool[index]
            price = f"{float(v['price']):.2f}"
            out.append(
                f"The {label} available {name} is item {v['item_id']} at ${price} "
                f"({_opts(v['options'])}).{_cite(hits, str(v['item_id']), price)}"
            )
    listing = r"\b(options|prices|colou?rs|sizes|materials|variants|all)\b"
    if not out or ("how many" not in q and re.search(listing, q)):
        for v in pool[:12]:
            price = f"{float(v['price']):.2f}"
            out.append(
                f"{name} item {v['item_id']}: {_opts(v['options'])}, ${price}."
                f"{_cite(hits, str(v['item_id']), price)}"
            )
    return out
