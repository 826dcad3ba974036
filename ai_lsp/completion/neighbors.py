"""Snippets from other open buffers: the windows of lines that share the most identifiers
with the code just before the cursor (Jaccard similarity, as Copilot's neighbouring tabs).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from ai_lsp.completion.context import (
    IDENTIFIER,
    OPEN_BUFFERS_ORDER,
    ContextRequest,
    OpenBuffer,
    Snippet,
)

WINDOW_LINES = 20
STEP_LINES = 5
QUERY_LINES = 20
MIN_SCORE = 0.08
MAX_SNIPPETS = 4
_CACHED_BUFFERS = 16
_STOPWORDS = frozenset(
    [
        "self",
        "cls",
        "this",
        "def",
        "return",
        "if",
        "else",
        "elif",
        "for",
        "while",
        "in",
        "not",
        "and",
        "or",
        "is",
        "None",
        "True",
        "False",
        "import",
        "from",
        "as",
        "class",
        "const",
        "let",
        "var",
        "function",
        "fn",
        "pub",
        "func",
        "new",
        "null",
        "true",
        "false",
        "nil",
        "int",
        "str",
        "bool",
        "float",
        "void",
        "string",
        "public",
        "private",
        "static",
        "await",
        "async",
        "try",
        "except",
        "catch",
        "finally",
        "with",
        "pass",
        "break",
        "continue",
        "end",
        "then",
        "do",
        "local",
    ]
)


@dataclass(frozen=True, slots=True)
class _Windows:
    version: int
    lines: list[str]
    starts: list[int]
    sets: list[frozenset[str]]
    """Identifiers of the window starting at line `starts[i]`."""


def _words(text: str) -> set[str]:
    return {w for w in IDENTIFIER.findall(text) if w not in _STOPWORDS and len(w) > 1}


class OpenBuffersProvider:
    """Ranks windows of the other open buffers against the lines before the cursor."""

    name = "open-buffers"

    def __init__(self, max_snippets: int = MAX_SNIPPETS) -> None:
        self.max_snippets = max_snippets
        self._windows: OrderedDict[str, _Windows] = OrderedDict()
        self._lock = threading.Lock()

    def snippets(self, request: ContextRequest) -> Sequence[Snippet]:
        snapshot = request.snapshot
        start = snapshot.text.rfind("\n", 0, snapshot.offset)
        for _ in range(QUERY_LINES - 1):
            if start <= 0:
                break
            start = snapshot.text.rfind("\n", 0, start)
        query = _words(snapshot.text[max(start, 0) : snapshot.offset])
        if not query:
            return []
        scored: list[tuple[float, OpenBuffer, int]] = []
        for buffer in request.buffers:
            if buffer.uri == snapshot.uri:
                continue
            windows = self._windows_of(buffer)
            best, best_at = 0.0, -1
            for index, words in enumerate(windows.sets):
                shared = len(query & words)
                if shared:
                    score = shared / len(query | words)
                    if score > best:
                        best, best_at = score, index
            if best >= MIN_SCORE:
                scored.append((best, buffer, best_at))
        scored.sort(key=lambda item: -item[0])
        picked: list[Snippet] = []
        for score, buffer, index in scored[: self.max_snippets]:
            windows = self._windows_of(buffer)
            first = windows.starts[index]
            text = "\n".join(windows.lines[first : first + WINDOW_LINES])
            picked.append(
                Snippet(self.name, buffer.path, text, score, OPEN_BUFFERS_ORDER, first + 1)
            )
        return picked

    def _windows_of(self, buffer: OpenBuffer) -> _Windows:
        with self._lock:
            cached = self._windows.get(buffer.uri)
            if cached is not None and cached.version == buffer.version:
                self._windows.move_to_end(buffer.uri)
                return cached
        lines = buffer.text.split("\n")
        per_line = [_words(line) for line in lines]
        last = max(len(lines) - WINDOW_LINES, 0)
        starts = list(range(0, last + 1, STEP_LINES))
        if starts[-1] != last:
            starts.append(last)
        sets = [frozenset().union(*per_line[first : first + WINDOW_LINES]) for first in starts]
        windows = _Windows(buffer.version, lines, starts, sets)
        with self._lock:
            self._windows[buffer.uri] = windows
            while len(self._windows) > _CACHED_BUFFERS:
                self._windows.popitem(last=False)
        return windows
