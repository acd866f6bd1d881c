"""A graph whose middle node acts on the world once per run, for the worker failover test.

``prepare -> charge -> done``. ``charge`` calls the write tool ``record_charge`` through the
idempotent ``ToolRegistry`` with a fixed step id as its tool call id, so the key ``(run id,
"charge")`` is the same when a reaped run is retried on another worker: the retry replays the
recorded result instead of inserting a second ``failover_effects`` row. It sleeps on both sides
of the call so a worker killed mid-run is caught before or after it acted.

The graph reads the database URL from ``WAYPOST_DATABASE__URL`` (as ``waypost worker`` does)
and expects the test to have created the ``failover_effects`` table.
"""

from __future__ import annotations

import functools
import os
import time
from typing import Any, TypedDict

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker
from waypost.runtime.db import sync_url
from waypost.tools import RiskLevel, ToolArgs, ToolContext, ToolRegistry, tool

STEP_ID = "charge"
BEFORE_S = float(os.environ.get("FAILOVER_BEFORE_S", "0.1"))
# After the write and before the checkpoint: the window in which the victim is killed.
AFTER_S = float(os.environ.get("FAILOVER_AFTER_S", "1.0"))


class ChargeArgs(ToolArgs):
    thread_id: str


@tool(risk=RiskLevel.WRITE, description="Record one charge for the thread.", result=dict)
def record_charge(ctx: ToolContext, args: ChargeArgs) -> dict[str, Any]:
    pid = os.getpid()
    ctx.db.execute(
        text("INSERT INTO failover_effects (run_id, thread_id, pid) VALUES (:r, :t, :p)"),
        {"r": ctx.run_id, "t": args.thread_id, "p": pid},
    )
    return {"charged_by": pid}


TOOLS = ToolRegistry([record_charge])


@functools.cache
def _sessions() -> sessionmaker[Session]:
    engine = create_engine(sync_url(os.environ["WAYPOST_DATABASE__URL"]), pool_size=8)
    return sessionmaker(engine, expire_on_commit=False)


class State(TypedDict, total=False):
    n: int
    charged_by: int
    finished_by: int


def prepare(state: State) -> State:
    return {"n": state.get("n", 0)}


def charge(state: State, config: RunnableConfig) -> State:
    configurable = config.get("configurable") or {}
    time.sleep(BEFORE_S)
    outcome = TOOLS.execute(
        "record_charge",
        {"thread_id": configurable["thread_id"]},
        ToolContext(session_factory=_sessions(), run_id=configurable["run_id"]),
        tool_call_id=STEP_ID,
    )
    if not outcome.ok:
        raise RuntimeError(f"charge failed: {outcome.error}")
    time.sleep(AFTER_S)
    return {"charged_by": outcome.result["charged_by"]}


def done(state: State) -> State:
    return {"finished_by": os.getpid()}


builder = StateGraph(State)
builder.add_node("prepare", prepare)
builder.add_node("charge", charge)
builder.add_node("done", done)
builder.add_edge(START, "prepare")
builder.add_edge("prepare", "charge")
builder.add_edge("charge", "done")
builder.add_edge("done", END)
graph = builder.compile()
