"""Upstream queries for chat and agent tools: definitions, hovers, references and diagnostics.

Positions are code-point offsets into the document's text; results are snippets with
1-based lines, so callers never deal with the server's position encoding.
"""

from __future__ import annotations

import re

from lsprotocol import types

from ai_lsp.text import Document
from ai_lsp.upstream.client import UpstreamClient
from ai_lsp.upstream.snippets import (
    ContextSnippet,
    SourceTexts,
    UpstreamSource,
    definition_snippet,
    hover_text,
)
from ai_lsp.upstream.transport import UpstreamError

__all__ = ["definition_of", "diagnostics_for", "hover_at", "references_of"]

_WORD = re.compile(r"\w+")


async def definition_of(
    source: UpstreamSource,
    uri: str,
    offset: int | None = None,
    *,
    symbol: str | None = None,
    language_id: str | None = None,
    limit: int = 5,
) -> list[ContextSnippet]:
    """Definitions of the symbol at `offset` in `uri`, or of the workspace symbol named `symbol`.

    `uri` picks the server (and is the document `offset` points into). Raises `UpstreamError`.
    """
    client = await source.client_for(uri, language_id)
    texts = SourceTexts(source)
    targets: list[types.Location | types.LocationLink] = []
    if symbol is not None:
        for found in await client.workspace_symbols(symbol):
            if found.name == symbol and isinstance(found.location, types.Location):
                targets.append(found.location)
    else:
        document, position = await _position(texts, client, uri, offset or 0)
        symbol = _word_at(document.text, offset or 0)
        targets = await client.definition(uri, position)
    snippets = [await definition_snippet(texts, target, symbol) for target in targets[:limit]]
    return [snippet for snippet in snippets if snippet is not None]


async def hover_at(
    source: UpstreamSource, uri: str, offset: int, *, language_id: str | None = None
) -> str | None:
    """The hover text (signature, type, documentation) at `offset`. Raises `UpstreamError`."""
    client = await source.client_for(uri, language_id)
    _, position = await _position(SourceTexts(source), client, uri, offset)
    return hover_text(await client.hover(uri, position)) or None


async def references_of(
    source: UpstreamSource,
    uri: str,
    offset: int,
    *,
    language_id: str | None = None,
    limit: int = 50,
) -> list[ContextSnippet]:
    """The lines referring to the symbol at `offset`, at most `limit`. Raises `UpstreamError`."""
    client = await source.client_for(uri, language_id)
    texts = SourceTexts(source)
    document, position = await _position(texts, client, uri, offset)
    symbol = _word_at(document.text, offset)
    snippets: list[ContextSnippet] = []
    for location in (await client.references(uri, position))[:limit]:
        lines = await texts.lines(location.uri)
        line = location.range.start.line
        if lines is not None and line < len(lines):
            snippets.append(
                ContextSnippet(
                    texts.display(location.uri),
                    line + 1,
                    line + 1,
                    lines[line].rstrip("\r\n"),
                    symbol,
                    "reference",
                    location.uri,
                )
            )
    return snippets


async def diagnostics_for(
    source: UpstreamSource, uri: str, *, language_id: str | None = None
) -> list[types.Diagnostic]:
    """The server's diagnostics for `uri` (ranges in its encoding). Raises `UpstreamError`."""
    client = await source.client_for(uri, language_id)
    return await client.diagnostics(uri)


async def _position(
    texts: SourceTexts, client: UpstreamClient, uri: str, offset: int
) -> tuple[Document, types.Position]:
    text = await texts.text(uri)
    if text is None:
        raise UpstreamError(f"cannot read {uri}, or it may not be sent to a model")
    document = Document(uri, "", 0, text, encoding=client.encoding)
    return document, document.position_at(offset)


def _word_at(text: str, offset: int) -> str:
    """The identifier around `offset`, or "" when there is none."""
    for match in _WORD.finditer(text, max(offset - 200, 0), offset + 200):
        if match.start() <= offset <= match.end():
            return match[0]
    return ""
