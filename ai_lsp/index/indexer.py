"""Full and incremental indexing of a workspace into a `Store`, batched and crash-safe.

Every batch deletes the chunks of its files, adds their new chunks, then writes their
catalog rows; the catalog row records how many chunks the file has, so after a crash
`repair` finds any file whose chunks do not match its row and indexes it again.
All methods block (file and disk I/O): the server calls them through `asyncio.to_thread`.
"""

from __future__ import annotations

import hashlib
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

from ai_lsp.index.chunker import chunk_file
from ai_lsp.index.embedding import Embedder
from ai_lsp.index.ignore import NOT_FOUND, FileRejected, WorkspaceFilter
from ai_lsp.index.store import INDEXED, TEXT_ONLY, ChunkRow, FileRecord, Store, WriteBatch
from ai_lsp.index.tokens import search_text

__all__ = ["IndexReport", "Indexer", "ProgressFn", "prepare_file"]

log = logging.getLogger(__name__)

ProgressFn = Callable[[int, int, str], None]
FLUSH_FILES = 1_000  # a batch is written when it holds this many files ...
FLUSH_CHUNKS = 8_000  # ... or this many chunks
POOL_MIN_FILES = 500  # fewer files are chunked in this process


@dataclass(slots=True)
class IndexReport:
    """What one indexing run did."""

    files_indexed: int = 0  # files whose chunks were (re)written
    files_removed: int = 0
    files_skipped: int = 0  # refused on reading (binary, not UTF-8, too large)
    files_repaired: int = 0  # found inconsistent after a crash and queued again
    chunks_written: int = 0
    seconds: float = 0.0
    cancelled: bool = False


@dataclass(frozen=True, slots=True)
class Prepared:
    """A file read and chunked; ``chunks`` is None when only its catalog row changes."""

    record: FileRecord
    chunks: list[ChunkRow] | None
    gone: bool = False


@dataclass(slots=True)
class _Batch:
    replace: list[str] = field(default_factory=list)
    delete: list[str] = field(default_factory=list)
    chunks: list[ChunkRow] = field(default_factory=list)
    files: list[FileRecord] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.files) + len(self.delete)


