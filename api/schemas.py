"""Request bodies of the LangGraph-compatible API.

Every model forbids unknown fields (422 naming them) yet accepts every field the official
``langgraph_sdk`` 0.4.14 sends. Fields the SDK may send but Waypost does not implement are
accepted when empty and refused with a clear 422 when they would change behaviour.
"""

from __future__ import annotations

import re
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from waypost.graphs.kit import Decision, DecisionKind
from waypost.runtime.errors import ValidationFailed
from waypost.server.streaming import SUPPORTED_STREAM_MODES

__all__ = [
    "MAX_OFFSET",
    "AssistantSearch",
    "CancelManyBody",
    "CommandBody",
    "DecisionBody",
    "HistoryBody",
    "RunCreate",
    "StateCheckpointBody",
    "StateUpdateBody",
    "ThreadCreate",
    "ThreadPatch",
    "ThreadSearch",
    "canonical_uuid",
]

MAX_OFFSET = 2**63 - 1  # databases count rows in signed 64-bit integers
MultitaskStrategy = Literal["reject", "interrupt", "rollback", "enqueue"]
# what the official checkpointers accept as a metadata filter key (they raise on anything else)
_FILTER_KEY = re.compile(r"^[A-Za-z0-9_.-]+$")


def canonical_uuid(value: str, what: str) -> str:
    """``value`` as a canonical UUID string; 422 otherwise (the LangGraph API's rule for ids)."""
    try:
        return str(uuid.UUID(value))
    except (ValueError, AttributeError, TypeError):
        raise ValueError(f"{what} must be a UUID") from None


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


_CHECKPOINT_KEYS: dict[str, type | tuple[type, ...]] = {
    "checkpoint_id": str,
    "checkpoint_ns": str,
    "thread_id": str,
    "checkpoint_map": dict,
}


def checkpoint_ref(value: Any) -> Any:
    """A ``{checkpoint_id, checkpoint_ns, checkpoint_map}`` reference with the right types."""
    if isinstance(value, dict):
        for key, kind in _CHECKPOINT_KEYS.items():
            if value.get(key) is not None and not isinstance(value[key], kind):
                raise ValueError(f"checkpoint.{key} must be a {getattr(kind, '__name__', kind)}")
    return value


def _unsupported(field: str, why: str) -> ValidationFailed:
    return ValidationFailed(f"field {field!r} is not supported: {why}", details={"field": field})


class CommandBody(_Body):
    resume: Any = None
    update: dict[str, Any] | list[Any] | None = None
    goto: Any = None


