"""What the upstream server resolved, as context: for completions the prefetched definitions
and signatures of the symbols near the cursor, read without waiting for the server; for edits
the same, asked of the server within a budget."""

from __future__ import annotations

import logging
from collections.abc import Callable

from ai_lsp.completion.context import DEFINITIONS_ORDER, ContextRequest, Snippet
from ai_lsp.documents import DocumentSnapshot
from ai_lsp.upstream.context import definitions_near_cursor
from ai_lsp.upstream.manager import UpstreamManager
from ai_lsp.upstream.snippets import ContextSnippet, TokenCounter, estimate_tokens

log = logging.getLogger(__name__)

__all__ = [
    "UPSTREAM_SHARE",
    "UpstreamContextProvider",
    "references_for_edit",
    "upstream_context",
]

UPSTREAM_SHARE = 0.5
"""Part of a request's snippet budget the upstream definitions may take."""


def upstream_context(
    manager: UpstreamManager | None,
    snapshot: DocumentSnapshot,
    max_tokens: int,
    *,
    count_tokens: TokenCounter = estimate_tokens,
) -> list[ContextSnippet]:
    """Resolved definitions (else signatures, types) of the calls and receivers near the
    snapshot's cursor, most relevant first, within `max_tokens`.

    Only what the edits so far prefetched: never waits for the server, and may be called
    from a worker thread. Empty without a manager (no workspace root) or before a prefetch.
    """
    if manager is None:
        return []
    return manager.context.cached_context(
        snapshot.uri, snapshot.text, snapshot.offset, max_tokens, count_tokens=count_tokens
    )


class UpstreamContextProvider:
    """`upstream_context` as a completion `ContextProvider` (snippets ranked above open buffers)."""

    name = "upstream"

    def __init__(self, manager: Callable[[], UpstreamManager | None]) -> None:
        self._manager = manager

    def snippets(self, request: ContextRequest) -> list[Snippet]:
        found = upstream_context(
            self._manager(), request.snapshot, int(request.max_tokens * UPSTREAM_SHARE)
        )
        return [
            Snippet(
                source=self.name,
                path=snippet.path,
                text=snippet.text,
                score=1.0 - index / (2 * len(found)),  # the call around the cursor first
                order=DEFINITIONS_ORDER,
                line=snippet.start_line,
            )
            for index, snippet in enumerate(found)
        ]


async def references_for_edit(
    manager: UpstreamManager | None,
    uri: str,
    text: str,
    offset: int,
    language_id: str,
    *,
    budget_ms: float,
    max_tokens: int,
) -> list[ContextSnippet]:
    """Resolved definitions of the names used around `offset`, asked of the server now (an
    edit takes seconds anyway), within `budget_ms`; empty without a manager or when the
    server's copy of the document is not `text`."""
    if manager is None or manager.document_text(uri) != text:
        log.debug("no upstream context for an edit of %s: no server has this text", uri)
        return []
    return await definitions_near_cursor(
        manager, uri, text, offset, language_id, budget_ms=budget_ms, max_tokens=max_tokens
    )
