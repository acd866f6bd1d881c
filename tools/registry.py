"""``ToolRegistry``: look tools up, describe them, and execute calls idempotently."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session
from waypost.runtime.errors import (
    Conflict,
    NotFound,
    RetryableToolError,
    ToolError,
    ValidationFailed,
    WaypostError,
)
from waypost.runtime.models import ToolInvocation, utcnow
from waypost.tools.base import RiskLevel, Tool, ToolContext, ToolErrorInfo, ToolOutcome, ToolSpec

__all__ = ["ToolRegistry"]

T = TypeVar("T")
AnyTool = Tool[Any, Any]

_ATTEMPTS = 5
_BACKOFF_S = 0.05
# PostgreSQL serialization failure and deadlock: the transaction may simply be run again.
_RETRYABLE_SQLSTATES = {"40001", "40P01"}


class _ToolFailed(Exception):
    def __init__(self, error: WaypostError) -> None:
        super().__init__(error.message)
        self.error = error


def _error_info(error: WaypostError) -> ToolErrorInfo:
    return ToolErrorInfo(
        code=error.code,
        message=error.message,
        retryable=bool(getattr(error, "retryable", False)),
        details=error.details,
    )


def _is_transient(exc: OperationalError) -> bool:
    sqlstate = getattr(exc.orig, "sqlstate", None)
    text = str(exc.orig).lower()
    return sqlstate in _RETRYABLE_SQLSTATES or "locked" in text or "busy" in text


class ToolRegistry:
    """A named set of tools. ``execute`` is the one way tools run inside Waypost."""

    def __init__(self, tools: Iterable[AnyTool] = ()) -> None:
        self._tools: dict[str, AnyTool] = {}
        for t in tools:
            self.register(t)

    def register(self, tool: AnyTool) -> None:
        if tool.name in self._tools:
            raise ValueError(f"tool {tool.name!r} is already registered")
        self._tools[tool.name] = tool

    def get(self, name: str) -> AnyTool:
        """The tool called ``name`` (``NotFound`` listing the known names otherwise)."""
        try:
            return self._tools[name]
        except KeyError:
            known = ", ".join(sorted(self._tools))
            raise NotFound(f"unknown tool {name!r}; known tools: {known}") from None

    def subset(self, names: Iterable[str]) -> ToolRegistry:
        """A registry with only the named tools (e.g. the read tools for a lookup agent)."""
        return ToolRegistry(self.get(n) for n in names)

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __iter__(self) -> Iterator[AnyTool]:
        return iter(self._tools.values())

    def __len__(self) -> int:
        return len(self._tools)

    @property
    def names(self) -> list[str]:
        return list(self._tools)

    def specs(self) -> list[ToolSpec]:
        return [t.spec for t in self._tools.values()]

    def openai_schemas(self) -> list[dict[str, Any]]:
        """OpenAI function schemas of every tool, in registration order."""
        return [spec.openai_schema() for spec in self.specs()]

    def execute(
        self,
        name: str,
        raw_args: Mapping[str, Any] | None,
        ctx: ToolContext,
        tool_call_id: str,
    ) -> ToolOutcome:
        """Validate and run one tool call; typed errors come back as error outcomes.

        Write and irreversible tools are idempotent per ``(ctx.run_id, tool_call_id)``: the
        scope and the call's id (workflows use ``thread/turn`` as the scope). A replay with the
        same arguments returns the recorded outcome; different arguments are a ``Conflict``.
        Unexpected exceptions (bugs) propagate.
        """
        try:
            tool = self.get(name)
        except NotFound as exc:
            return self._failed(name, tool_call_id, ValidationFailed(exc.message))
        try:
            args = tool.validate(raw_args)
        except ValidationFailed as exc:
            return self._failed(name, tool_call_id, exc)
        if tool.risk is RiskLevel.READ:
            return self._retrying(
                tool, tool_call_id, lambda: self._run_read(tool, args, ctx, tool_call_id)
            )
        recorded = self._lookup(ctx, tool_call_id)
        if recorded is not None:
            return self._replay(tool, tool_call_id, recorded, args)
        return self._retrying(
            tool, tool_call_id, lambda: self._run_recorded(tool, args, ctx, tool_call_id)
        )

    # -- running -------------------------------------------------------------------------

    def _run_read(self, tool: AnyTool, args: Any, ctx: ToolContext, call_id: str) -> ToolOutcome:
        with ctx.session_factory() as session:
            try:
                result = tool.fn(ctx.with_session(session), args)
            except (ToolError, ValidationFailed) as exc:
                return self._failed(tool.name, call_id, exc)
            finally:
                session.rollback()  # a read tool never changes anything
            return ToolOutcome(
                tool_name=tool.name, tool_call_id=call_id, ok=True, result=tool.dump_result(result)
            )

    def _run_recorded(
        self, tool: AnyTool, args: Any, ctx: ToolContext, call_id: str
    ) -> ToolOutcome:
        """Claim the call's key, act, and record the result in one transaction."""
        arguments = args.model_dump(mode="json")
        invocation = ToolInvocation(
            run_id=ctx.run_id,
            tool_call_id=call_id,
            tool_name=tool.name,
            arguments=arguments,
            created_at=utcnow(),
        )
        try:
            with ctx.session_factory() as session, session.begin():
                # Inserting first claims the key: a concurrent duplicate waits on (PostgreSQL)
                # or fails at (SQLite) the unique constraint and then reads our record.
                session.add(invocation)
                session.flush()
                try:
                    result = tool.fn(ctx.with_session(session), args)
                except (ToolError, ValidationFailed) as exc:
                    raise _ToolFailed(exc) from exc
                dumped = tool.dump_result(result)
                invocation.result = dumped
        except _ToolFailed as failed:  # the transaction rolled back: nothing was changed
            return self._record_error(tool, ctx, call_id, arguments, failed.error)
        except IntegrityError:
            recorded = self._lookup(ctx, call_id)
            if recorded is None:
                raise
            return self._replay(tool, call_id, recorded, args)
        return ToolOutcome(tool_name=tool.name, tool_call_id=call_id, ok=True, result=dumped)

    def _record_error(
        self,
        tool: AnyTool,
        ctx: ToolContext,
        call_id: str,
        arguments: dict[str, Any],
        error: WaypostError,
    ) -> ToolOutcome:
        info = _error_info(error)
        try:
            with ctx.session_factory() as session, session.begin():
                session.add(
                    ToolInvocation(
                        run_id=ctx.run_id,
                        tool_call_id=call_id,
                        tool_name=tool.name,
                        arguments=arguments,
                        error=info.model_dump(mode="json"),
                        created_at=utcnow(),
                    )
                )
        except IntegrityError:
            recorded = self._lookup(ctx, call_id)
            if recorded is None:
                raise
            return self._replay(tool, call_id, recorded, None)
        return ToolOutcome(tool_name=tool.name, tool_call_id=call_id, ok=False, error=info)

    def _retrying(self, tool: AnyTool, call_id: str, attempt: Callable[[], T]) -> T | ToolOutcome:
        """Run ``attempt`` again on transient database errors (locked SQLite, PG deadlock)."""
        for n in range(_ATTEMPTS):
            try:
                return attempt()
            except OperationalError as exc:
                if not _is_transient(exc):
                    raise
                if n == _ATTEMPTS - 1:
                    return self._failed(
                        tool.name,
                        call_id,
                        RetryableToolError(f"the store is busy, try again ({exc.orig})"),
                    )
                time.sleep(_BACKOFF_S * 2**n)
        raise AssertionError("unreachable")

    # -- records -------------------------------------------------------------------------

    @staticmethod
    def _lookup(ctx: ToolContext, call_id: str) -> ToolInvocation | None:
        with ctx.session_factory() as session:
            return _find_invocation(session, ctx.run_id, call_id)

    @staticmethod
    def _replay(
        tool: AnyTool, call_id: str, recorded: ToolInvocation, args: Any | None
    ) -> ToolOutcome:
        """The recorded outcome of the same call; a different call under the same key is a
        ``Conflict`` outcome, never the other call's success."""
        conflict = None
        if recorded.tool_name != tool.name:
            conflict = Conflict(
                f"tool call {call_id!r} in this scope was already used for {recorded.tool_name!r}",
                details={"recorded_tool": recorded.tool_name},
            )
        elif args is not None and recorded.arguments != args.model_dump(mode="json"):
            conflict = Conflict(
                f"tool call {call_id!r} in this scope was already made with other arguments",
                details={"recorded_arguments": recorded.arguments},
            )
        if conflict is not None:
            return ToolOutcome(
                tool_name=tool.name, tool_call_id=call_id, ok=False, error=_error_info(conflict)
            )
        if recorded.error is not None:
            return ToolOutcome(
                tool_name=tool.name,
                tool_call_id=call_id,
                ok=False,
                error=ToolErrorInfo.model_validate(recorded.error),
                replayed=True,
            )
        return ToolOutcome(
            tool_name=tool.name,
            tool_call_id=call_id,
            ok=True,
            result=recorded.result,
            replayed=True,
        )

    @staticmethod
    def _failed(name: str, call_id: str, error: WaypostError) -> ToolOutcome:
        return ToolOutcome(tool_name=name, tool_call_id=call_id, ok=False, error=_error_info(error))


def _find_invocation(session: Session, run_id: str, call_id: str) -> ToolInvocation | None:
    stmt = select(ToolInvocation).where(
        ToolInvocation.run_id == run_id, ToolInvocation.tool_call_id == call_id
    )
    return session.scalars(stmt).one_or_none()
