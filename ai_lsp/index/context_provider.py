"""The index as a completion context provider: definitions most likely needed at the cursor.

Runs in the completion service's worker thread; never waits past the request's deadline.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from ai_lsp.completion.context import DEFINITIONS_ORDER, ContextRequest, Snippet

if TYPE_CHECKING:
    from ai_lsp.index.search import Searcher

QUERY_CHARS = 4000
"""How much of the text before the cursor the retrieval query looks at."""
MIN_BUDGET_MS = 5.0


class IndexContextProvider:
    """Cross-file definitions from `Searcher.retrieve_for_cursor`, ranked just below upstream's."""

    name = "index"

    def __init__(self, searcher: Callable[[], Searcher | None], *, top_k: int = 4) -> None:
        self._searcher = searcher
        self._top_k = top_k

    def snippets(self, request: ContextRequest) -> list[Snippet]:
        searcher = self._searcher()
        budget_ms = (request.deadline - time.monotonic()) * 1000
        if searcher is None or budget_ms < MIN_BUDGET_MS:
            return []
        hits = searcher.retrieve_for_cursor(
            request.snapshot.prefix[-QUERY_CHARS:],
            current_path=request.path,
            top_k=self._top_k,
            budget_ms=budget_ms * 0.8,
        )
        return [
            Snippet(
                source=self.name,
                path=hit.path,
                text=hit.text,
                score=0.9 - rank / (2 * len(hits)),
                order=DEFINITIONS_ORDER,
                line=hit.start_line,
            )
            for rank, hit in enumerate(hits)
        ]