class RunCreate(_Body):
    assistant_id: str
    input: dict[str, Any] | list[Any] | None = None
    command: CommandBody | None = None
    config: dict[str, Any] | None = None
    context: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    stream_mode: str | list[str] = "values"
    stream_subgraphs: bool = False
    stream_resumable: bool = False  # every run is resumable here
    interrupt_before: Literal["*"] | list[str] | None = None
    interrupt_after: Literal["*"] | list[str] | None = None
    feedback_keys: list[str] | None = None  # LangSmith feedback: accepted, ignored
    webhook: str | None = None
    checkpoint: dict[str, Any] | None = None
    checkpoint_id: str | None = None
    checkpoint_during: bool | None = None
    multitask_strategy: MultitaskStrategy = "reject"
    if_not_exists: Literal["create", "reject"] = "reject"
    on_disconnect: Literal["cancel", "continue"] | None = None
    on_completion: Literal["delete", "keep"] | None = None
    after_seconds: int | None = None
    durability: Literal["sync", "async", "exit"] | None = None
    strict_resume: bool | None = None
    langsmith_tracer: dict[str, Any] | None = None  # tracing goes to Langfuse: ignored

    @field_validator("stream_mode")
    @classmethod
    def _known_modes(cls, value: str | list[str]) -> str | list[str]:
        modes = [value] if isinstance(value, str) else value
        unknown = sorted(set(modes) - SUPPORTED_STREAM_MODES)
        if unknown:
            raise ValueError(
                f"unsupported stream_mode {unknown}; supported: {sorted(SUPPORTED_STREAM_MODES)}"
            )
        return value

    _checkpoint = field_validator("checkpoint")(checkpoint_ref)

    @field_validator("webhook")
    @classmethod
    def _http_webhook(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("webhook must be an http(s) URL")
        return value

    @model_validator(mode="after")
    def _check_unsupported(self) -> RunCreate:
        if self.after_seconds:
            raise _unsupported("after_seconds", "delayed runs are not implemented")
        if self.checkpoint and self.checkpoint.get("checkpoint_ns"):
            raise _unsupported("checkpoint.checkpoint_ns", "subgraph checkpoints")
        if self.input is not None and self.command is not None:
            raise ValidationFailed("send either 'input' or 'command', not both")
        return self

    def stream_modes(self) -> list[str]:
        return [self.stream_mode] if isinstance(self.stream_mode, str) else list(self.stream_mode)

    def run_kwargs(self) -> dict[str, Any]:
        """What the executor needs besides input/command/config."""
        checkpoint_id = self.checkpoint_id or (self.checkpoint or {}).get("checkpoint_id")
        kwargs = {
            "stream_mode": self.stream_modes(),
            "stream_subgraphs": self.stream_subgraphs,
            "interrupt_before": self.interrupt_before,
            "interrupt_after": self.interrupt_after,
            "webhook": self.webhook,
            "checkpoint_id": checkpoint_id,
            "context": self.context,
            "durability": self.durability,
        }
        return {k: v for k, v in kwargs.items() if v not in (None, [], False)}


class ThreadCreate(_Body):
    thread_id: str | None = Field(default=None, json_schema_extra={"format": "uuid"})
    metadata: dict[str, Any] | None = None
    if_exists: Literal["raise", "do_nothing"] = "raise"
    supersteps: list[Any] | None = None
    ttl: dict[str, Any] | None = None

    @field_validator("thread_id")
    @classmethod
    def _uuid(cls, value: str | None) -> str | None:
        return None if value is None else canonical_uuid(value, "thread_id")

    @model_validator(mode="after")
    def _check_unsupported(self) -> ThreadCreate:
        if self.supersteps:
            raise _unsupported("supersteps", "create the thread, then POST /threads/{id}/state")
        if self.ttl:
            raise _unsupported("ttl", "thread expiry is not implemented")
        return self


class ThreadPatch(_Body):
    metadata: dict[str, Any] | None = None
    ttl: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _check_unsupported(self) -> ThreadPatch:
        if self.ttl:
            raise _unsupported("ttl", "thread expiry is not implemented")
        return self


class ThreadSearch(_Body):
    limit: int = Field(default=10, ge=1, le=1000)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)
    metadata: dict[str, Any] | None = None
    values: dict[str, Any] | None = None
    ids: list[str] | None = None
    status: Literal["idle", "busy", "interrupted", "error"] | None = None
    sort_by: Literal["thread_id", "status", "created_at", "updated_at"] | None = None
    sort_order: Literal["asc", "desc"] | None = None
    select: list[str] | None = None
    extract: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _check_unsupported(self) -> ThreadSearch:
        if self.extract:
            raise _unsupported("extract", "not implemented")
        return self


class AssistantSearch(_Body):
    limit: int = Field(default=10, ge=1, le=1000)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)
    metadata: dict[str, Any] | None = None
    graph_id: str | None = None
    name: str | None = None
    sort_by: str | None = None
    sort_order: Literal["asc", "desc"] | None = None
    select: list[str] | None = None


class HistoryBody(_Body):
    limit: int = Field(default=10, ge=1, le=1000)
    before: str | dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    checkpoint: dict[str, Any] | None = None
    select: list[str] | None = None

    _checkpoints = field_validator("checkpoint", "before")(checkpoint_ref)

    @field_validator("metadata")
    @classmethod
    def _filter_keys(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        bad = sorted(k for k in value or {} if not _FILTER_KEY.match(k))
        if bad:
            raise ValueError(
                f"metadata filter keys may hold only letters, digits, '_', '.', '-': {bad}"
            )
        return value


class StateUpdateBody(_Body):
    values: dict[str, Any] | list[Any] | None = None
    checkpoint_id: str | None = None
    checkpoint: dict[str, Any] | None = None
    as_node: str | None = None

    _checkpoint = field_validator("checkpoint")(checkpoint_ref)


class StateCheckpointBody(_Body):
    checkpoint: dict[str, Any]
    subgraphs: bool = False
    select: list[str] | None = None

    _checkpoint = field_validator("checkpoint")(checkpoint_ref)


class CancelManyBody(_Body):
    thread_id: str | None = None
    run_ids: list[str] | None = None
    status: Literal["pending", "running", "all"] | None = None


class DecisionBody(_Body):
    """A reviewer's decision (the kit's ``Decision``; the decider is the caller, not a field)."""

    decision: DecisionKind
    comment: str | None = Field(default=None, max_length=4000)
    arguments: dict[str, Any] | None = None
    decided_by: str | None = Field(default=None, max_length=128)

    def to_decision(self, decided_by: str) -> Decision:
        return Decision(
            decision=self.decision,
            comment=self.comment,
            arguments=self.arguments,
            decided_by=decided_by,
        )

    @model_validator(mode="after")
    def _edit_needs_arguments(self) -> DecisionBody:
        if self.decision == "edit" and self.arguments is None:
            raise ValidationFailed("an 'edit' decision needs the edited 'arguments'")
        return self
