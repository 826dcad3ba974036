"""What the upstream server resolved, as completion context: the prefetched definitions and
signatures of the symbols near the cursor, read without waiting for the server."""

from __future__ import annotations

from collections.abc import Callable

from ai_lsp.completion.context import DEFINITIONS_ORDER, ContextRequest, Snippet
from ai_lsp.documents import DocumentSnapshot
from ai_lsp.upstream.manager import UpstreamManager
from ai_lsp.upstream.snippets import ContextSnippet, TokenCounter, estimate_tokens

__all__ = ["UPSTREAM_SHARE", "UpstreamContextProvider", "upstream_context"]

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
