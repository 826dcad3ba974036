"""Upstream knowledge as completion context: definitions and types of the symbols near the cursor.

`definitions_near_cursor` asks within a latency budget; `ContextCache` prefetches after edits
so that a completion reads the results without waiting for the server.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from lsprotocol import types

from ai_lsp.text import Document, common_affixes
from ai_lsp.upstream.client import UpstreamClient
from ai_lsp.upstream.snippets import (
    ContextSnippet,
    SourceTexts,
    TokenCounter,
    UpstreamSource,
    definition_snippet,
    estimate_tokens,
    fit,
    hover_snippet,
)
from ai_lsp.upstream.transport import UpstreamError

__all__ = [
    "ContextCache",
    "ContextSnippet",
    "UpstreamSource",
    "Usage",
    "definitions_near_cursor",
    "identifiers_near",
]

log = logging.getLogger(__name__)

_CALL = re.compile(r"([^\W\d]\w*)\s*\(")
_RECEIVER = re.compile(r"([^\W\d]\w*)\s*(?:\.|->|::)(?!\d)")
_NAME_AT_END = re.compile(r"([^\W\d]\w*)\s*$")
_OPENERS, _CLOSERS = "([{", ")]}"
# Keywords, and names whose definition says nothing new (`self`, `print`).
_SKIP = frozenset(
    {
        *("if", "elif", "else", "for", "while", "return", "def", "class", "fn", "func"),
        *("function", "let", "const", "var", "new", "match", "switch", "case", "not", "and"),
        *("or", "in", "is", "lambda", "await", "async", "yield", "import", "from", "with"),
        *("assert", "del", "raise", "try", "except", "catch", "finally", "sizeof", "typeof"),
        *("instanceof", "print", "self", "this", "super", "cls"),
    }
)
Role = Literal["call", "receiver"]


@dataclass(frozen=True, slots=True)
class Usage:
    """An identifier used near the cursor: called (`name(`) or a receiver (`name.`)."""

    name: str
    offset: int
    role: Role


def identifiers_near(text: str, offset: int, *, lines: int = 3, limit: int = 6) -> list[Usage]:
    """Calls and receivers on the cursor's line and the `lines` before it, most relevant first.

    The call the cursor is inside (`compute_total(items, |`) comes first, then the nearest.
    """
    start = text.rfind("\n", 0, offset) + 1
    for _ in range(lines):
        if start == 0:
            break
        start = text.rfind("\n", 0, start - 1) + 1
    window = text[start:offset]
    roles: tuple[tuple[re.Pattern[str], Role], ...] = ((_CALL, "call"), (_RECEIVER, "receiver"))
    found = [
        Usage(match[1], start + match.start(1), role)
        for pattern, role in roles
        for match in pattern.finditer(window)
    ]
    found.sort(key=lambda usage: -usage.offset)
    enclosing = _enclosing_call(window)
    if enclosing is not None:
        found.insert(0, Usage(enclosing[0], start + enclosing[1], "call"))
    picked: dict[str, Usage] = {}
    for usage in found:
        if usage.name not in _SKIP and usage.name not in picked:
            picked[usage.name] = usage
    return list(picked.values())[:limit]


def _enclosing_call(window: str) -> tuple[str, int] | None:
    """Name and offset of the call whose parenthesis is still open at the end of `window`."""
    depth = 0
    for index in range(len(window) - 1, -1, -1):
        char = window[index]
        if char in _CLOSERS:
            depth += 1
        elif char in _OPENERS:
            if depth == 0:
                match = _NAME_AT_END.search(window, 0, index) if char == "(" else None
                return (match[1], match.start(1)) if match else None
            depth -= 1
    return None


async def definitions_near_cursor(
    source: UpstreamSource,
    uri: str,
    text: str,
    offset: int,
    language_id: str,
    *,
    budget_ms: float,
    max_tokens: int | None = None,
    count_tokens: TokenCounter = estimate_tokens,
) -> list[ContextSnippet]:
    """Definitions and types of the symbols used near `offset`, as far as found in `budget_ms`.

    `text` must be the text the server has for `uri`. Never raises `UpstreamError`: what
    could not be resolved in time is left out.
    """
    usages = identifiers_near(text, offset)
    found = await _lookup(source, uri, text, language_id, usages, budget_ms / 1000)
    return fit((s for usage in usages for s in found.get(usage, [])), max_tokens, count_tokens)


class ContextCache:
    """Snippets prefetched after edits, by (uri, identifier), read without waiting.

    `cached_context` may be called from a worker thread (completion context providers run
    in one), so the entries are guarded by a lock.
    """

    def __init__(
        self,
        source: UpstreamSource,
        *,
        debounce_s: float = 0.15,
        budget_ms: float = 3000.0,
        ttl_s: float = 30.0,
        max_entries: int = 1024,
    ) -> None:
        self.debounce_s = debounce_s
        self.budget_ms = budget_ms
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._source = source
        self._entries: OrderedDict[tuple[str, str], tuple[float, list[ContextSnippet]]]
        self._entries = OrderedDict()
        self._lock = threading.Lock()
        self._bursts: dict[str, tuple[str, str]] = {}  # uri -> (language id, text before)
        self._timers: dict[str, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def edited(self, uri: str, language_id: str, old_text: str, new_text: str) -> None:
        """A document changed: prefetch around the edits once they pause for `debounce_s`."""
        self._bursts.setdefault(uri, (language_id, old_text))
        timer = self._timers.pop(uri, None)
        if timer is not None:
            timer.cancel()
        self._timers[uri] = self._track(self._after_pause(uri))

    async def prefetch(self, uri: str, language_id: str, text: str, offset: int) -> None:
        """Resolve the identifiers near `offset` that are not freshly cached, and cache them."""
        now = time.monotonic()
        with self._lock:
            stale = [
                usage
                for usage in identifiers_near(text, offset)
                if (entry := self._entries.get((uri, usage.name))) is None
                or now - entry[0] >= self.ttl_s
            ]
        found = await _lookup(self._source, uri, text, language_id, stale, self.budget_ms / 1000)
        with self._lock:
            for usage, snippets in found.items():
                self._entries[(uri, usage.name)] = (time.monotonic(), snippets)
                self._entries.move_to_end((uri, usage.name))
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def cached_context(
        self,
        uri: str,
        text: str,
        offset: int,
        max_tokens: int,
        *,
        count_tokens: TokenCounter = estimate_tokens,
    ) -> list[ContextSnippet]:
        """What is cached for the identifiers near `offset`; never waits for the server."""
        snippets: list[ContextSnippet] = []
        usages = identifiers_near(text, offset)
        with self._lock:
            for usage in usages:
                entry = self._entries.get((uri, usage.name))
                if entry is not None:
                    self._entries.move_to_end((uri, usage.name))
                    snippets.extend(entry[1])
        return fit(snippets, max_tokens, count_tokens)

    def forget(self, uri: str) -> None:
        """A document was closed: drop its pending prefetch and its cached snippets."""
        self._bursts.pop(uri, None)
        timer = self._timers.pop(uri, None)
        if timer is not None:
            timer.cancel()
        with self._lock:
            for key in [key for key in self._entries if key[0] == uri]:
                del self._entries[key]

    async def aclose(self) -> None:
        """Cancel pending and running prefetches."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _after_pause(self, uri: str) -> None:
        await asyncio.sleep(self.debounce_s)
        del self._timers[uri]
        language_id, before = self._bursts.pop(uri)
        text = self._source.document_text(uri)
        if text is not None:
            _, suffix = common_affixes(before, text)
            self._track(self.prefetch(uri, language_id, text, len(text) - suffix))

    def _track(self, coroutine: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task


async def _lookup(
    source: UpstreamSource,
    uri: str,
    text: str,
    language_id: str,
    usages: Sequence[Usage],
    budget_s: float,
) -> dict[Usage, list[ContextSnippet]]:
    """Snippets per usage, for the usages resolved before the deadline."""
    if not usages:
        return {}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + budget_s
    try:
        async with asyncio.timeout_at(deadline):
            client = await source.client_for(uri, language_id)
    except (UpstreamError, TimeoutError) as error:
        log.debug("no upstream context for %s: %s", uri, error or "server still starting")
        return {}
    document = Document(uri, language_id, 0, text, encoding=client.encoding)
    texts = SourceTexts(source)
    tasks = {
        usage: loop.create_task(_resolve(client, texts, uri, document, usage)) for usage in usages
    }
    try:
        await asyncio.wait(tasks.values(), timeout=max(deadline - loop.time(), 0))
    finally:
        for task in tasks.values():
            task.cancel()
    return {
        usage: task.result()
        for usage, task in tasks.items()
        if task.done() and not task.cancelled() and task.exception() is None
    }


async def _resolve(
    client: UpstreamClient, texts: SourceTexts, uri: str, document: Document, usage: Usage
) -> list[ContextSnippet]:
    """A called name's definition (else its signature); a receiver's type and, when the type
    is defined in the workspace, its definition."""
    position = document.position_at(usage.offset)
    found: list[ContextSnippet | None] = []
    try:
        if usage.role == "call":
            targets = await client.definition(uri, position)
            elsewhere = [t for t in targets[:2] if not _is_usage(t, uri, position)]
            for target in elsewhere:
                found.append(await definition_snippet(texts, target, usage.name))
            if elsewhere and not any(found):  # defined in files that may not be sent
                hover = await client.hover(uri, position)
                found.append(hover_snippet(texts, uri, position, usage.name, hover, "signature"))
        else:
            hover, targets = await asyncio.gather(
                client.hover(uri, position), client.type_definition(uri, position)
            )
            found.append(hover_snippet(texts, uri, position, usage.name, hover, "type"))
            for target in targets[:1]:
                if texts.inside_workspace(_target_uri(target)):
                    found.append(await definition_snippet(texts, target, usage.name))
    except UpstreamError as error:
        log.debug("upstream could not resolve %s: %s", usage.name, error)
    return [snippet for snippet in found if snippet is not None]


def _target_uri(target: types.Location | types.LocationLink) -> str:
    return target.target_uri if isinstance(target, types.LocationLink) else target.uri


def _is_usage(
    target: types.Location | types.LocationLink, uri: str, position: types.Position
) -> bool:
    """The definition found is the name itself: the cursor is on a definition."""
    if isinstance(target, types.LocationLink):
        return (
            target.target_uri == uri and target.target_selection_range.start.line == position.line
        )
    return target.uri == uri and target.range.start.line == position.line
