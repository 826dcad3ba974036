"""The workspace index inside the server: opened and reconciled in the background after
`initialized`, kept current from saves and file events, searched without blocking the loop.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ai_lsp.config import Settings
from ai_lsp.notices import Notices

if TYPE_CHECKING:
    from ai_lsp.index.code_index import CodeIndex
    from ai_lsp.index.search import Hit, Searcher
    from ai_lsp.index.updates import UpdateQueue

log = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]
Embed = Callable[[list[str]], Awaitable[list[list[float]]]]


class IndexService:
    """Owns the `CodeIndex` of one workspace root for the server's lifetime."""

    def __init__(
        self,
        root: Path,
        settings: Callable[[], Settings],
        notices: Notices,
        *,
        embed: Embed | None = None,
    ) -> None:
        self.root = root
        self._settings = settings
        self._notices = notices
        self._embed = embed
        self._index: CodeIndex | None = None
        self._queue: UpdateQueue | None = None
        self._ready = asyncio.Event()
        self._busy = asyncio.Lock()
        self.state = "not started"

    @property
    def searcher(self) -> Searcher | None:
        """The searcher, once the index is open (thread-safe to read)."""
        return self._index.searcher if self._index is not None else None

    @property
    def ready(self) -> bool:
        """True once the index can be searched."""
        return self._ready.is_set()

    async def start(self, progress: Progress, cancel: threading.Event) -> None:
        """Open the index (the first server on a workspace writes, others read) and reconcile."""
        async with self._busy:
            self.state = "opening"
            loop = asyncio.get_running_loop()  # the embedder calls back into it from threads
            try:
                self._index = await asyncio.to_thread(self._open, loop)
            except Exception as exc:
                self.state = f"unavailable: {exc}"
                self._notices.once(
                    "index:open",
                    "warning",
                    f"ai-lsp: the workspace index could not be opened ({exc}); search and retrieval are off.",
                )
                return
            self._ready.set()
            indexer = self._index.indexer
            if indexer is None:
                self.state = "read-only (another ai-lsp process is indexing this workspace)"
                return
            from ai_lsp.index.updates import UpdateQueue

            # A short quiet period: a save is searchable within ~0.1 s plus the write, while a
            # burst (branch switch) still lands in a few batches (max_wait caps the delay).
            self._queue = UpdateQueue(indexer.update_paths, idle=indexer.maintain, delay=0.1)
            self.state = "indexing"
            try:
                report = await asyncio.to_thread(
                    indexer.reconcile, on_progress=progress, cancel=cancel
                )
            except Exception as exc:
                self.state = f"indexing failed: {exc}"
                log.exception("indexing %s failed", self.root)
                return
            self.state = "cancelled" if report.cancelled else "ready"
            log.info("index of %s: %s", self.root, report)

    def _open(self, loop: asyncio.AbstractEventLoop) -> CodeIndex:
        from ai_lsp.index.code_index import CodeIndex
        from ai_lsp.index.embedding import Embedder

        settings = self._settings()
        embedder = None
        if self._embed is not None and settings.index.embeddings:
            embedder = Embedder(self._embed, settings.index.embeddings, loop=loop)
        from ai_lsp.index.rerank import endpoint_reranker

        rerank = endpoint_reranker(settings, self._notices)
        return CodeIndex.open(self.root, settings.index, embedder=embedder, rerank=rerank)

    def changed(self, paths: Iterable[Path]) -> None:
        """Files were saved, created, changed or deleted (cheap; call on the loop)."""
        if self._queue is not None:
            self._queue.add(p for p in paths if p == self.root or self.root in p.parents)

    async def rebuild(self, progress: Progress, cancel: threading.Event) -> dict[str, Any]:
        """Re-index every file from scratch."""
        indexer = self._index.indexer if self._index is not None else None
        if indexer is None:
            raise RuntimeError(f"the index is {self.state}; it cannot be rebuilt by this process")
        async with self._busy:
            self.state = "rebuilding"
            report = await asyncio.to_thread(indexer.rebuild, on_progress=progress, cancel=cancel)
            self.state = "cancelled" if report.cancelled else "ready"
            return asdict(report)

    async def status(self) -> dict[str, Any]:
        """State, location, backend and counts of the index."""
        result: dict[str, Any] = {"root": str(self.root), "state": self.state}
        if self._index is not None:
            result.update(asdict(await asyncio.to_thread(self._index.status)))
            result["state"] = self.state
        return result

    async def search(
        self, query: str, *, top_k: int = 10, exclude_path: str | None = None
    ) -> list[Hit]:
        """Hybrid search; empty while the index is not open yet."""
        if self._index is None:
            return []
        return await asyncio.to_thread(
            self._index.searcher.search, query, top_k=top_k, exclude_path=exclude_path
        )

    async def retrieve_for_cursor(
        self, prefix: str, *, current_path: str | None, top_k: int, budget_ms: float
    ) -> list[Hit]:
        """Definitions most likely needed at the cursor (see `Searcher.retrieve_for_cursor`)."""
        if self._index is None:
            return []
        return await asyncio.to_thread(
            self._index.searcher.retrieve_for_cursor,
            prefix,
            current_path=current_path,
            top_k=top_k,
            budget_ms=budget_ms,
        )

    async def aclose(self) -> None:
        """Index what is pending, then close the store and release the writer lock."""
        if self._queue is not None:
            await self._queue.flush()
        if self._index is not None:
            index, self._index = self._index, None
            await asyncio.to_thread(index.close)
