"""Embeddings for the index: the provider's async ``embed`` called from worker threads, in
batches, with vectors cached by (model, content hash) so unchanged text is never re-embedded.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable, Sequence

from ai_lsp.index.store import Store

__all__ = ["EmbedFn", "Embedder"]

log = logging.getLogger(__name__)

EmbedFn = Callable[[list[str]], Awaitable[list[list[float]]]]
BATCH = 64


class Embedder:
    """Blocking wrapper around an async embedding function; use it from a worker thread.

    ``loop`` is the event loop the function belongs to (the server's); without one a
    private loop is used (CLI). Calling from the loop's own thread would deadlock, so it
    raises instead.
    """

    def __init__(
        self,
        embed: EmbedFn,
        model: str,
        *,
        loop: asyncio.AbstractEventLoop | None = None,
        batch_size: int = BATCH,
        closing: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.model = model
        self._embed = embed
        self._closing = closing
        """Run on the private loop before it closes (the CLI's HTTP clients live on it)."""
        self._loop = loop
        self._own_loop: asyncio.AbstractEventLoop | None = None
        self._batch_size = batch_size
        self._dimension: int | None = None
        self._lock = threading.Lock()

    def dimension(self) -> int:
        """The model's vector size (one small request the first time)."""
        if self._dimension is None:
            self._dimension = len(self._call(["dimension probe"])[0])
        return self._dimension

    def query_vector(self, text: str, *, timeout: float | None = None) -> list[float] | None:
        """The embedding of a search query; None when ``timeout`` seconds pass first
        (the request is then cancelled) or the provider fails while a timeout is set."""
        if timeout is None:
            return self._call([text])[0]
        try:
            return self._call([text], timeout)[0]
        except Exception as error:
            log.debug("query embedding skipped: %r", error)
            return None

    def vectors(self, store: Store, items: Sequence[tuple[str, str]]) -> dict[str, list[float]]:
        """Vectors by content hash for (content hash, text) items: cached ones from the store,
        the rest embedded in batches and cached. Hashes whose embedding failed are absent."""
        wanted = dict(items)
        found = store.cached_vectors(self.model, list(wanted))
        missing = [key for key in wanted if key not in found]
        fresh: dict[str, list[float]] = {}
        try:
            for start in range(0, len(missing), self._batch_size):
                keys = missing[start : start + self._batch_size]
                vectors = self._call([wanted[key] for key in keys])
                if len(vectors) != len(keys):
                    raise ValueError(f"{len(vectors)} vectors for {len(keys)} texts")
                fresh.update(zip(keys, vectors, strict=True))
        except Exception as error:  # any provider failure leaves text-only rows
            log.warning(
                "embedding with %s failed (%s): those chunks stay text-only", self.model, error
            )
        store.cache_vectors(self.model, fresh)
        return found | fresh

    def _call(self, texts: list[str], timeout: float | None = None) -> list[list[float]]:
        if self._loop is not None:
            try:
                running = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is self._loop:
                raise RuntimeError("Embedder must be called from a worker thread, not the loop")
            future = asyncio.run_coroutine_threadsafe(
                _bounded(self._embed(texts), timeout), self._loop
            )
            return future.result()
        with self._lock:
            if self._own_loop is None:
                self._own_loop = asyncio.new_event_loop()
            return self._own_loop.run_until_complete(_bounded(self._embed(texts), timeout))

    def close(self) -> None:
        """Close the private event loop, if one was made."""
        with self._lock:
            if self._own_loop is not None:
                if self._closing is not None:
                    self._own_loop.run_until_complete(self._closing())
                self._own_loop.close()
                self._own_loop = None


async def _bounded(
    awaitable: Awaitable[list[list[float]]], seconds: float | None
) -> list[list[float]]:
    """Await on the embedding's own loop; past ``seconds`` it is cancelled (TimeoutError)."""
    async with asyncio.timeout(seconds):
        return await awaitable
