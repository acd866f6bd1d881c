"""Request bodies of the LangGraph-compatible API.

The thread and run models forbid unknown fields (422 naming them) yet accept every field the
official ``langgraph_sdk`` 0.4.14 sends. Fields the SDK may send but Waypost does not implement
are accepted when empty and refused with a clear 422 when they would change behaviour. The
assistant, cron and store bodies ignore unknown keys instead, as the LangGraph server does.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from waypost.graphs.kit import Decision, DecisionKind
from waypost.runtime.errors import ValidationFailed
from waypost.server.store import run_kwargs
from waypost.server.streaming import SUPPORTED_STREAM_MODES

__all__ = [
    "MAX_OFFSET",
    "AssistantCreate",
    "AssistantLatestBody",
    "AssistantPatch",
    "AssistantSearch",
    "AssistantVersionsBody",
    "CancelManyBody",
    "CommandBody",
    "CronCreate",
    "CronPatch",
    "CronSearch",
    "DecisionBody",
    "HistoryBody",
    "RunCreate",
    "StateCheckpointBody",
    "StateUpdateBody",
    "StoreDeleteBody",
    "StoreNamespacesBody",
    "StorePutBody",
    "StoreSearchBody",
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
        if self.command is not None and self.input in ({}, []):
            # useStream's submit({}, {command}) sends an empty input beside every resume (as
            # the LangGraph server does, the command wins)
            self.input = None
        if self.input is not None and self.command is not None:
            raise ValidationFailed("send either 'input' or 'command', not both")
        return self

    def stream_modes(self) -> list[str]:
        return [self.stream_mode] if isinstance(self.stream_mode, str) else list(self.stream_mode)

    def run_kwargs(self) -> dict[str, Any]:
        """What the executor needs besides input/command/config."""
        checkpoint_id = self.checkpoint_id or (self.checkpoint or {}).get("checkpoint_id")
        return run_kwargs(
            stream_mode=self.stream_modes(),
            stream_subgraphs=self.stream_subgraphs,
            interrupt_before=self.interrupt_before,
            interrupt_after=self.interrupt_after,
            webhook=self.webhook,
            checkpoint_id=checkpoint_id,
            context=self.context,
            durability=self.durability,
        )


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


class _Lenient(BaseModel):
    """Bodies of the endpoints added with assistants, crons and the store: unknown keys are
    ignored, as the LangGraph server ignores them (its OpenAPI schema allows any), so a newer
    SDK that sends one more field keeps working."""

    model_config = ConfigDict(extra="ignore")


class AssistantCreate(_Lenient):
    graph_id: str
    assistant_id: str | None = None
    config: dict[str, Any] | None = None
    context: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    if_exists: Literal["raise", "do_nothing"] = "raise"
    name: str | None = Field(default=None, max_length=256)
    description: str | None = None


class AssistantPatch(_Lenient):
    graph_id: str | None = None
    config: dict[str, Any] | None = None
    context: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    name: str | None = Field(default=None, max_length=256)
    description: str | None = None


class AssistantSearch(_Lenient):
    limit: int = Field(default=10, ge=1, le=1000)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)
    metadata: dict[str, Any] | None = None
    graph_id: str | None = None
    name: str | None = None
    sort_by: Literal["assistant_id", "created_at", "updated_at", "name", "graph_id"] | None = None
    sort_order: str | None = None
    select: list[str] | None = None

    @field_validator("select")
    @classmethod
    def _known_columns(cls, value: list[str] | None) -> list[str] | None:
        from waypost.server.assistants import SELECTABLE

        unknown = sorted(set(value or ()) - SELECTABLE)
        if unknown:
            raise ValueError(f"Invalid select columns: {unknown}; expected {sorted(SELECTABLE)}")
        return value


class AssistantVersionsBody(_Lenient):
    metadata: dict[str, Any] | None = None
    limit: int = Field(default=10, ge=1, le=1000)
    offset: int = Field(default=0, ge=0)


class AssistantLatestBody(_Lenient):
    version: int = Field(ge=1)


class _CronRun(_Lenient):
    """The run a cron starts (as the LangGraph ``CronCreate`` names its fields)."""

    input: dict[str, Any] | list[Any] | None = None
    metadata: dict[str, Any] | None = None
    config: dict[str, Any] | None = None
    context: dict[str, Any] | None = None
    webhook: str | None = None
    interrupt_before: Literal["*"] | list[str] | None = None
    interrupt_after: Literal["*"] | list[str] | None = None
    stream_mode: str | list[str] | None = None
    stream_subgraphs: bool | None = None
    stream_resumable: bool | None = None
    durability: Literal["sync", "async", "exit"] | None = None
    checkpoint_during: bool | None = None
    multitask_strategy: MultitaskStrategy | None = None

    @field_validator("stream_mode")
    @classmethod
    def _known_modes(cls, value: str | list[str] | None) -> str | list[str] | None:
        return None if value is None else RunCreate._known_modes(value)

    @field_validator("webhook")
    @classmethod
    def _http_webhook(cls, value: str | None) -> str | None:
        return RunCreate._http_webhook(value)


class CronCreate(_CronRun):
    schedule: str
    assistant_id: str
    timezone: str | None = None
    end_time: datetime | None = None
    on_run_completed: Literal["delete", "keep"] | None = None
    enabled: bool = True


class CronPatch(_CronRun):
    schedule: str | None = None
    timezone: str | None = None
    end_time: datetime | None = None
    on_run_completed: Literal["delete", "keep"] | None = None
    enabled: bool | None = None

    def changes(self) -> dict[str, Any]:
        """The fields the request named (``end_time: null`` included: it clears the end)."""
        return {k: getattr(self, k) for k in self.model_fields_set}


class CronSearch(_Lenient):
    assistant_id: str | None = None
    thread_id: str | None = None
    enabled: bool | None = None
    metadata: dict[str, Any] | None = None
    limit: int = Field(default=10, ge=1, le=1000)
    offset: int = Field(default=0, ge=0)
    sort_by: (
        Literal[
            "cron_id",
            "assistant_id",
            "thread_id",
            "next_run_date",
            "end_time",
            "created_at",
            "updated_at",
        ]
        | None
    ) = None
    sort_order: str | None = None
    select: list[str] | None = None


class StorePutBody(_Lenient):
    namespace: list[str] | None = None
    key: str = Field(min_length=1)
    value: dict[str, Any]
    index: Literal[False] | list[str] | None = None
    ttl: float | None = Field(default=None, ge=1 / 60, le=10**7, description="Minutes.")


class StoreDeleteBody(_Lenient):
    namespace: list[str] | None = None
    key: str = Field(min_length=1)


class StoreSearchBody(_Lenient):
    namespace_prefix: list[str] | None = None
    filter: dict[str, Any] | None = None
    limit: int = Field(default=10, ge=1, le=1000)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)
    query: str | None = None
    refresh_ttl: bool | None = None

    @field_validator("filter")
    @classmethod
    def _filter_keys(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        # the stores turn keys into JSON paths: anything else is refused, not passed to SQL
        bad = sorted(k for k in value or {} if not _FILTER_KEY.match(k))
        if bad:
            raise ValueError(f"filter keys may hold only letters, digits, '_', '.', '-': {bad}")
        return value


class StoreNamespacesBody(_Lenient):
    prefix: list[str] | None = None
    suffix: list[str] | None = None
    max_depth: int | None = Field(default=None, ge=1)
    limit: int = Field(default=100, ge=1, le=1000)
    offset: int = Field(default=0, ge=0)


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
