"""Where a workspace's index lives, the records it holds, and the `Store` interface that the
LanceDB store and its SQLite fallback (for CPUs LanceDB cannot run on) both implement.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

from ai_lsp.paths import cache_dir

__all__ = [
    "INDEXED",
    "TEXT_ONLY",
    "Backend",
    "ChunkRow",
    "FileRecord",
    "Filter",
    "IndexCorrupt",
    "Store",
    "StoredChunk",
    "WriteBatch",
    "glob_to_regex",
    "index_folder",
    "open_store",
]

log = logging.getLogger(__name__)

Backend = Literal["auto", "lancedb", "sqlite"]
INDEXED = "indexed"  # chunks (and vectors, when embeddings are on) are stored
TEXT_ONLY = "text-only"  # chunks stored, vectors missing: retried when embeddings work
# Other statuses are "skipped: <reason>" for files the filter refused on reading.


class IndexCorrupt(Exception):
    """The index cannot be read; a writer rebuilds it, a reader reports it."""


@dataclass(frozen=True, slots=True)
class FileRecord:
    """A row of the per-file catalog. ``chunks`` is the number of chunk rows of the file."""

    path: str
    hash: str
    mtime_ns: int
    size: int
    status: str
    chunks: int


@dataclass(frozen=True, slots=True)
class ChunkRow:
    """A chunk as written: chunker fields, the file hash it came from, search columns."""

    path: str
    language: str
    symbol: str
    kind: str
    start_line: int
    end_line: int
    text: str
    content_hash: str
    file_hash: str
    search_text: str
    symbol_text: str
    vector: Sequence[float] | None = None


@dataclass(frozen=True, slots=True)
class StoredChunk:
    """A chunk read back by a search, with the backend's score (higher is better)."""

    path: str
    language: str
    symbol: str
    kind: str
    start_line: int
    end_line: int
    text: str
    content_hash: str
    score: float


@dataclass(frozen=True, slots=True)
class WriteBatch:
    """One write: chunks of ``replace`` paths are deleted, ``chunks`` added, then ``files``
    upserted and the catalog rows of ``delete`` paths removed, in that order."""

    replace: Sequence[str] = ()
    delete: Sequence[str] = ()
    chunks: Sequence[ChunkRow] = ()
    files: Sequence[FileRecord] = ()


@dataclass(frozen=True, slots=True)
class Filter:
    """Restrictions applied inside the backend query (before the result limit)."""

    exclude_paths: tuple[str, ...] = ()
    path_glob: str | None = None
    language: str | None = None
    paths: tuple[str, ...] = field(default=())  # only these paths, when given


class Store(Protocol):
    """The index tables of one workspace. Every method blocks (disk I/O): call from a thread."""

    backend: str
    location: str
    writable: bool

    def catalog(self) -> dict[str, FileRecord]:
        """Every row of the ``files`` table by path."""
        ...

    def census(self) -> dict[str, tuple[int, frozenset[str]]]:
        """For each path with chunks: (number of chunk rows, the file hashes they carry)."""
        ...

    def write(self, batch: WriteBatch) -> None:
        """Apply one batch (a few commits whatever its size)."""
        ...

    def drop_paths(self, paths: Sequence[str]) -> None:
        """Delete the chunks and catalog rows of these paths (repair after a crash)."""
        ...

    def finish(self, *, force: bool = False) -> None:
        """After writes: fold new rows into the full-text index and compact, when enough
        changed (or now with ``force``, e.g. when idle). Searches see new rows either way,
        but rows outside the full-text index make weighted queries slower."""
        ...

    def clear(self) -> None:
        """Empty the chunk and file tables (a rebuild); cached vectors are kept."""
        ...

    def text_search(
        self,
        terms: Sequence[tuple[str, float]],
        *,
        limit: int,
        where: Filter,
        text_weight: float = 1.0,
        symbol_weight: float = 0.0,
    ) -> list[StoredChunk]:
        """BM25 for weighted tokens: ``text_weight`` times the match on ``search_text`` plus
        ``symbol_weight`` times the match on ``symbol_text`` (the chunk's name); best first."""
        ...

    def vector_search(
        self, vector: Sequence[float], *, limit: int, where: Filter
    ) -> list[StoredChunk]:
        """Nearest chunks by cosine distance (score = 1 - distance); [] without vectors."""
        ...

    def vector_dim(self) -> int | None:
        """Dimension of the chunk vectors, or None when the index stores none."""
        ...

    def cached_vectors(self, model: str, hashes: Sequence[str]) -> dict[str, list[float]]:
        """Known embeddings of these content hashes for ``model``."""
        ...

    def cache_vectors(self, model: str, vectors: Mapping[str, Sequence[float]]) -> None:
        """Remember embeddings by (model, content hash)."""
        ...

    def counts(self) -> tuple[int, int]:
        """(files in the catalog, chunk rows)."""
        ...

    def commits(self) -> int:
        """A number that grows by one per commit (table versions): shows batching at work."""
        ...

    def close(self) -> None:
        """Release the backend's resources."""
        ...


def index_folder(root: Path, cache_root: Path | None = None) -> Path:
    """The per-workspace folder: ``<cache>/index/<name>-<hash of the resolved root>``."""
    resolved = root.resolve()
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", resolved.name)[:40] or "root"
    digest = hashlib.blake2b(os.fsencode(resolved), digest_size=6).hexdigest()
    return (cache_root or cache_dir()) / "index" / f"{name}-{digest}"


def open_store(
    folder: Path,
    *,
    uri: str | None = None,
    writable: bool,
    vector_dim: int | None = None,
    backend: Backend = "auto",
) -> Store:
    """Open (a writer creates, checks and if needed rebuilds) the index in ``folder``.

    ``uri`` names another LanceDB location; ``vector_dim`` asks for a vector column of
    that size (a writer recreates the chunk table when it differs). Raises `IndexCorrupt`
    for a reader of a damaged index.
    """
    if backend == "auto":
        from ai_lsp.index.lance_probe import lancedb_usable

        problem = lancedb_usable(cache_dir())
        backend = "lancedb" if problem is None else "sqlite"
        if problem is not None:
            log.warning("%s; using the built-in SQLite full-text index instead", problem)
    if backend == "sqlite":
        from ai_lsp.index.sqlite_store import SqliteStore

        return SqliteStore(folder / "index.sqlite3", writable=writable, vector_dim=vector_dim)
    from ai_lsp.index.lance_store import LanceStore

    return LanceStore(uri or str(folder), writable=writable, vector_dim=vector_dim)


def glob_to_regex(pattern: str) -> str:
    """An anchored regex for a path glob: ``**`` spans folders, ``*`` and ``?`` do not;
    a glob without ``/`` matches the file name at any depth (``*.py``)."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[" and (end := pattern.find("]", i + 1)) > i + 1:
            body = pattern[i + 1 : end]
            negate = body.startswith("!")
            body = re.sub(r"([\\\[\]^&~])", r"\\\1", body.removeprefix("!"))
            out.append(f"[{'^' if negate else ''}{body}]")
            i = end
        else:
            out.append("\\" + char if char in _REGEX_SPECIAL else char)
        i += 1
    prefix = "^" if "/" in pattern else "^(?:.*/)?"
    return prefix + "".join(out) + "$"


_REGEX_SPECIAL = frozenset(".^$*+?()[]{}|\\")
