"""Waypost's error hierarchy. Every error carries a stable, machine-readable ``code``.

The API maps these to HTTP responses (``api/errors.py``); the CLI prints ``code: message``.
Domain code raises these, never ``HTTPException``.

    WaypostError                      code             http
    ├── ConfigError                   config_error     500
    ├── ValidationFailed              invalid_input    422
    │   ├── InvalidText               invalid_text     422  (NUL or unpaired surrogate: unstorable)
    │   ├── TooManyDocuments          too_many_documents 422 (a batch over the ingest limit)
    │   └── InvalidUpdate             invalid_state_update 422 (values the graph cannot apply)
    ├── NotFound                      not_found        404
    │   └── CheckpointNotFound        checkpoint_not_found 404
    ├── Conflict                      conflict         409
    ├── AuthError                     unauthorized     401
    │   └── Forbidden                 forbidden        403
    ├── RateLimited                   rate_limited     429
    ├── QuotaExceeded                 quota_exceeded   429
    ├── ModelError                    model_error      502
    │   ├── ModelTimeout              model_timeout    504
    │   ├── ProviderError             provider_error   502  (status, retryable)
    │   ├── StructuredOutputError     structured_output_failed 502
    │   └── WeightsError              weights_error    500
    ├── ToolError                     tool_error       400
    │   ├── RetryableToolError        tool_retryable   503
    │   └── TerminalToolError         tool_terminal    400
    │       ├── ToolNotFound          tool_not_found   404  (a referenced record does not exist)
    │       ├── InvalidState          invalid_state    409  (e.g. order is not pending)
    │       └── InsufficientBalance   insufficient_balance 402
    ├── DatabaseError                 database_error   503
    └── NotSupported                  not_supported    501  (a known API feature not served here)

Control-flow signals are not errors and have their own base, as LangGraph's ``GraphBubbleUp``:

    WaypostSignal
    └── ApprovalRequired
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "ApprovalRequired",
    "AuthError",
    "CheckpointNotFound",
    "ConfigError",
    "Conflict",
    "DatabaseError",
    "Forbidden",
    "InsufficientBalance",
    "InvalidState",
    "InvalidText",
    "InvalidUpdate",
    "ModelError",
    "ModelTimeout",
    "NotFound",
    "NotSupported",
    "ProviderError",
    "QuotaExceeded",
    "RateLimited",
    "RetryableToolError",
    "RoutedToCode",
    "StructuredOutputError",
    "TerminalToolError",
    "TooManyDocuments",
    "ToolError",
    "ToolNotFound",
    "ValidationFailed",
    "WaypostError",
    "WaypostSignal",
    "WeightsError",
]


class WaypostError(Exception):
    """Base of every error Waypost raises on purpose."""

    code: ClassVar[str] = "waypost_error"
    http_status: ClassVar[int] = 500

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = details or {}

    def to_dict(self) -> dict[str, Any]:
        """The JSON error body: ``{"code", "message", "details"}``."""
        return {"code": self.code, "message": self.message, "details": self.details}


class ConfigError(WaypostError):
    code = "config_error"


class ValidationFailed(WaypostError):
    code = "invalid_input"
    http_status = 422


class InvalidText(ValidationFailed):
    """Text no database stores faithfully: a NUL character or an unpaired UTF-16 surrogate."""

    code = "invalid_text"


class TooManyDocuments(ValidationFailed):
    """A document batch over the per-request limit: split it (``details.limit``)."""

    code = "too_many_documents"


class InvalidUpdate(ValidationFailed):
    """A state update the graph refuses: unknown node or key, or a value its reducer rejects."""

    code = "invalid_state_update"


class NotFound(WaypostError):
    code = "not_found"
    http_status = 404


class CheckpointNotFound(NotFound):
    """A checkpoint id that the thread never had: answered 404, never run from an empty state."""

    code = "checkpoint_not_found"


class Conflict(WaypostError):
    code = "conflict"
    http_status = 409


class AuthError(WaypostError):
    code = "unauthorized"
    http_status = 401


class Forbidden(AuthError):
    code = "forbidden"
    http_status = 403


class RateLimited(WaypostError):
    code = "rate_limited"
    http_status = 429

    def __init__(self, message: str, *, retry_after_s: float, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after_s = retry_after_s


class QuotaExceeded(WaypostError):
    code = "quota_exceeded"
    http_status = 429


class ModelError(WaypostError):
    """A chat model could not produce a usable answer."""

    code = "model_error"
    http_status = 502
    retryable: bool = False


class RoutedToCode(ModelError):
    """The step's route is ``code``: no model is called and the workflow's code answers.

    Not a failure: a workflow catches it like any ``ModelError`` (its code path runs) and
    records ``usage`` (model ``code``) rather than an error."""

    code = "routed_to_code"

    def __init__(self, message: str, *, usage: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.usage: dict[str, Any] = usage or {}


class ModelTimeout(ModelError):
    code = "model_timeout"
    http_status = 504
    retryable = True


class ProviderError(ModelError):
    """The provider answered with an error (HTTP status when there is one)."""

    code = "provider_error"

    def __init__(
        self, message: str, *, status: int | None = None, retryable: bool = False, **kw: Any
    ) -> None:
        super().__init__(message, **kw)
        self.status = status
        self.retryable = retryable


class StructuredOutputError(ModelError):
    """Every model in the chain failed to return output matching the schema, after re-asks."""

    code = "structured_output_failed"


class WeightsError(ModelError):
    """Local model weights are missing, incomplete or fail their checksum."""

    code = "weights_error"
    http_status = 500


class ToolError(WaypostError):
    """A tool refused or failed. The message is what the model (and the customer) may see."""

    code = "tool_error"
    http_status = 400
    retryable: ClassVar[bool] = False


class RetryableToolError(ToolError):
    code = "tool_retryable"
    http_status = 503
    retryable = True


class TerminalToolError(ToolError):
    code = "tool_terminal"


class ToolNotFound(TerminalToolError):
    code = "tool_not_found"
    http_status = 404


class InvalidState(TerminalToolError):
    code = "invalid_state"
    http_status = 409


class InsufficientBalance(TerminalToolError):
    code = "insufficient_balance"
    http_status = 402


class DatabaseError(WaypostError):
    code = "database_error"
    http_status = 503


class NotSupported(WaypostError):
    """A request Waypost understands but does not serve (e.g. a LangGraph API feature)."""

    code = "not_supported"
    http_status = 501


class WaypostSignal(Exception):
    """Base for control-flow signals that must never be caught as errors."""


class ApprovalRequired(WaypostSignal):
    """A consequential action needs a human decision before it runs."""

    def __init__(self, payload: dict[str, Any]) -> None:
        super().__init__("approval required")
        self.payload = payload
