"""Threads are conversations: every run on a thread is a turn.

A turn starts when a run brings new input (not when it resumes from an approval) and gets an id
that is kept in state, so a crash replay of the run reuses it and a later run gets a new one.
Side effects are keyed by (thread, turn, call): a replay repeats nothing, a new turn acts afresh.

Lists that describe one turn (what was executed, what was decided) use the ``per_turn`` reducer
and start empty at each turn; ``messages`` accumulates the whole conversation, as chat UIs
expect (LangGraph's ``add_messages``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Annotated, Any

from langchain_core.messages import AIMessage, AnyMessage, BaseMessage, HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.graph.message import add_messages
from typing_extensions import TypedDict

__all__ = [
    "TURN_RESET",
    "ConversationState",
    "begin_turn",
    "end_turn",
    "message_text",
    "per_turn",
    "reset",
    "turn_scope",
]

TURN_RESET = "__turn_reset__"


def per_turn(left: list[Any] | None, right: list[Any] | None) -> list[Any]:
    """Append, unless the update starts with ``TURN_RESET``: then it replaces the list."""
    if right and isinstance(right[0], str) and right[0] == TURN_RESET:
        return list(right[1:])
    return [*(left or []), *(right or [])]


def reset(items: Sequence[Any] = ()) -> list[Any]:
    """An update that starts a ``per_turn`` list afresh (with ``items``)."""
    return [TURN_RESET, *items]


class ConversationState(TypedDict, total=False):
    """The keys every conversational workflow shares (extend it with the domain's own)."""

    message: str | None  # a turn's input as plain text (cleared when the turn ends)
    messages: Annotated[list[AnyMessage], add_messages]
    turn_id: str
    turn: int  # how many turns the thread has had
    turn_start: int  # index in ``messages`` where the current turn's input starts


def message_text(message: BaseMessage) -> str:
    content = message.content
    if isinstance(content, str):
        return content
    return " ".join(
        str(part.get("text", "")) if isinstance(part, dict) else str(part) for part in content
    ).strip()


def begin_turn(state: ConversationState, config: RunnableConfig) -> dict[str, Any]:
    """The update that opens a turn: its id, and the customer's new words in ``messages``.

    The turn id is the run's id when the server runs it (so a retry of the run after a crash,
    which replays this node only if it never checkpointed, gets the same one), else a new uuid.
    Input may come as ``message`` (text) or as new ``messages`` (what chat UIs send).
    """
    configurable = config.get("configurable") or {}
    turn_id = str(configurable.get("run_id") or uuid.uuid4())
    messages = list(state.get("messages") or [])
    start = min(int(state.get("turn_start") or 0), len(messages))
    new_human = [m for m in messages[start:] if isinstance(m, HumanMessage)]
    update: dict[str, Any] = {"turn_id": turn_id, "turn": int(state.get("turn") or 0) + 1}
    text = (state.get("message") or "").strip()
    if text and not any(message_text(m) == text for m in new_human):
        update["messages"] = [HumanMessage(text, id=f"human-{turn_id}")]
        new_human.append(update["messages"][0])
    update["message"] = "\n".join(message_text(m) for m in new_human)
    return update


def end_turn(state: ConversationState, reply: str) -> dict[str, Any]:
    """The update that closes a turn: the reply as an AI message; the next input starts after."""
    turn_id = state.get("turn_id") or uuid.uuid4().hex
    count = len(state.get("messages") or [])
    return {
        "messages": [AIMessage(reply, id=f"ai-{turn_id}")],
        "turn_start": count + 1,
        "message": None,
    }


def turn_scope(state: ConversationState, config: RunnableConfig) -> str:
    """The idempotency scope of the current turn's side effects: ``thread/turn``."""
    thread = str((config.get("configurable") or {}).get("thread_id") or "local")
    return f"{thread}/{state.get('turn_id') or 'turn'}"
