"""Retail workflow over the scripted model, priced, with a ledger database and an OTLP receiver."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command
from sqlalchemy.orm import Session, sessionmaker
from waypost.domains.retail.graph import build_retail_graph
from waypost.domains.retail.store_client import StoreClient
from waypost.domains.retail.tools import build_retail_registry, load_tau2_db
from waypost.domains.retail.workflow import make_structured_call
from waypost.graphs.plugins import migrate
from waypost.observability.ledger import LedgerWriter, RunContext
from waypost.observability.metrics import WaypostMetrics
from waypost.observability.tracing import ApprovalDecision, close_tracing, trace_run
from waypost.observability.usage import UsageCollector
from waypost.runtime.db import make_engine, make_session_factory
from waypost.runtime.models import utcnow
from waypost.runtime.settings import (
    DatabaseSettings,
    LangfuseSettings,
    ModelPrice,
    ModelSettings,
    Settings,
)

from tests.fakes import ScriptedChatModel
from tests.graphs.conftest import CANCEL_INTAKE, CANCEL_MESSAGE, CANCEL_PLAN, TINY_DB
from tests.tracing.otlp_receiver import OtlpReceiver

MODEL = "openai:scripted-mini"
REVIEWER = "reviewer-7"
PRICE = ModelPrice(input_per_mtok=3.0, output_per_mtok=15.0)
# The intake text carries PII that must not reach Langfuse.
PII_MESSAGE = CANCEL_MESSAGE + " Reach me at ada@example.com, card 4111 1111 1111 1111."


def make_settings(db_url: str, langfuse: LangfuseSettings | None = None) -> Settings:
    return Settings(
        env="test",
        database=DatabaseSettings(url=db_url),
        models=ModelSettings(default=MODEL, prices={MODEL: PRICE}),
        langfuse=langfuse or LangfuseSettings(),
        _env_file=None,  # type: ignore[call-arg]
    )


@pytest.fixture
def db_factory(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(DatabaseSettings(url=f"sqlite:///{tmp_path / 'w.db'}"))
    migrate(engine)
    factory = make_session_factory(engine)
    load_tau2_db(factory, copy.deepcopy(TINY_DB))
    yield factory
    engine.dispose()


@pytest.fixture(autouse=True)
def _no_langfuse_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for var in ("LANGFUSE_PUBLIC_KEY", "LANGFUSE_SECRET_KEY", "LANGFUSE_BASE_URL", "LANGFUSE_HOST"):
        monkeypatch.delenv(var, raising=False)
    yield
    close_tracing(2.0)


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    rx = OtlpReceiver(public_key=f"pk-lf-{uuid.uuid4().hex[:12]}", secret_key="sk-lf-test")
    rx.base_url = rx.start()  # type: ignore[attr-defined]
    yield rx
    close_tracing(2.0)
    rx.stop()


def langfuse_for(rx: Any, **extra: Any) -> LangfuseSettings:
    return LangfuseSettings(
        public_key=rx.public_key,
        secret_key=rx.secret_key,
        base_url=rx.base_url,
        environment="test",
        **extra,
    )


def scripted_model() -> ScriptedChatModel:
    return ScriptedChatModel(responses=[CANCEL_INTAKE, CANCEL_PLAN], model_name=MODEL)


@dataclass
class CaseResult:
    state: dict[str, Any]
    run_key: str
    thread_id: str
    trace_ids: list[str | None] = field(default_factory=list)
    trace_url: str | None = None
    writer: LedgerWriter | None = None


def run_cancel_case(
    settings: Settings,
    factory: sessionmaker[Session],
    *,
    metrics: WaypostMetrics | None = None,
    message: str = CANCEL_MESSAGE,
    user_id: str = "alice@acme.test",
    model: ScriptedChatModel | None = None,
    flush_s: float | None = 5.0,
    reset_store: bool = False,
    instrument: bool = True,
) -> CaseResult:
    """The cancel case end to end: run to the approval, approve, resume; traced and ledgered."""
    if reset_store:  # the previous case cancelled the order
        load_tau2_db(factory, copy.deepcopy(TINY_DB), replace=True)
    model = model or scripted_model()
    graph = build_retail_graph(
        store=StoreClient(build_retail_registry(), factory),
        structured=make_structured_call(settings, model_factory=lambda _n: model),
        checkpointer=InMemorySaver(),
    )
    run_key, thread_id = f"run-{uuid.uuid4().hex[:8]}", f"thread-{uuid.uuid4().hex[:8]}"
    writer = LedgerWriter(
        factory,
        RunContext(run_id=run_key, thread_id=thread_id, workflow="retail_support"),
        observers=[metrics.observe_ledger] if metrics else [],
    )
    base = {"configurable": {"thread_id": thread_id}}
    result = CaseResult(state={}, run_key=run_key, thread_id=thread_id, writer=writer)
    collector = UsageCollector(sink=writer, prices=settings.models.prices)
    if not instrument:  # the bare graph: no ledger, metrics or tracing callbacks at all
        graph.invoke({"message": message}, base)
        result.state = graph.invoke(Command(resume={"decision": "approve"}), base)
        return result
    common: dict[str, Any] = dict(
        run_key=run_key,
        thread_id=thread_id,
        workflow="retail_support",
        user_id=user_id,
        assistant="retail_support",
        assistant_version=3,
        version="1",
        ledger=collector,
        metrics=metrics,
    )
    with trace_run(settings, **common) as tracing:
        graph.invoke({"message": message}, tracing.config(base))
        payload = graph.get_state(base).interrupts[0].value
        tracing.approval_requested(payload)
        requested_at = utcnow()
        result.trace_ids.append(tracing.trace_id)
    decision = ApprovalDecision(
        decision="approve",
        decided_by=REVIEWER,
        action=payload,
        requested_at=requested_at,
        decided_at=utcnow(),
    )
    with trace_run(settings, approval=decision, **common) as tracing:
        result.state = graph.invoke(
            Command(resume={"decision": "approve", "decided_by": REVIEWER}), tracing.config(base)
        )
        result.trace_ids.append(tracing.trace_id)
        result.trace_url = tracing.trace_url
        if flush_s is not None:
            tracing.flush(flush_s)
    return result