class Indexer:
    """Keeps one workspace's index in step with its files. Only the lock holder makes one."""

    def __init__(
        self,
        root: Path,
        store: Store,
        *,
        max_file_bytes: int = 1_000_000,
        embedder: Embedder | None = None,
        workers: int | None = None,
    ) -> None:
        self.filter = WorkspaceFilter(root, max_file_bytes=max_file_bytes)
        self.root = self.filter.root
        self.store = store
        self.embedder = embedder
        self.workers = workers if workers is not None else min(4, os.cpu_count() or 1)
        self._catalog: dict[str, FileRecord] | None = None
        self._write_lock = threading.Lock()  # one run at a time, whichever thread calls

    def reconcile(
        self,
        *,
        under: str = "",
        on_progress: ProgressFn | None = None,
        cancel: threading.Event | None = None,
    ) -> IndexReport:
        """Bring the index up to date with the disk: repair, then new, changed, deleted files
        (only those whose relative path starts with ``under``, when given).

        Unchanged size and mtime means unchanged; otherwise the content hash decides.
        """
        with self._write_lock:
            started = time.monotonic()
            report = IndexReport(files_repaired=self._repair())
            todo, deleted = self._changes((under,))
            self._run(sorted(todo), sorted(deleted), report, on_progress, cancel)
            report.seconds = time.monotonic() - started
            return report

    def update_paths(
        self,
        paths: Iterable[Path | str],
        *,
        on_progress: ProgressFn | None = None,
        cancel: threading.Event | None = None,
    ) -> IndexReport:
        """Re-index these files or folders (saved, created, deleted or renamed): the handler
        of ``didSave`` and ``didChangeWatchedFiles``. Paths outside the workspace are
        ignored; a path now refused by the ignore rules is removed from the index."""
        with self._write_lock:
            started = time.monotonic()
            report = IndexReport()
            catalog = self._known()
            todo: set[str] = set()
            deleted: set[str] = set()
            folders: list[str] = []
            for rel in {r for r in map(self._relative, paths) if r is not None}:
                if (self.root / rel).is_dir():
                    folders.append(f"{rel}/")
                    continue
                if rel not in catalog and not (self.root / rel).exists():  # a removed folder?
                    deleted.update(p for p in catalog if p.startswith(f"{rel}/"))
                elif self.filter.check_path(self.root / rel) is None:
                    todo.add(rel)
                elif rel in catalog:
                    deleted.add(rel)
            if folders:
                in_folders = self._changes(tuple(folders))
                todo |= in_folders[0]
                deleted |= in_folders[1]
            self._run(sorted(todo), sorted(deleted), report, on_progress, cancel)
            report.seconds = time.monotonic() - started
            return report

    def _changes(self, prefixes: tuple[str, ...]) -> tuple[set[str], set[str]]:
        """(new or changed, deleted) files whose relative paths start with a prefix."""
        catalog = {p: r for p, r in self._known().items() if p.startswith(prefixes)}
        scanned = {f.rel: f for f in self.filter.scan() if f.rel.startswith(prefixes)}
        retry_text_only = self.embedder is not None
        todo = {
            rel
            for rel, found in scanned.items()
            if (record := catalog.get(rel)) is None
            or (record.size, record.mtime_ns) != (found.size, found.mtime_ns)
            or (retry_text_only and record.status == TEXT_ONLY)
        }
        return todo, catalog.keys() - scanned.keys()

    def rebuild(
        self, *, on_progress: ProgressFn | None = None, cancel: threading.Event | None = None
    ) -> IndexReport:
        """Forget everything and index the workspace again (cached vectors are reused)."""
        with self._write_lock:
            self.store.clear()
            self._catalog = {}
        return self.reconcile(on_progress=on_progress, cancel=cancel)

    def maintain(self) -> None:
        """Fold recent small updates into the full-text index and compact (about a second
        on a large index): call when the user is idle, e.g. from `UpdateQueue`."""
        with self._write_lock:
            self.store.finish(force=True)

    def _known(self) -> dict[str, FileRecord]:
        if self._catalog is None:
            self._catalog = self.store.catalog()
        return self._catalog

    def _repair(self) -> int:
        """Drop files whose chunks disagree with their catalog row (an interrupted batch)."""
        catalog = self.store.catalog()
        census = self.store.census()
        bad = sorted(
            path
            for path in catalog.keys() | census.keys()
            if not _consistent(catalog.get(path), census.get(path))
        )
        if bad:
            log.info("repairing %d files left inconsistent by an interrupted run", len(bad))
            self.store.drop_paths(bad)
            self.store.finish()
        self._catalog = self.store.catalog()
        return len(bad)

    def _relative(self, path: Path | str) -> str | None:
        absolute = os.path.abspath(self.root / path)
        for base in (str(self.root), os.path.realpath(self.root)):
            rel = os.path.relpath(absolute, base)
            if not rel.startswith(".."):
                return rel.replace(os.sep, "/")
        return None

    def _run(
        self,
        todo: list[str],
        deleted: list[str],
        report: IndexReport,
        on_progress: ProgressFn | None,
        cancel: threading.Event | None,
    ) -> None:
        total = len(todo) + len(deleted)
        catalog = self._known()
        batch = _Batch(delete=list(deleted))
        report.files_removed += len(deleted)
        done = len(deleted)
        if on_progress is not None and total:
            on_progress(done, total, "indexing")
        for prepared in self._prepare_all(todo, catalog, cancel):
            rel = prepared.record.path
            if prepared.gone:
                if rel in catalog:
                    batch.delete.append(rel)
                    report.files_removed += 1
            elif prepared.chunks is None:  # same content: refresh size and mtime only
                batch.files.append(
                    replace(
                        catalog[rel], size=prepared.record.size, mtime_ns=prepared.record.mtime_ns
                    )
                )
            else:
                batch.replace.append(rel)
                batch.files.append(prepared.record)
                batch.chunks.extend(prepared.chunks)
                if prepared.record.status == INDEXED:
                    report.files_indexed += 1
                else:
                    report.files_skipped += 1
            done += 1
            if on_progress is not None:
                on_progress(done, total, rel)
            if len(batch) >= FLUSH_FILES or len(batch.chunks) >= FLUSH_CHUNKS:
                report.chunks_written += self._flush(batch)
                batch = _Batch()
        report.cancelled = cancel is not None and cancel.is_set() and done < total
        report.chunks_written += self._flush(batch)
        if total:
            self.store.finish()

    def _flush(self, batch: _Batch) -> int:
        if not len(batch):
            return 0
        if self.embedder is not None and batch.chunks:
            vectors = self.embedder.vectors(
                self.store, [(chunk.content_hash, chunk.text) for chunk in batch.chunks]
            )
            batch.chunks = [replace(c, vector=vectors.get(c.content_hash)) for c in batch.chunks]
            missing = {c.path for c in batch.chunks if c.vector is None}
            batch.files = [
                replace(r, status=TEXT_ONLY) if r.path in missing else r for r in batch.files
            ]
        self.store.write(WriteBatch(batch.replace, batch.delete, batch.chunks, batch.files))
        catalog = self._known()
        for path in batch.delete:
            catalog.pop(path, None)
        catalog.update((record.path, record) for record in batch.files)
        return len(batch.chunks)

    def _prepare_all(
        self, todo: list[str], catalog: dict[str, FileRecord], cancel: threading.Event | None
    ) -> Iterator[Prepared]:
        tasks = [
            (str(self.root), rel, self.filter.max_file_bytes, _reusable_hash(catalog.get(rel)))
            for rel in todo
        ]
        if len(tasks) < POOL_MIN_FILES or self.workers < 2:
            for task in tasks:
                if cancel is not None and cancel.is_set():
                    return
                yield prepare_file(task)
            return
        context = multiprocessing.get_context("spawn")  # fork is unsafe with LanceDB's threads
        pool = ProcessPoolExecutor(self.workers, mp_context=context)
        try:
            for prepared in pool.map(prepare_file, tasks, chunksize=16):
                if cancel is not None and cancel.is_set():
                    return
                yield prepared
        finally:
            pool.shutdown(wait=False, cancel_futures=True)


