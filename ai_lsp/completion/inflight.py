"""Model requests in flight, shared by the completion requests that can use them: one made a
few keystrokes ago keeps running while the user types what it answers, and is cancelled
(closing its stream) as soon as no request waits for it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from typing import Any

from ai_lsp.completion.cache import SUFFIX_CHARS, continue_typed
from ai_lsp.completion.results import ContextRecord

log = logging.getLogger(__name__)

MAX_TYPED = 64
"""A request whose prefix grew by more than this is not worth reusing."""
AGREEMENT_POLL_S = 0.01
"""How often a joined request's answer so far is checked against what the user typed."""


@dataclass(frozen=True, slots=True)
class FetchResult:
    """Cleaned candidates for the context the fetch was made for."""

    candidates: tuple[str, ...]
    record: ContextRecord | None = None


@dataclass(eq=False)
class Fetch:
    """One model request for `uri` at the end of `prefix`."""

    uri: str
    prefix: str
    suffix_head: str
    model: str
    task: asyncio.Task[FetchResult]
    progress: Callable[[], Iterable[str]] | None = None
    """The raw text received so far per candidate, when the producer reports it."""
    waiters: int = 0
    abandoned: bool = False
    """Cancelled because nobody waits for it any more (it may not have stopped yet)."""


class InFlight:
    """The running fetches, by document."""

    def __init__(self) -> None:
        self._fetches: dict[str, list[Fetch]] = {}

    def find(self, uri: str, prefix: str, suffix: str, model: str) -> Fetch | None:
        """A running fetch whose prefix the user has since only typed after, as far as
        its answer so far goes along with what was typed."""
        for fetch in self._fetches.get(uri, ()):
            if (
                not fetch.task.done()
                and not fetch.abandoned
                and fetch.model == model
                and fetch.suffix_head == suffix[:SUFFIX_CHARS]
                and 0 <= len(prefix) - len(fetch.prefix) <= MAX_TYPED
                and prefix.startswith(fetch.prefix)
                and _agrees(fetch, prefix[len(fetch.prefix) :])
            ):
                return fetch
        return None

    def start(
        self,
        uri: str,
        prefix: str,
        suffix: str,
        model: str,
        work: Coroutine[Any, Any, FetchResult],
        progress: Callable[[], Iterable[str]] | None = None,
    ) -> Fetch:
        """Run `work` as a fetch others may join."""
        task = asyncio.get_running_loop().create_task(work, name=f"completion-fetch {uri}")
        fetch = Fetch(uri, prefix, suffix[:SUFFIX_CHARS], model, task, progress)
        self._fetches.setdefault(uri, []).append(fetch)
        task.add_done_callback(lambda _: self._finished(fetch))
        return fetch

    async def join(self, fetch: Fetch, prefix: str) -> FetchResult | None:
        """The fetch's result with its candidates continued from `prefix`; None when the
        user typed something none of them starts with (known as soon as the answer arriving
        says so, not only at its end), or the fetch was abandoned. Leaving early cancels a
        fetch nobody else waits for."""
        typed = prefix[len(fetch.prefix) :]
        fetch.waiters += 1
        try:
            while not fetch.task.done():
                await asyncio.wait({fetch.task}, timeout=AGREEMENT_POLL_S)
                if typed and not fetch.task.done() and not _agrees(fetch, typed):
                    return None  # the answer went another way than the user: ask afresh
            if fetch.task.cancelled():
                return None  # abandoned by the others just before we joined: start afresh
            result = fetch.task.result()
        finally:
            fetch.waiters -= 1
            if fetch.waiters == 0 and not fetch.task.done():
                fetch.abandoned = True
                fetch.task.cancel()
        if not typed:
            return result
        rest = continue_typed(result.candidates, typed)
        return FetchResult(rest, result.record) if rest else None

    def _finished(self, fetch: Fetch) -> None:
        fetches = self._fetches.get(fetch.uri, [])
        if fetch in fetches:
            fetches.remove(fetch)
        if not fetches:
            self._fetches.pop(fetch.uri, None)
        if not fetch.task.cancelled() and (exc := fetch.task.exception()) is not None:
            log.error("completion fetch failed", exc_info=exc)


def _agrees(fetch: Fetch, typed: str) -> bool:
    """Whether some candidate received so far may still start with `typed`."""
    texts = list(fetch.progress()) if fetch.progress is not None and typed else []
    return not texts or any(t.startswith(typed) or typed.startswith(t) for t in texts)
