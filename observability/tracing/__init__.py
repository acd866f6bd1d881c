"""Langfuse tracing of workflow runs (SDK v5, OTLP export in the background).

``trace_run`` opens one invocation's tracing (same trace across resumes), ``observe_tool_call``
reports tool calls made directly from nodes, ``close_tracing`` flushes with a bound at
shutdown. Off unless Langfuse keys are configured (settings or ``LANGFUSE_*`` variables).
"""

from waypost.observability.tracing._client import LangfuseConfig, close_tracing, resolve_config
from waypost.observability.tracing._masking import make_masker
from waypost.observability.tracing.retrieval import RetrievalObservation, observe_retrieval
from waypost.observability.tracing.run import ApprovalDecision, RunTracing, trace_id_for, trace_run
from waypost.observability.tracing.tools import ToolCallObservation, observe_tool_call

__all__ = [
    "ApprovalDecision",
    "LangfuseConfig",
    "RetrievalObservation",
    "RunTracing",
    "ToolCallObservation",
    "close_tracing",
    "make_masker",
    "observe_retrieval",
    "observe_tool_call",
    "resolve_config",
    "trace_id_for",
    "trace_run",
]
