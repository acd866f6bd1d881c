"""The workflow the fault suite runs: ask a model, act once on the world, finish.

``think -> act -> done``. ``think`` asks an OpenAI-compatible model (``FAULT_MODEL_URL``) for a
typed answer through Waypost's resilience layer (timeout, bounded retries, re-asks); when every
attempt fails it *degrades*: a safe default answer and the reason, never an exception. ``act``
calls the write tool ``record_effect`` through the idempotent ``ToolRegistry`` with a fixed step
id, so a run retried after a crash replays the recorded result instead of acting twice; the
``fault_effects`` table is the judge of duplicated side effects. ``act`` sleeps
``FAULT_ACT_SLEEP_S`` after acting: the window in which workers are killed.

Loaded from a ``langgraph.json`` by the API and by ``waypost worker`` processes alike; the
database URL comes from ``WAYPOST_DATABASE__URL`` (as ``waypost worker`` reads it).
"""

from __future__ import annotations

import asyncio
import functools
import os
import time
from typing import Any, TypedDict

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from pydantic import BaseModel
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker
from waypost.agents.resilience import ModelChain, NamedModel, RetryPolicy
from waypost.agents.structured import ainvoke_structured
from waypost.runtime.db import sync_url
from waypost.runtime.errors import ModelError
from waypost.tools import RiskLevel, ToolArgs, ToolContext, ToolRegistry, tool

STEP_ID = "act"
EFFECTS_DDL = (
    "CREATE TABLE IF NOT EXISTS fault_effects (run_id VARCHAR(64) NOT NULL, "
    "thread_id VARCHAR(64) NOT NULL, pid INTEGER NOT NULL)"
)


class Verdict(BaseModel):
    label: str
    confidence: float


class EffectArgs(ToolArgs):
    thread_id: str


@tool(risk=RiskLevel.WRITE, description="Record one side effect for the run.", result=dict)
def record_effect(ctx: ToolContext, args: EffectArgs) -> dict[str, Any]:
    ctx.db.execute(
        text("INSERT INTO fault_effects (run_id, thread_id, pid) VALUES (:r, :t, :p)"),
        {"r": ctx.run_id, "t": args.thread_id, "p": os.getpid()},
    )
    return {"acted_by": os.getpid()}


TOOLS = ToolRegistry([record_effect])


def _sessions() -> sessionmaker[Session]:
    return _sessions_for(os.environ["WAYPOST_DATABASE__URL"])


@functools.cache
def _sessions_for(url: str) -> sessionmaker[Session]:
    engine = create_engine(sync_url(url), pool_pre_ping=True)
    return sessionmaker(engine, expire_on_commit=False)


def _chain() -> ModelChain | None:
    base_url = os.environ.get("FAULT_MODEL_URL")
    if not base_url:
        return None
    return _chain_for(base_url, float(os.environ.get("FAULT_MODEL_TIMEOUT_S", "0.5")))


@functools.cache
def _chain_for(base_url: str, timeout: float) -> ModelChain:
    from langchain_openai import ChatOpenAI

    model = ChatOpenAI(
        model="fault-model", base_url=base_url, api_key="not-needed", timeout=timeout, max_retries=0
    )
    policy = RetryPolicy(timeout_s=timeout, max_retries=2, backoff_s=0.02, max_backoff_s=0.1)
    return ModelChain([NamedModel("openai:fault-model", model)], policy=policy)


class State(TypedDict, total=False):
    question: str
    label: str
    degraded: str
    acted_by: int


async def think(state: State) -> State:
    chain = _chain()
    if chain is None:
        return {"label": "no-model"}
    messages = [("user", state.get("question", "classify this"))]
    try:
        result = await ainvoke_structured(chain, Verdict, messages, max_reasks=1)
    except ModelError as exc:  # every attempt failed: a safe default, and why
        return {"label": "needs-human", "degraded": f"{exc.code}: {exc.message}"[:300]}
    return {"label": result.value.label}


def act(state: State, config: RunnableConfig) -> State:
    configurable = config.get("configurable") or {}
    outcome = TOOLS.execute(
        "record_effect",
        {"thread_id": configurable["thread_id"]},
        ToolContext(session_factory=_sessions(), run_id=configurable["run_id"]),
        tool_call_id=STEP_ID,
    )
    if not outcome.ok:
        raise RuntimeError(f"record_effect failed: {outcome.error}")
    time.sleep(float(os.environ.get("FAULT_ACT_SLEEP_S", "0")))
    return {"acted_by": outcome.result["acted_by"]}


async def done(state: State) -> State:
    await asyncio.sleep(0)
    return {}


builder = StateGraph(State)
builder.add_node("think", think)
builder.add_node("act", act)
builder.add_node("done", done)
builder.add_edge(START, "think")
builder.add_edge("think", "act")
builder.add_edge("act", "done")
builder.add_edge("done", END)
graph = builder.compile()
