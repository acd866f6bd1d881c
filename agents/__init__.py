"""LLM steps: model registry, local offline model, resilience, structured output, usage.

Typical use in a graph node::

    chain = StepModels(primary="local:qwen2.5-coder-0.5b", fallbacks=("openai:gpt-4o-mini",))
    result = invoke_structured(chain.build(settings.models), Decision, messages)
"""

from waypost.agents.registry import ModelInfo, get_chat_model, list_models, parse_model_name
from waypost.agents.resilience import (
    Attempt,
    ChainResult,
    ModelChain,
    NamedModel,
    RetryPolicy,
    call_with_retries,
    to_model_error,
)
from waypost.agents.structured import (
    StepModels,
    StructuredResult,
    TokenUsage,
    ainvoke_structured,
    invoke_structured,
)
from waypost.observability.pricing import PriceResult, lookup_price, price_usd
from waypost.observability.usage import UsageCollector, UsageRecord, UsageTotals

__all__ = [
    "Attempt",
    "ChainResult",
    "ModelChain",
    "ModelInfo",
    "NamedModel",
    "PriceResult",
    "RetryPolicy",
    "StepModels",
    "StructuredResult",
    "TokenUsage",
    "UsageCollector",
    "UsageRecord",
    "UsageTotals",
    "ainvoke_structured",
    "call_with_retries",
    "get_chat_model",
    "invoke_structured",
    "list_models",
    "lookup_price",
    "parse_model_name",
    "price_usd",
    "to_model_error",
]
