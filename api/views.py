"""JSON shapes of the LangGraph API (threads, thread states, assistants), built from our rows."""

from __future__ import annotations

from typing import Any

from waypost.server.models import Thread
from waypost.server.serde import interrupt_json, iso, scrub_text, to_jsonable

__all__ = ["checkpoint_json", "state_json", "thread_json"]


def thread_json(thread: Thread) -> dict[str, Any]:
    """Stored JSON is scrubbed: a row written before input was checked still lists."""
    return {
        "thread_id": scrub_text(thread.thread_id),
        "created_at": iso(thread.created_at),
        "updated_at": iso(thread.updated_at),
        "metadata": scrub_text(thread.meta or {}),
        "status": thread.status,
        "values": scrub_text(thread.values),
        "interrupts": scrub_text(thread.interrupts or {}),
        "config": {},
    }


def checkpoint_json(config: dict[str, Any] | None) -> dict[str, Any] | None:
    if not config:
        return None
    conf = config.get("configurable", {})
    return {
        "thread_id": conf.get("thread_id"),
        "checkpoint_ns": conf.get("checkpoint_ns", ""),
        "checkpoint_id": conf.get("checkpoint_id"),
        "checkpoint_map": conf.get("checkpoint_map"),
    }


def state_json(snapshot: Any) -> dict[str, Any]:
    """A ``StateSnapshot`` as ``ThreadState``."""
    tasks = []
    for task in snapshot.tasks:
        sub = task.state
        tasks.append(
            {
                "id": task.id,
                "name": task.name,
                "error": None if task.error is None else repr(task.error),
                "interrupts": [interrupt_json(i) for i in task.interrupts],
                "checkpoint": checkpoint_json(sub) if isinstance(sub, dict) else None,
                "state": state_json(sub) if sub is not None and not isinstance(sub, dict) else None,
                "result": to_jsonable(getattr(task, "result", None)),
            }
        )
    return {
        "values": to_jsonable(snapshot.values),
        "next": list(snapshot.next),
        "checkpoint": checkpoint_json(snapshot.config),
        "metadata": to_jsonable(snapshot.metadata or {}),
        "created_at": snapshot.created_at,
        "parent_checkpoint": checkpoint_json(snapshot.parent_config),
        "tasks": tasks,
        "interrupts": [interrupt_json(i) for i in snapshot.interrupts],
    }


def empty_state(thread_id: str) -> dict[str, Any]:
    return {
        "values": {},
        "next": [],
        "checkpoint": None,
        "metadata": {},
        "created_at": None,
        "parent_checkpoint": None,
        "tasks": [],
        "interrupts": [],
    }