def _reusable_hash(record: FileRecord | None) -> str | None:
    """The hash of a file whose stored chunks are complete, so an equal hash skips chunking."""
    return record.hash if record is not None and record.status == INDEXED else None


def _consistent(record: FileRecord | None, found: tuple[int, frozenset[str]] | None) -> bool:
    """Whether a file's stored chunks (count, file hashes) match its catalog row."""
    if record is None:
        return found is None
    if found is None:
        return record.chunks == 0
    return found == (record.chunks, frozenset({record.hash}))


_filters: dict[tuple[str, int], WorkspaceFilter] = {}


def prepare_file(task: tuple[str, str, int, str | None]) -> Prepared:
    """Read, hash and chunk one file (runs in worker processes too; ``task`` is
    (root, relative path, size limit, hash of the stored version or None))."""
    root, rel, max_file_bytes, known_hash = task
    workspace = _filters.get((root, max_file_bytes))
    if workspace is None:
        workspace = WorkspaceFilter(root, max_file_bytes=max_file_bytes)
        _filters[(root, max_file_bytes)] = workspace
    path = workspace.root / rel
    gone = Prepared(FileRecord(rel, "", 0, 0, NOT_FOUND, 0), None, gone=True)
    try:
        stat = os.stat(path)  # before reading: a later write then shows as a newer mtime
        text = workspace.read_text(path)
    except OSError:
        return gone
    except FileRejected as error:
        if error.reason == NOT_FOUND:
            return gone
        return Prepared(_record(rel, "", stat, f"skipped: {error.reason}", 0), [])
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
    if digest == known_hash:
        return Prepared(_record(rel, digest, stat, INDEXED, 0), None)
    try:
        chunks = chunk_file(rel, text, None)
    except Exception as error:  # one odd file must not stop the whole index
        log.warning("cannot chunk %s: %s", rel, error)
        return Prepared(_record(rel, digest, stat, "skipped: chunker error", 0), [])
    rows = [
        ChunkRow(
            path=c.path,
            language=c.language,
            symbol=c.symbol,
            kind=c.kind,
            start_line=c.start_line,
            end_line=c.end_line,
            text=c.text,
            content_hash=c.content_hash,
            file_hash=digest,
            search_text=search_text(f"{c.path} {c.symbol} {c.text}"),
            symbol_text=search_text(c.symbol),
        )
        for c in chunks
    ]
    return Prepared(_record(rel, digest, stat, INDEXED, len(rows)), rows)


def _record(rel: str, digest: str, stat: os.stat_result, status: str, chunks: int) -> FileRecord:
    return FileRecord(rel, digest, stat.st_mtime_ns, stat.st_size, status, chunks)
