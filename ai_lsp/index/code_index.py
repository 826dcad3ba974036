"""One workspace's index as the server and the CLI use it: the writer lock, the store, and
the indexer (lock holder only) and searcher over it. Opening and closing block: use a thread.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from ai_lsp.config import IndexConfig
from ai_lsp.index.embedding import Embedder
from ai_lsp.index.indexer import Indexer
from ai_lsp.index.lock import WriterLock
from ai_lsp.index.search import Rerank, Searcher
from ai_lsp.index.store import Backend, Store, index_folder, open_store

__all__ = ["CodeIndex", "IndexStatus"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class IndexStatus:
    """What `ai-lsp.index.status` and `ai-lsp doctor` report."""

    root: str
    location: str
    backend: str
    writable: bool
    writer_pid: int | None  # the process holding the writer lock, when it is not us
    files: int
    chunks: int
    vectors: bool


class CodeIndex:
    """The index of one workspace root. The first process to open it becomes the writer;
    others open it read-only and only search (they never wait for the writer)."""

    def __init__(
        self,
        root: Path,
        store: Store,
        lock: WriterLock,
        *,
        indexer: Indexer | None,
        searcher: Searcher,
    ) -> None:
        self.root = root
        self.store = store
        self.lock = lock
        self.indexer = indexer
        self.searcher = searcher

    @classmethod
    def open(
        cls,
        root: Path,
        config: IndexConfig | None = None,
        *,
        embedder: Embedder | None = None,
        rerank: Rerank | None = None,
        backend: Backend = "auto",
        cache_root: Path | None = None,
        read_only: bool = False,
    ) -> CodeIndex:
        """Open the index of ``root``, taking the writer lock when it is free.

        Raises `store.IndexCorrupt` when read-only and the index is missing or damaged.
        """
        config = config or IndexConfig()
        root = root.resolve()
        folder = index_folder(root, cache_root)
        lock = WriterLock(folder)
        writable = not read_only and lock.acquire()
        vector_dim = None
        if embedder is not None and writable:
            try:
                vector_dim = embedder.dimension()
            except Exception as error:  # no embeddings: full-text still works
                log.warning("embeddings unavailable (%s): indexing full-text only", error)
                embedder.close()
                embedder = None
        try:
            store = open_store(
                folder, uri=config.uri, writable=writable, vector_dim=vector_dim, backend=backend
            )
        except BaseException:
            lock.release()
            raise
        indexer = (
            Indexer(root, store, max_file_bytes=config.max_file_bytes, embedder=embedder)
            if writable
            else None
        )
        searcher = Searcher(store, root=root, embedder=embedder, rerank=rerank)
        return cls(root, store, lock, indexer=indexer, searcher=searcher)

    @property
    def writable(self) -> bool:
        """True when this process holds the writer lock."""
        return self.indexer is not None

    def status(self) -> IndexStatus:
        """Counts and location of the index (reads the tables)."""
        files, chunks = self.store.counts()
        return IndexStatus(
            root=str(self.root),
            location=self.store.location,
            backend=self.store.backend,
            writable=self.writable,
            writer_pid=None if self.writable else self.lock.holder(),
            files=files,
            chunks=chunks,
            vectors=self.store.vector_dim() is not None,
        )

    def close(self) -> None:
        """Close the store and give up the writer lock."""
        self.store.close()
        self.lock.release()
        if self.searcher.embedder is not None:
            self.searcher.embedder.close()
