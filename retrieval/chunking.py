"""Structure-aware chunking of Markdown-like text.

A document splits at its headings into sections; each chunk carries the heading path it sits
under. Blocks (paragraphs, numbered or bulleted procedures, tables, code fences) are never cut
in the middle unless a single block is longer than the bound, so a procedure or a table stays
whole. Consecutive blocks are packed up to ``max_chars``; the next chunk of the same section
starts with the tail of the previous block (``overlap_chars``) so a sentence at a boundary is
findable from both sides. Chunk ids are stable: document key plus a hash of the chunk's text,
so an unchanged chunk keeps its id (and its embedding) across re-ingests.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Chunk", "chunk_document", "content_hash", "split_blocks"]

_HEADING = re.compile(r"^(#{1,6})\s+(.*\S)\s*$")
_LIST_ITEM = re.compile(r"^\s*(?:\d+[.)]|[-*+])\s+")
_TABLE_ROW = re.compile(r"^\s*\|")


def content_hash(text: str) -> str:
    """SHA-256 of the text (hex): the cache key of its embedding and part of its chunk id."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Chunk:
    chunk_id: str
    ordinal: int
    title: str
    heading: str
    text: str
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def embed_text(self) -> str:
        """What is embedded: the document title and heading path give the chunk its context."""
        head = " > ".join(p for p in (self.title, self.heading) if p)
        return f"{head}\n{self.text}" if head else self.text

    @property
    def content_hash(self) -> str:
        return content_hash(self.embed_text)


def _block_kind(line: str) -> str:
    if _TABLE_ROW.match(line):
        return "table"
    if _LIST_ITEM.match(line):
        return "list"
    return "text"


def split_blocks(text: str) -> list[tuple[str, str]]:
    """(heading path, block) pairs: headings open sections; blank lines end blocks except
    inside a list (a procedure's items and their indented sub-items) or a code fence."""
    path: list[tuple[int, str]] = []
    blocks: list[tuple[str, str]] = []
    current: list[str] = []
    kind = ""
    in_fence = False

    def flush() -> None:
        nonlocal current, kind
        body = "\n".join(current).strip("\n")
        if body.strip():
            blocks.append((" > ".join(t for _, t in path), body))
        current, kind = [], ""

    lines = text.replace("\r\n", "\n").split("\n")
    for i, line in enumerate(lines):
        if line.strip().startswith("```"):
            if not in_fence:
                flush()
            in_fence = not in_fence
            current.append(line)
            if not in_fence:
                flush()
            continue
        if in_fence:
            current.append(line)
            continue
        heading = _HEADING.match(line)
        if heading:
            flush()
            level = len(heading.group(1))
            path = [(lvl, t) for lvl, t in path if lvl < level] + [(level, heading.group(2))]
            continue
        if not line.strip():
            # a list continues over a blank line when the next line is another item or indented
            nxt = next((x for x in lines[i + 1 :] if x.strip()), "")
            if kind == "list" and (_LIST_ITEM.match(nxt) or nxt.startswith((" ", "\t"))):
                current.append(line)
                continue
            flush()
            continue
        line_kind = _block_kind(line)
        continues_list = kind == "list" and line[:1] in " \t"
        if current and kind and line_kind != kind and not continues_list:
            flush()
        if not current:
            kind = line_kind
        current.append(line)
    flush()
    return blocks


def _split_long(block: str, max_chars: int) -> list[str]:
    """A block longer than the bound, cut at line ends, then sentence ends, then spaces."""
    pieces: list[str] = []
    buf = ""
    units = re.split(r"(?<=\n)|(?<=[.!?])\s+", block)
    for unit in units:
        while len(unit) > max_chars:
            cut = unit.rfind(" ", 0, max_chars)
            cut = cut if cut > max_chars // 2 else max_chars
            pieces.append((buf + unit[:cut]).strip()) if buf else pieces.append(unit[:cut].strip())
            buf, unit = "", unit[cut:]
        if len(buf) + len(unit) + 1 > max_chars and buf:
            pieces.append(buf.strip())
            buf = ""
        buf = f"{buf} {unit}" if buf and not buf.endswith("\n") else buf + unit
    if buf.strip():
        pieces.append(buf.strip())
    return [p for p in pieces if p]


def _tail(text: str, overlap: int) -> str:
    if overlap <= 0 or len(text) <= overlap:
        return ""
    cut = text.find(" ", len(text) - overlap)
    return text[cut + 1 :] if cut != -1 else ""


def chunk_document(
    doc_key: str,
    title: str,
    text: str,
    *,
    max_chars: int = 1200,
    overlap_chars: int = 150,
    meta: dict[str, Any] | None = None,
) -> list[Chunk]:
    """The chunks of one document, in order, with stable ids ``{doc_key}#{hash12}``."""
    packed: list[tuple[str, str]] = []
    for heading, block in split_blocks(text):
        parts = [block] if len(block) <= max_chars else _split_long(block, max_chars)
        for part in parts:
            if (
                packed
                and packed[-1][0] == heading
                and (len(packed[-1][1]) + len(part) + 2 <= max_chars)
            ):
                packed[-1] = (heading, packed[-1][1] + "\n\n" + part)
            else:
                overlap = (
                    _tail(packed[-1][1], overlap_chars)
                    if packed and packed[-1][0] == heading
                    else ""
                )
                packed.append((heading, f"{overlap}\n{part}".strip() if overlap else part))
    chunks: list[Chunk] = []
    seen: set[str] = set()
    for ordinal, (heading, body) in enumerate(packed):
        digest = content_hash(f"{heading}\n{body}")[:12]
        chunk_id = f"{doc_key}#{digest}"
        if chunk_id in seen:  # the same text twice in one document
            chunk_id = f"{chunk_id}-{ordinal}"
        seen.add(chunk_id)
        chunks.append(Chunk(chunk_id, ordinal, title, heading, body, dict(meta or {})))
    return chunks
