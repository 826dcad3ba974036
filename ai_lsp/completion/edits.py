"""Snippets of recently edited regions: what the user just changed elsewhere is often what
the code at the cursor is about to use."""

from __future__ import annotations

from collections.abc import Sequence

from ai_lsp.completion.context import RECENT_EDITS_ORDER, ContextRequest, Snippet

CONTEXT_LINES = 3
"""Lines shown around an edited region."""
NEAR_CURSOR_LINES = 60
"""Edits this close to the cursor are already in the prompt's prefix or suffix."""
MAX_SNIPPETS = 3
MAX_REGION_LINES = 30


class RecentEditsProvider:
    """The current text around the newest edits, newest first, one snippet per region."""

    name = "recent-edits"

    def __init__(self, max_snippets: int = MAX_SNIPPETS) -> None:
        self.max_snippets = max_snippets

    def snippets(self, request: ContextRequest) -> Sequence[Snippet]:
        snapshot = request.snapshot
        texts = {buffer.uri: (buffer.path, buffer.text) for buffer in request.buffers}
        texts[snapshot.uri] = (request.path, snapshot.text)
        lines_of: dict[str, list[str]] = {}
        taken: list[tuple[str, int, int]] = []
        picked: list[Snippet] = []
        for age, edit in enumerate(reversed(request.edits)):
            if len(picked) >= self.max_snippets:
                break
            found = texts.get(edit.uri)
            if found is None:
                continue  # closed, or kept out of prompts
            if (
                edit.uri == snapshot.uri
                and abs(edit.start_line - snapshot.line) <= NEAR_CURSOR_LINES
            ):
                continue
            path, text = found
            lines = lines_of.setdefault(edit.uri, text.split("\n"))
            first = max(edit.start_line - CONTEXT_LINES, 0)
            span = min(edit.new_text.count("\n"), MAX_REGION_LINES)
            last = min(edit.start_line + span + CONTEXT_LINES + 1, len(lines))
            if first >= last or any(
                uri == edit.uri and first < end and start < last for uri, start, end in taken
            ):
                continue
            taken.append((edit.uri, first, last))
            region = "\n".join(lines[first:last])
            if region.strip():
                score = 0.5 / (1 + age)
                picked.append(
                    Snippet(self.name, path, region, score, RECENT_EDITS_ORDER, first + 1)
                )
        return picked
