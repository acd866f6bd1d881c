"""Grounding: every sentence of an answer is checked against the sources it may rest on.

A claim is what can be wrong: a number (prices, counts, days), an id (``#W123``, ``sku-9``) or
a name (capitalised words not at the start of the sentence). A sentence is supported when every
claim it makes appears in a source it cites (``[chunk-id]``) or, when it cites none, in any of
the run's sources (retrieved chunks and the workflow's own records). Unsupported sentences are
dropped (or flagged); the report carries groundedness (share of claim-bearing sentences that
are supported) and the unsupported count, the scorecard metrics.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["GroundingReport", "SentenceCheck", "check_answer", "claims_of", "split_sentences"]

_CITE = re.compile(r"\s*\[([^\[\]\s]+)\]")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[])")
_NUMBER = re.compile(r"(?<![\w.])\$?\d[\d,]*(?:\.\d+)?%?")
_ID = re.compile(
    r"#?\b(?=[A-Za-z0-9_-]*\d)(?=[A-Za-z0-9_-]*[A-Za-z])[A-Za-z0-9][A-Za-z0-9_-]{2,}\b"
)
_NAME = re.compile(r"(?<!^)(?<![.!?]\s)\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+)*")
_COMMON = frozenset(
    {
        *("I", "The", "A", "An", "It", "This", "That", "We", "You", "Your", "Our"),
        *("Yes", "No", "Please", "Thanks", "Thank", "Done", "USD"),
    }
)


# Citations written after a sentence's full stop ("... $5. [c1] Next ...") belong to it.
_TRAILING_CITES = re.compile(r"([.!?])((?:\s*\[[^\[\]\s]+\])+)")


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text``; a citation after a full stop is moved before it, so it stays
    with the sentence it follows ("costs $5. [c1]" -> "costs $5 [c1].")."""
    text = _TRAILING_CITES.sub(r"\2\1", text.strip())
    return [s.strip() for s in _SENTENCE.split(text) if s.strip()]


def _norm_number(raw: str) -> str:
    value = raw.lstrip("$").rstrip("%").replace(",", "")
    try:
        number = float(value)
    except ValueError:
        return value
    return f"{number:.2f}".rstrip("0").rstrip(".")


def claims_of(sentence: str) -> list[str]:
    """The checkable claims of one sentence (citations removed): numbers, ids, names."""
    body = _CITE.sub("", sentence)
    claims = [f"n:{_norm_number(m)}" for m in _NUMBER.findall(body)]
    for m in _ID.findall(body):
        if not m.lstrip("#").replace(",", "").replace(".", "").isdigit():
            claims.append(f"i:{m.lstrip('#').lower()}")
    for m in _NAME.findall(body):
        if m.split()[0] not in _COMMON:
            claims.append(f"w:{m.lower()}")
    return list(dict.fromkeys(claims))


def _index(text: str) -> tuple[set[str], str]:
    numbers = {_norm_number(m) for m in _NUMBER.findall(text)}
    return numbers, " ".join(text.lower().split())


def _supported(claim: str, numbers: set[str], folded: str) -> bool:
    kind, value = claim.split(":", 1)
    if kind == "n":
        return value in numbers
    return value in folded


@dataclass
class SentenceCheck:
    text: str
    citations: list[str]
    claims: list[str]
    unsupported: list[str]

    @property
    def supported(self) -> bool:
        return not self.unsupported


@dataclass
class GroundingReport:
    answer: str  # the answer with unsupported sentences dropped (or flagged)
    sentences: list[SentenceCheck] = field(default_factory=list)
    unknown_citations: list[str] = field(default_factory=list)

    @property
    def claim_sentences(self) -> list[SentenceCheck]:
        return [s for s in self.sentences if s.claims]

    @property
    def groundedness(self) -> float:
        """Share of claim-bearing sentences that sources support (1.0 when none claims)."""
        claiming = self.claim_sentences
        if not claiming:
            return 1.0
        return sum(1 for s in claiming if s.supported) / len(claiming)

    @property
    def unsupported_count(self) -> int:
        return sum(1 for s in self.sentences if not s.supported)

    @property
    def citations(self) -> list[str]:
        return list(dict.fromkeys(c for s in self.sentences if s.supported for c in s.citations))

    def as_dict(self) -> dict[str, Any]:
        return {
            "answer": self.answer,
            "groundedness": round(self.groundedness, 4),
            "unsupported": self.unsupported_count,
            "citations": self.citations,
            "dropped": [s.text for s in self.sentences if not s.supported],
        }


def check_answer(
    answer: str,
    sources: Mapping[str, str],
    *,
    action: str = "drop",
) -> GroundingReport:
    """Check each sentence of ``answer`` against ``sources`` (id -> text). ``action``: drop
    unsupported sentences, or flag them with ``[unsupported]``."""
    indexed = {sid: _index(text) for sid, text in sources.items()}
    everything = _index("\n".join(sources.values()))
    report = GroundingReport(answer="")
    kept: list[str] = []
    for sentence in split_sentences(answer):
        cited = _CITE.findall(sentence)
        known = [c for c in cited if c in indexed]
        report.unknown_citations.extend(c for c in cited if c not in indexed)
        claims = claims_of(sentence)
        if known:
            numbers = set().union(*(indexed[c][0] for c in known))
            folded = " ".join(indexed[c][1] for c in known)
        else:
            numbers, folded = everything
        missing = [c for c in claims if not _supported(c, numbers, folded)]
        if cited and not known:
            missing = missing or ["citation:" + ",".join(cited)]
        check = SentenceCheck(sentence, known, claims, missing)
        report.sentences.append(check)
        if check.supported:
            kept.append(sentence)
        elif action == "flag":
            kept.append(f"{sentence} [unsupported]")
    report.answer = " ".join(kept)
    return report
