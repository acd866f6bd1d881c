"""The price table: USD per million input/output tokens, by ``provider:model`` name.

Built-in list prices (public list prices, checked 2025) for common hosted models; local models
cost 0. ``settings.models.prices`` overrides or extends the table. An unknown model is priced at
0 but flagged ``known=False`` so cost reports can show it instead of silently calling it free.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from waypost.runtime.settings import ModelPrice

__all__ = ["BUILTIN_PRICES", "PriceResult", "lookup_price", "price_usd"]


def _p(inp: float, out: float) -> ModelPrice:
    return ModelPrice(input_per_mtok=inp, output_per_mtok=out)


BUILTIN_PRICES: dict[str, ModelPrice] = {
    "openai:gpt-4o": _p(2.50, 10.00),
    "openai:gpt-4o-mini": _p(0.15, 0.60),
    "openai:gpt-4.1": _p(2.00, 8.00),
    "openai:gpt-4.1-mini": _p(0.40, 1.60),
    "openai:gpt-4.1-nano": _p(0.10, 0.40),
    "openai:gpt-5": _p(1.25, 10.00),
    "openai:gpt-5-mini": _p(0.25, 2.00),
    "openai:gpt-5-nano": _p(0.05, 0.40),
    "openai:o3": _p(2.00, 8.00),
    "openai:o3-mini": _p(1.10, 4.40),
    "openai:o4-mini": _p(1.10, 4.40),
    "anthropic:claude-3-5-haiku": _p(0.80, 4.00),
    "anthropic:claude-3-5-sonnet": _p(3.00, 15.00),
    "anthropic:claude-3-7-sonnet": _p(3.00, 15.00),
    "anthropic:claude-haiku-4-5": _p(1.00, 5.00),
    "anthropic:claude-sonnet-4": _p(3.00, 15.00),
    "anthropic:claude-sonnet-4-5": _p(3.00, 15.00),
    "anthropic:claude-opus-4": _p(15.00, 75.00),
    "anthropic:claude-opus-4-1": _p(15.00, 75.00),
}

# Dated snapshots ("gpt-4o-2024-08-06", "claude-sonnet-4-20250514") and "-latest" aliases share
# the price of their family.
_SNAPSHOT = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{8}|latest)$")


@dataclass(frozen=True)
class PriceResult:
    """The cost of one call; ``known=False`` when the model has no price (usd is then 0)."""

    usd: float
    known: bool
    price: ModelPrice | None


def lookup_price(
    model: str, overrides: Mapping[str, ModelPrice] | None = None
) -> ModelPrice | None:
    """The price for ``model`` (``provider:name``), overrides first; None when unknown."""
    table = {**BUILTIN_PRICES, **(overrides or {})}
    for candidate in (model, _SNAPSHOT.sub("", model)):
        if candidate in table:
            return table[candidate]
    if model.startswith("local:"):
        return ModelPrice(input_per_mtok=0.0, output_per_mtok=0.0)
    return None


def price_usd(
    model: str,
    input_tokens: int,
    output_tokens: int,
    overrides: Mapping[str, ModelPrice] | None = None,
) -> PriceResult:
    """USD for a call with these token counts, flagged when the model's price is unknown."""
    price = lookup_price(model, overrides)
    if price is None:
        return PriceResult(usd=0.0, known=False, price=None)
    usd = (input_tokens * price.input_per_mtok + output_tokens * price.output_per_mtok) / 1e6
    return PriceResult(usd=usd, known=True, price=price)
