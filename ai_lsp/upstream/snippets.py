"""Snippets from what the upstream server answers: definition lines read from allowed files,
signatures and types from hovers, fitted into a token budget.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from lsprotocol import types
from pygls.uris import to_fs_path

from ai_lsp.index.denylist import content_problem, is_denied_name
from ai_lsp.index.ignore import OUTSIDE, FileRejected, WorkspaceFilter
from ai_lsp.text import split_lines
from ai_lsp.upstream.client import UpstreamClient

__all__ = [
    "MAX_LINES",
    "ContextSnippet",
    "SnippetKind",
    "SourceTexts",
    "TokenCounter",
    "UpstreamSource",
    "definition_snippet",
    "estimate_tokens",
    "fit",
    "hover_snippet",
    "hover_text",
    "signature_of",
]

MAX_LINES = 40
"""Longest definition excerpt, in lines."""
_CLOSERS = ")]}"
_FENCED = re.compile(r"```[^\n]*\n(.*?)```", re.DOTALL)
_PARAGRAPH_END = re.compile(r"\n\s*(?:-{3,}|\*{3,}|_{3,})?\s*\n")

SnippetKind = Literal["definition", "type", "signature", "reference"]
TokenCounter = Callable[[str], int]


@dataclass(frozen=True, slots=True)
class ContextSnippet:
    """Code the upstream server resolved for a symbol: a definition, a type, a signature."""

    path: str
    """Relative to the workspace root when inside it, else absolute."""
    start_line: int
    """First line, 1-based."""
    end_line: int
    """Last line, 1-based, inclusive."""
    text: str
    symbol: str
    kind: SnippetKind
    uri: str
    source: str = "upstream"


class UpstreamSource(Protocol):
    """Where queries get a server and texts: the manager (a proxy can provide one too)."""

    @property
    def root(self) -> Path: ...

    @property
    def files(self) -> WorkspaceFilter: ...

    def document_text(self, uri: str) -> str | None: ...

    async def client_for(self, uri: str, language_id: str | None = None) -> UpstreamClient: ...


def estimate_tokens(text: str) -> int:
    """A quick token estimate (about four characters per token of code)."""
    return (len(text) + 3) // 4


def fit(
    snippets: Iterable[ContextSnippet], max_tokens: int | None, count_tokens: TokenCounter
) -> list[ContextSnippet]:
    """Distinct snippets in order, skipping those that no longer fit in `max_tokens`."""
    picked: list[ContextSnippet] = []
    seen: set[tuple[str, int, int, str]] = set()
    used = 0
    for snippet in snippets:
        key = (snippet.uri, snippet.start_line, snippet.end_line, snippet.kind)
        if key in seen:
            continue
        cost = count_tokens(snippet.text)
        if max_tokens is not None and used + cost > max_tokens:
            continue
        seen.add(key)
        picked.append(snippet)
        used += cost
    return picked


def hover_text(hover: types.Hover | None) -> str:
    """The contents of a hover as one markdown or plain text."""
    if hover is None:
        return ""
    contents = hover.contents
    parts: Iterable[Any] = (
        contents if isinstance(contents, Sequence) and not isinstance(contents, str) else [contents]
    )
    texts = []
    for part in parts:
        if isinstance(part, types.MarkupContent):
            texts.append(part.value)
        elif isinstance(part, types.MarkedStringWithLanguage):
            texts.append(f"```{part.language}\n{part.value}\n```")
        else:
            texts.append(str(part))
    return "\n\n".join(text.strip() for text in texts if text.strip())


def signature_of(hover: types.Hover | None) -> str:
    """The signature or type a hover starts with: its first code block, else its first paragraph."""
    text = hover_text(hover)
    fenced = _FENCED.search(text)
    head = fenced[1] if fenced else _PARAGRAPH_END.split(text, maxsplit=1)[0]
    return "\n".join(head.strip().splitlines()[:10])


def hover_snippet(
    texts: SourceTexts,
    uri: str,
    position: types.Position,
    symbol: str,
    hover: types.Hover | None,
    kind: SnippetKind,
) -> ContextSnippet | None:
    """The signature or type from a hover, placed at the symbol it was asked for."""
    text = signature_of(hover)
    if not text:
        return None
    line = position.line + 1
    return ContextSnippet(texts.display(uri), line, line, text, symbol, kind, uri)


async def definition_snippet(
    texts: SourceTexts, target: types.Location | types.LocationLink, symbol: str
) -> ContextSnippet | None:
    """The lines of a definition: the server's range when it spans lines, else its indented block.

    None when the file may not be sent to a model or cannot be read.
    """
    if isinstance(target, types.LocationLink):
        uri, range_ = target.target_uri, target.target_range
    else:
        uri, range_ = target.uri, target.range
    lines = await texts.lines(uri)
    start = range_.start.line
    if lines is None or start >= len(lines):
        return None
    end = range_.end.line - (1 if range_.end.character == 0 else 0)
    end = min(end, start + MAX_LINES - 1) if end > start else _block_end(lines, start)
    while start > 0 and lines[start - 1].lstrip().startswith(("@", "#[")):
        start -= 1  # decorators and attributes belong to the definition
    text = "".join(lines[start : end + 1]).rstrip()
    return ContextSnippet(texts.display(uri), start + 1, end + 1, text, symbol, "definition", uri)


def _block_end(lines: Sequence[str], start: int) -> int:
    """Last line (0-based) of the block opened on `start`: the lines indented deeper after it.

    A line at the same indentation that starts with a closing bracket belongs to it (`}` of a
    C-like body, `) -> int:` of a long signature); the block goes on if that line opens one.
    """
    indent = _indent(lines[start])
    end = start
    for index in range(start + 1, min(len(lines), start + MAX_LINES)):
        line = lines[index].rstrip()
        if not line:
            continue
        if _indent(line) > indent:
            end = index
        elif line.lstrip()[0] in _CLOSERS:
            end = index
            if not line.endswith((":", "{")):
                break
        else:
            break
    return end


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


class SourceTexts:
    """Texts of documents and files for one query: the open buffer first, then the disk.

    Only text the index's rules allow to reach a model is returned.
    """

    def __init__(self, source: UpstreamSource) -> None:
        self._source = source
        self._texts: dict[str, str | None] = {}
        self._lines: dict[str, list[str] | None] = {}

    async def text(self, uri: str) -> str | None:
        """The text of `uri`, or None when it is not allowed or not readable."""
        if uri not in self._texts:
            path = to_fs_path(uri) if uri.startswith("file:") else None
            open_text = self._source.document_text(uri)
            self._texts[uri] = (
                None
                if path is None
                else await asyncio.to_thread(
                    _read_allowed, self._source.files, Path(path), open_text
                )
            )
        return self._texts[uri]

    async def lines(self, uri: str) -> list[str] | None:
        """`text(uri)` split into lines with their terminators."""
        if uri not in self._lines:
            text = await self.text(uri)
            self._lines[uri] = None if text is None else split_lines(text)
        return self._lines[uri]

    def display(self, uri: str) -> str:
        """How a snippet names the file: relative inside the workspace, else absolute."""
        path = to_fs_path(uri) if uri.startswith("file:") else None
        if path is None:
            return uri
        relative = os.path.relpath(path, self._source.root)
        return path if relative == ".." or relative.startswith(".." + os.sep) else relative

    def inside_workspace(self, uri: str) -> bool:
        """Whether `uri` is a file under the workspace root."""
        return uri.startswith("file:") and not os.path.isabs(self.display(uri))


def _read_allowed(files: WorkspaceFilter, path: Path, open_text: str | None) -> str | None:
    """The text of `path` if it may go to a model: the index's rules inside the workspace, the
    denylist outside it (library sources); `open_text` is the editor's buffer when open."""
    reason = files.check_path(path)
    if reason is None:
        if open_text is not None:
            return open_text if files.check_text(path, open_text) is None else None
        try:
            return files.read_text(path)
        except FileRejected:
            return None
    if reason != OUTSIDE or any(is_denied_name(part) for part in path.parts):
        return None
    if open_text is not None:
        return open_text
    try:
        if not path.is_file() or path.stat().st_size > files.max_file_bytes:
            return None
        data = path.read_bytes()
    except OSError:
        return None
    if content_problem(data) is not None:
        return None
    return data.decode("utf-8").removeprefix("\ufeff")
