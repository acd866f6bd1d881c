"""Reading files into documents: Markdown, text, HTML, PDF, and JSONL (``id``/``title``/
``content`` a line). A file that cannot be read gives a per-file error; the rest still load."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, ClassVar

__all__ = ["SUFFIXES", "FileError", "SourceDocument", "iter_documents", "read_file"]

SUFFIXES = {".md", ".markdown", ".txt", ".text", ".html", ".htm", ".pdf", ".jsonl"}


@dataclass(frozen=True)
class SourceDocument:
    key: str  # stable id within the collection: the JSONL id, else the file path
    title: str
    content: str  # Markdown-ish text: headings as ``#`` lines
    source: str = ""
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FileError:
    path: str
    code: str
    message: str


class _HtmlToMarkdown(HTMLParser):
    _BLOCKS: ClassVar[set[str]] = {
        "p",
        "div",
        "section",
        "article",
        "table",
        "ul",
        "ol",
        "br",
        "pre",
        "tr",
    }

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.title = ""
        self._skip = 0
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"script", "style", "noscript"}:
            self._skip += 1
        elif tag == "title":
            self._in_title = True
        elif re.fullmatch(r"h[1-6]", tag):
            self.out.append("\n\n" + "#" * int(tag[1]) + " ")
        elif tag == "li":
            self.out.append("\n- ")
        elif tag in {"td", "th"}:
            self.out.append(" | ")
        elif tag in self._BLOCKS:
            self.out.append("\n\n" if tag not in {"br", "tr"} else "\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style", "noscript"}:
            self._skip = max(0, self._skip - 1)
        elif tag == "title":
            self._in_title = False
        elif re.fullmatch(r"h[1-6]", tag):
            self.out.append("\n\n")

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._in_title:
            self.title += data
            return
        self.out.append(re.sub(r"\s+", " ", data))


def _html(text: str) -> tuple[str, str]:
    parser = _HtmlToMarkdown()
    parser.feed(text)
    parser.close()
    body = re.sub(r"\n{3,}", "\n\n", "".join(parser.out)).strip()
    body = "\n".join(line.strip() for line in body.split("\n"))
    return html.unescape(parser.title.strip()), body


def _pdf(path: Path) -> str:
    from pypdf import PdfReader

    reader = PdfReader(str(path))
    return "\n\n".join((page.extract_text() or "").strip() for page in reader.pages)


def _first_heading(text: str) -> str:
    for line in text.splitlines():
        m = re.match(r"^#{1,6}\s+(.*\S)", line)
        if m:
            return m.group(1)
        if line.strip():
            return line.strip()[:120]
    return ""


def read_file(path: Path, *, key: str | None = None) -> list[SourceDocument]:
    """The documents in one file (several for JSONL). Raises ValueError/OSError on bad input."""
    suffix = path.suffix.lower()
    doc_key = key or path.as_posix()
    if suffix == ".jsonl":
        docs: list[SourceDocument] = []
        with path.open(encoding="utf-8") as handle:
            for n, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise ValueError(f"line {n}: not JSON ({exc.msg})") from None
                if not isinstance(row, dict) or not row.get("id") or "content" not in row:
                    raise ValueError(f"line {n}: needs an object with id and content")
                meta = {k: v for k, v in row.items() if k not in {"id", "title", "content"}}
                docs.append(
                    SourceDocument(
                        key=str(row["id"]),
                        title=str(row.get("title") or ""),
                        content=str(row["content"]),
                        source=path.as_posix(),
                        meta={k: v for k, v in meta.items() if isinstance(v, str | int | float)},
                    )
                )
        return docs
    if suffix == ".pdf":
        text = _pdf(path)
        title = path.stem
    elif suffix in {".html", ".htm"}:
        title, text = _html(path.read_text(encoding="utf-8"))
        title = title or _first_heading(text) or path.stem
    elif suffix in SUFFIXES:
        text = path.read_text(encoding="utf-8")
        title = _first_heading(text) if suffix in {".md", ".markdown"} else path.stem
    else:
        raise ValueError(f"unsupported file type {suffix or '(none)'}")
    if not text.strip():
        raise ValueError("no text in the file")
    return [SourceDocument(doc_key, title or path.stem, text, path.as_posix())]


def _walk(paths: Iterable[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES
            )
        else:
            yield path


def iter_documents(
    paths: Iterable[Path], *, base: Path | None = None
) -> Iterator[SourceDocument | FileError]:
    """Every document under ``paths`` (files and folders, recursively), or a FileError per file
    that could not be read. Keys are paths relative to the folder given (stable across hosts)."""
    for root in paths:
        root_base = root if root.is_dir() else root.parent
        for path in _walk([root]):
            rel = path.relative_to(base or root_base).as_posix()
            try:
                if not path.exists():
                    raise FileNotFoundError("no such file")
                yield from read_file(path, key=rel)
            except UnicodeDecodeError:
                yield FileError(path.as_posix(), "not_utf8", "the file is not UTF-8 text")
            except FileNotFoundError as exc:
                yield FileError(path.as_posix(), "not_found", str(exc))
            except (OSError, ValueError) as exc:
                yield FileError(path.as_posix(), "unreadable", str(exc))
            except Exception as exc:  # a broken PDF raises the parser's own errors
                yield FileError(path.as_posix(), "unreadable", f"{type(exc).__name__}: {exc}")
