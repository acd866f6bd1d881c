"""A third-party graph as users write it for the LangGraph CLI: compiled at import, no saver."""

from __future__ import annotations

import os
from typing import TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt


class State(TypedDict, total=False):
    text: str
    shout: str
    approved: bool


def shout(state: State) -> State:
    return {"shout": state["text"].upper() + os.environ.get("BYO_SUFFIX", "")}


def confirm(state: State) -> State:
    answer = interrupt({"question": f"publish {state['shout']}?"})
    return {"approved": bool(answer)}


builder = StateGraph(State)
builder.add_node("shout", shout)
builder.add_node("confirm", confirm)
builder.add_edge(START, "shout")
builder.add_edge("shout", "confirm")
builder.add_edge("confirm", END)
graph = builder.compile()


def make_graph(config: dict) -> object:
    """A factory, as langgraph.json also allows."""
    return builder.compile()
