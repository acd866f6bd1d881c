"""Masking of secrets and PII before anything leaves for Langfuse (the client's ``mask=``).

Langfuse calls the mask on every observation's input, output and metadata, which may be
LangChain messages, pydantic models or LangGraph commands; they are first turned into plain
JSON (Langfuse's own serializer, so nothing is sent unmasked by a later serialization), then
every string is scrubbed with the configured patterns and every value under a secret-looking
key (``api_key``, ``password``...) is replaced.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from langfuse._utils.serializer import EventSerializer
from langfuse.types import MaskOtelSpansParams, MaskOtelSpansResult, OtelSpanPatch

__all__ = [
    "DEFAULT_MASK_KEYS",
    "DEFAULT_MASK_PATTERNS",
    "Masker",
    "make_masker",
    "make_span_masker",
]

# name -> regex; the match is replaced by "[NAME]".
DEFAULT_MASK_PATTERNS: dict[str, str] = {
    "email": r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}",
    # 13-19 digits, optionally grouped by spaces or dashes (Visa, Mastercard, Amex...).
    "card": r"\b(?:\d[ -]?){12,18}\d\b",
    "bearer": r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{8,}",
    "api_key": r"\b(?:sk|pk|rk)-[A-Za-z0-9_-]{8,}",
}
# dict keys whose values are always replaced, whatever they look like: case-insensitive,
# the whole key or one of its ``_``/``-`` separated ends ("openai_api_key", "X-Authorization",
# "secret_key"), so "input_tokens" or "max_tokens" stay visible.
DEFAULT_MASK_KEYS: tuple[str, ...] = (
    "password",
    "secret",
    "api_key",
    "apikey",
    "token",
    "authorization",
    "cookie",
)
_REDACTED = "[REDACTED]"

Masker = Callable[..., Any]


def make_masker(
    patterns: Mapping[str, str] | None = None,
    keys: Iterable[str] | None = None,
    *,
    defaults: bool = True,
) -> Masker:
    """A Langfuse ``mask`` function: ``mask(data=...) -> masked JSON-able data``.

    ``patterns`` (name -> regex) extend or override the defaults; ``keys`` extend the secret
    key names. ``defaults=False`` uses only what is given.
    """
    table = {**(DEFAULT_MASK_PATTERNS if defaults else {}), **(patterns or {})}
    table = {name: rx for name, rx in table.items() if rx}
    # one alternation, one scan per string (it runs on every string of every observation)
    combined = (
        re.compile("|".join(f"(?P<_m{i}>{_scoped(rx)})" for i, rx in enumerate(table.values())))
        if table
        else None
    )
    labels = {f"_m{i}": f"[{name.upper()}]" for i, name in enumerate(table)}
    secret_keys = tuple(
        k.lower() for k in (*(DEFAULT_MASK_KEYS if defaults else ()), *(keys or ()))
    )

    def label(match: re.Match[str]) -> str:
        for group, found in match.groupdict().items():
            if found is not None and group in labels:
                return labels[group]
        return "[MASKED]"

    def scrub(text: str) -> str:
        return combined.sub(label, text) if combined is not None else text

    def walk(value: Any) -> Any:
        if isinstance(value, str):
            return scrub(value)
        if isinstance(value, dict):  # keys too: {"#W0000001": {...}}, {"ada@x.org": ...}
            return {
                (scrub(k) if isinstance(k, str) else k): (
                    _REDACTED
                    if isinstance(k, str) and _is_secret(k, secret_keys) and v
                    else walk(v)
                )
                for k, v in value.items()
            }
        if isinstance(value, list | tuple | set | frozenset):
            return [walk(v) for v in value]
        if value is None or isinstance(value, bool | int | float):
            return value
        return walk(EventSerializer().default(value))

    def mask(*, data: Any, **_: Any) -> Any:
        if data is None or isinstance(data, bool | int | float):
            return data
        if isinstance(data, str):
            return scrub(data)
        try:  # messages, pydantic models, commands... -> plain JSON values, as the SDK would
            plain = data if isinstance(data, dict | list) else EventSerializer().default(data)
        except Exception:
            return scrub(str(data))
        return walk(plain)

    mask.scrub = scrub  # type: ignore[attr-defined]  # plain-text scrubbing for span hooks
    return mask


def make_span_masker(masker: Masker) -> Callable[..., MaskOtelSpansResult | None]:
    """An export-stage ``mask_otel_spans`` hook: scrubs the attributes ``mask=`` never sees.

    The SDK masks input, output and metadata, but writes status messages (e.g. the repr of a
    LangGraph ``Interrupt`` with the pending action's arguments) as they are. This runs on the
    exporter's background thread, not on the run.
    """
    scrub: Callable[[str], str] = masker.scrub  # type: ignore[attr-defined]

    def mask_otel_spans(*, params: MaskOtelSpansParams) -> MaskOtelSpansResult | None:
        patches: dict[Any, OtelSpanPatch] = {}
        for ident, span in params.spans.items():
            changed = {
                key: scrub(value)
                for key in _RAW_TEXT_ATTRIBUTES
                if isinstance(value := span.attributes.get(key), str) and scrub(value) != value
            }
            if changed:
                patches[ident] = OtelSpanPatch(set_attributes=changed)
        return MaskOtelSpansResult(span_patches=patches) if patches else None

    return mask_otel_spans


_RAW_TEXT_ATTRIBUTES = ("langfuse.observation.status_message",)


def _scoped(rx: str) -> str:
    """``(?i)abc`` -> ``(?i:abc)``: global flags are not allowed inside an alternation."""
    found = re.match(r"\(\?([aiLmsux]+)\)", rx)
    return f"(?{found.group(1)}:{rx[found.end() :]})" if found else rx


def _is_secret(key: str, secret_keys: tuple[str, ...]) -> bool:
    low = key.lower().replace("-", "_")
    return any(low == s or low.endswith("_" + s) or low.startswith(s + "_") for s in secret_keys)
