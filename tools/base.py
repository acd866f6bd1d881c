"""The typed tool framework: tools with pydantic arguments, a risk level and a registry.

A tool is a function ``(ctx, args) -> result``. ``ToolRegistry.execute`` validates the raw
arguments the model produced, runs the tool in a database transaction and returns a
``ToolOutcome``; tool errors (not found, invalid state, bad arguments...) come back as outcomes
with their error code, so the graph decides what to do. Side-effecting tools (write,
irreversible) are idempotent per (run id, tool call id): the write and its ``ToolInvocation``
record commit together, and a replayed call returns the recorded outcome without acting again.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Generic, TypeVar, get_type_hints

from pydantic import BaseModel, ConfigDict, TypeAdapter
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy.orm import Session, sessionmaker
from waypost.runtime.errors import ValidationFailed

__all__ = [
    "RiskLevel",
    "Tool",
    "ToolArgs",
    "ToolContext",
    "ToolErrorInfo",
    "ToolOutcome",
    "ToolSpec",
    "tool",
]

A = TypeVar("A", bound=BaseModel)
R = TypeVar("R")


class RiskLevel(StrEnum):
    """How consequential a tool is: reads never need approval, irreversible tools always do."""

    READ = "read"
    WRITE = "write"
    IRREVERSIBLE = "irreversible"


class ToolArgs(BaseModel):
    """Base of tool argument models: unknown arguments are refused rather than ignored."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True, kw_only=True)
class ToolContext:
    """What a tool call may use: the database, the run it belongs to and the tenant."""

    session_factory: sessionmaker[Session]
    run_id: str
    tenant: str | None = None
    session: Session | None = None
    """The transaction of the current call; set by ``ToolRegistry.execute``, not by callers."""

    @property
    def db(self) -> Session:
        """The session of the current call (its transaction is owned by the registry)."""
        if self.session is None:
            raise RuntimeError("a tool's database session exists only inside ToolRegistry.execute")
        return self.session

    def with_session(self, session: Session) -> ToolContext:
        return dataclasses.replace(self, session=session)


@dataclass(frozen=True)
class ToolSpec:
    """The public description of a tool: what a UI, an approval step or a model sees."""

    name: str
    description: str
    risk: RiskLevel
    parameters: dict[str, Any]

    @property
    def side_effects(self) -> bool:
        return self.risk is not RiskLevel.READ

    def openai_schema(self) -> dict[str, Any]:
        """The OpenAI function-calling schema (``{"type": "function", "function": {...}}``)."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
            },
        }


@dataclass(frozen=True, kw_only=True)
class Tool(Generic[A, R]):
    """A named function with typed arguments and result, and a risk level."""

    name: str
    description: str
    args_model: type[A]
    result_type: Any
    risk: RiskLevel
    fn: Callable[[ToolContext, A], R]
    _result_adapter: TypeAdapter[Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_result_adapter", TypeAdapter(self.result_type))

    @property
    def spec(self) -> ToolSpec:
        return ToolSpec(self.name, self.description, self.risk, parameters_schema(self.args_model))

    def validate(self, raw_args: Mapping[str, Any] | None) -> A:
        """The arguments as the typed model; ``ValidationFailed`` says which field is wrong."""
        try:
            return self.args_model.model_validate(dict(raw_args or {}))
        except PydanticValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'arguments'}: {err['msg']}"
                for err in exc.errors()
            )
            raise ValidationFailed(
                f"invalid arguments for {self.name}: {problems}",
                details={
                    "tool": self.name,
                    "errors": exc.errors(include_url=False, include_context=False),
                },
            ) from None

    def dump_result(self, result: R) -> Any:
        """The result as JSON-compatible data (what is recorded and shown to the model)."""
        return self._result_adapter.dump_python(result, mode="json")


def parameters_schema(args_model: type[BaseModel]) -> dict[str, Any]:
    """The JSON schema of an argument model, shaped like OpenAI function parameters."""
    schema = args_model.model_json_schema()
    schema.pop("additionalProperties", None)
    schema["title"] = "parameters"
    return schema


def tool(
    *,
    risk: RiskLevel,
    description: str,
    result: Any,
    name: str | None = None,
) -> Callable[[Callable[[ToolContext, A], R]], Tool[A, R]]:
    """Declare a tool from a function ``(ctx, args: SomeArgs) -> result``.

    The argument model is read from the annotation of the second parameter.
    """

    def wrap(fn: Callable[[ToolContext, A], R]) -> Tool[A, R]:
        hints = get_type_hints(fn)
        params = list(fn.__code__.co_varnames[: fn.__code__.co_argcount])
        if len(params) != 2 or params[1] not in hints:
            raise TypeError(f"tool {fn.__name__} must be (ctx, args: <pydantic model>)")
        return Tool(
            name=name or fn.__name__,
            description=description,
            args_model=hints[params[1]],
            result_type=result,
            risk=risk,
            fn=fn,
        )

    return wrap


class ToolErrorInfo(BaseModel):
    """A tool error as data: its stable code, the message the model may see, retryability."""

    model_config = ConfigDict(frozen=True)

    code: str
    message: str
    retryable: bool = False
    details: dict[str, Any] = {}


class ToolOutcome(BaseModel):
    """The result of executing one tool call: a JSON result or a typed error."""

    model_config = ConfigDict(frozen=True)

    tool_name: str
    tool_call_id: str
    ok: bool
    result: Any = None
    error: ToolErrorInfo | None = None
    replayed: bool = False
    """True when the outcome was recorded by an earlier execution of the same call."""

    @property
    def content(self) -> str:
        """The text for the model's tool message: the result, or ``Error: <message>``."""
        if self.error is not None:
            return f"Error: {self.error.message}"
        if isinstance(self.result, str):
            return self.result
        return json.dumps(self.result)
