"""Context for an edit from the upstream language server: the resolved definitions of the
names used where the edit applies (on the line of its first problem and the lines before it,
else at the end of the region)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from ai_lsp.edits.offers import EditRequest
from ai_lsp.edits.targets import line_span, lines_of

if TYPE_CHECKING:
    from ai_lsp.upstream.manager import UpstreamManager

__all__ = ["UpstreamReferences"]

log = logging.getLogger(__name__)

BUDGET_MS = 2000.0
"""How long an edit waits for the server's answers (the model takes seconds anyway)."""
MAX_TOKENS = 1500


class UpstreamReferences:
    """`References` (see `EditService`) answered by the running upstream servers."""

    def __init__(self, manager: Callable[[], UpstreamManager | None]) -> None:
        self._manager = manager

    async def __call__(
        self, uri: str, text: str, language_id: str, request: EditRequest
    ) -> list[str]:
        from ai_lsp.upstream.provider import references_for_edit

        region = lines_of(text, request.start, request.end)
        # Names are looked for on the line that ends at `offset` and the few lines before it.
        if request.problems:
            row = request.problems[0].last_row
            offset = line_span(text, row, row).end
        else:
            offset = request.end
        if offset > 0 and text[offset - 1] == "\n":
            offset -= 1
        found = await references_for_edit(
            self._manager(),
            uri,
            text,
            offset,
            language_id,
            budget_ms=BUDGET_MS,
            max_tokens=MAX_TOKENS,
        )
        log.debug("%d definitions resolved for an edit of %s", len(found), uri)
        return [
            f"{snippet.path} lines {snippet.start_line}-{snippet.end_line}:\n{snippet.text}"
            for snippet in found
            # The region itself is in the prompt already.
            if not (
                snippet.uri == uri
                and snippet.start_line - 1 <= region.last
                and snippet.end_line - 1 >= region.first
            )
        ]
