"""The fallback `Store` for machines where LanceDB cannot run: SQLite with FTS5 BM25 over the
same identifier-split columns, brute-force cosine for vectors. Standard library only.

Differences from LanceDB: per-term query weights are ignored (BM25 ranks by term rarity
alone) and vector search scans every vector; both are fine at workspace scale.
"""

from __future__ import annotations

import functools
import math
import re
import sqlite3
import threading
from array import array
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from ai_lsp.index.store import (
    ChunkRow,
    FileRecord,
    Filter,
    IndexCorrupt,
    StoredChunk,
    WriteBatch,
    glob_to_regex,
)

__all__ = ["SqliteStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER);
CREATE TABLE IF NOT EXISTS files(path TEXT PRIMARY KEY, hash TEXT, mtime_ns INTEGER,
    size INTEGER, status TEXT, chunks INTEGER);
CREATE TABLE IF NOT EXISTS chunks(id INTEGER PRIMARY KEY, path TEXT, language TEXT,
    symbol TEXT, kind TEXT, start_line INTEGER, end_line INTEGER, text TEXT,
    content_hash TEXT, file_hash TEXT, vector BLOB);
CREATE INDEX IF NOT EXISTS chunks_path ON chunks(path);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(search_text, symbol_text,
    tokenize='unicode61 remove_diacritics 0');
CREATE TABLE IF NOT EXISTS docs(source TEXT, url TEXT, title TEXT, text TEXT,
    search_text TEXT, vector BLOB);
CREATE TABLE IF NOT EXISTS vectors(model TEXT, content_hash TEXT, vector BLOB,
    PRIMARY KEY(model, content_hash));
"""
_COLUMNS = "c.path, c.language, c.symbol, c.kind, c.start_line, c.end_line, c.text, c.content_hash"


class SqliteStore:
    """One SQLite file per workspace, in WAL mode so readers never wait for the writer."""

    backend = "sqlite"

    def __init__(self, path: Path, *, writable: bool, vector_dim: int | None = None) -> None:
        self.location = str(path)
        self.writable = writable
        self._lock = threading.Lock()
        if not writable and not path.exists():
            raise IndexCorrupt(f"no index at {path} yet")
        try:
            self._conn = self._connect(path)
        except sqlite3.DatabaseError as error:
            if not writable:
                raise IndexCorrupt(f"the index at {path} cannot be read: {error}") from error
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            self._conn = self._connect(path)
        if writable and vector_dim is not None and vector_dim != self.vector_dim():
            with self._lock, self._conn:
                self._conn.execute(
                    "INSERT OR REPLACE INTO meta VALUES ('vector_dim', ?)", (vector_dim,)
                )
                self._clear()

    def _connect(self, path: Path) -> sqlite3.Connection:
        if self.writable:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        else:
            conn = sqlite3.connect(
                f"{path.as_uri()}?mode=ro", uri=True, check_same_thread=False, isolation_level=None
            )
        try:
            conn.create_function("regexp", 2, _regexp, deterministic=True)
            if self.writable:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.executescript(_SCHEMA)
            if conn.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise sqlite3.DatabaseError("quick_check failed")
            conn.execute("SELECT count(*) FROM chunks_fts").fetchone()
        except sqlite3.DatabaseError:
            conn.close()
            raise
        conn.isolation_level = "DEFERRED"  # `with conn:` makes one transaction per write
        return conn

    def catalog(self) -> dict[str, FileRecord]:
        with self._lock:
            rows = self._conn.execute("SELECT * FROM files").fetchall()
        return {row[0]: FileRecord(*row) for row in rows}

    def census(self) -> dict[str, tuple[int, frozenset[str]]]:
        census: dict[str, tuple[int, frozenset[str]]] = {}
        with self._lock:
            rows = self._conn.execute(
                "SELECT path, file_hash, count(*) FROM chunks GROUP BY path, file_hash"
            ).fetchall()
        for path, file_hash, count in rows:
            total, hashes = census.get(path, (0, frozenset()))
            census[path] = (total + count, hashes | {file_hash})
        return census

    def write(self, batch: WriteBatch) -> None:
        gone = [(path,) for path in {*batch.replace, *batch.delete}]
        with self._lock, self._conn:
            cursor = self._conn.cursor()
            cursor.executemany(
                "DELETE FROM chunks_fts WHERE rowid IN (SELECT id FROM chunks WHERE path = ?)",
                gone,
            )
            cursor.executemany("DELETE FROM chunks WHERE path = ?", gone)
            for chunk in batch.chunks:
                cursor.execute(
                    "INSERT INTO chunks VALUES (NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (*_chunk_values(chunk), _blob(chunk.vector)),
                )
                cursor.execute(
                    "INSERT INTO chunks_fts(rowid, search_text, symbol_text) VALUES (?, ?, ?)",
                    (cursor.lastrowid, chunk.search_text, chunk.symbol_text),
                )
            cursor.executemany(
                "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?)",
                [(r.path, r.hash, r.mtime_ns, r.size, r.status, r.chunks) for r in batch.files],
            )
            cursor.executemany("DELETE FROM files WHERE path = ?", [(p,) for p in batch.delete])
            cursor.execute(
                "INSERT INTO meta VALUES ('commits', 1) "
                "ON CONFLICT(key) DO UPDATE SET value = value + 1"
            )

    def drop_paths(self, paths: Sequence[str]) -> None:
        self.write(WriteBatch(delete=paths))

    def finish(self, *, force: bool = False) -> None:
        if force:  # FTS5 merges incrementally by itself; a full merge only when idle
            with self._lock:
                self._conn.execute("INSERT INTO chunks_fts(chunks_fts) VALUES ('optimize')")

    def clear(self) -> None:
        with self._lock, self._conn:
            self._clear()

    def _clear(self) -> None:
        self._conn.execute("DELETE FROM chunks")
        self._conn.execute("DELETE FROM chunks_fts")
        self._conn.execute("DELETE FROM files")

    def text_search(
        self,
        terms: Sequence[tuple[str, float]],
        *,
        limit: int,
        where: Filter,
        text_weight: float = 1.0,
        symbol_weight: float = 0.0,
    ) -> list[StoredChunk]:
        tokens = dict.fromkeys(token for token, weight in terms if token.isalnum() and weight > 0)
        columns = [
            c for c, w in (("search_text", text_weight), ("symbol_text", symbol_weight)) if w > 0
        ]
        if not tokens or not columns or limit <= 0:
            return []
        quoted = " OR ".join(f'"{token}"' for token in tokens)
        match = "{" + " ".join(columns) + "} : (" + quoted + ")"
        condition, params = _where_sql(where)
        sql = (
            f"SELECT {_COLUMNS}, -bm25(chunks_fts, ?, ?) AS score FROM chunks_fts "
            f"JOIN chunks c ON c.id = chunks_fts.rowid WHERE chunks_fts MATCH ? {condition} "
            "ORDER BY score DESC LIMIT ?"
        )
        with self._lock:
            rows = self._conn.execute(
                sql, (max(text_weight, 0.0), max(symbol_weight, 0.0), match, *params, limit)
            ).fetchall()
        return [StoredChunk(*row) for row in rows]

    def vector_search(
        self, vector: Sequence[float], *, limit: int, where: Filter
    ) -> list[StoredChunk]:
        if self.vector_dim() != len(vector) or limit <= 0:
            return []
        condition, params = _where_sql(where)
        sql = (
            f"SELECT {_COLUMNS}, 0.0, c.vector FROM chunks c WHERE c.vector IS NOT NULL {condition}"
        )
        with self._lock:
            rows = self._conn.execute(sql, params).fetchall()
        norm = math.sqrt(sum(x * x for x in vector)) or 1.0
        scored: list[StoredChunk] = []
        for row in rows:
            other = array("f", row[-1])
            other_norm = math.sqrt(sum(x * x for x in other)) or 1.0
            cosine = sum(a * b for a, b in zip(vector, other, strict=True)) / (norm * other_norm)
            scored.append(replace(StoredChunk(*row[:-1]), score=cosine))
        scored.sort(key=lambda chunk: chunk.score, reverse=True)
        return scored[:limit]

    def vector_dim(self) -> int | None:
        with self._lock:
            row = self._conn.execute("SELECT value FROM meta WHERE key = 'vector_dim'").fetchone()
        return None if row is None else int(row[0])

    def cached_vectors(self, model: str, hashes: Sequence[str]) -> dict[str, list[float]]:
        found: dict[str, list[float]] = {}
        with self._lock:
            for content_hash in set(hashes):
                row = self._conn.execute(
                    "SELECT vector FROM vectors WHERE model = ? AND content_hash = ?",
                    (model, content_hash),
                ).fetchone()
                if row is not None:
                    found[content_hash] = array("f", row[0]).tolist()
        return found

    def cache_vectors(self, model: str, vectors: Mapping[str, Sequence[float]]) -> None:
        with self._lock, self._conn:
            self._conn.executemany(
                "INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)",
                [(model, key, _blob(value)) for key, value in vectors.items()],
            )

    def counts(self) -> tuple[int, int]:
        with self._lock:
            files = self._conn.execute("SELECT count(*) FROM files").fetchone()[0]
            chunks = self._conn.execute("SELECT count(*) FROM chunks").fetchone()[0]
        return int(files), int(chunks)

    def commits(self) -> int:
        with self._lock:
            row = self._conn.execute("SELECT value FROM meta WHERE key = 'commits'").fetchone()
        return 0 if row is None else int(row[0])

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _chunk_values(chunk: ChunkRow) -> tuple[object, ...]:
    return (
        chunk.path,
        chunk.language,
        chunk.symbol,
        chunk.kind,
        chunk.start_line,
        chunk.end_line,
        chunk.text,
        chunk.content_hash,
        chunk.file_hash,
    )


def _blob(vector: Sequence[float] | None) -> bytes | None:
    return None if vector is None else array("f", vector).tobytes()


def _where_sql(where: Filter) -> tuple[str, list[str]]:
    parts: list[str] = []
    params: list[str] = []
    if where.exclude_paths:
        parts.append(f"c.path NOT IN ({', '.join('?' * len(where.exclude_paths))})")
        params += where.exclude_paths
    if where.paths:
        parts.append(f"c.path IN ({', '.join('?' * len(where.paths))})")
        params += where.paths
    if where.language:
        parts.append("c.language = ?")
        params.append(where.language)
    if where.path_glob:
        parts.append("c.path REGEXP ?")
        params.append(glob_to_regex(where.path_glob))
    return "".join(f" AND {part}" for part in parts), params


@functools.lru_cache(maxsize=64)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _regexp(pattern: str, value: str | None) -> bool:
    return value is not None and _compiled(pattern).search(value) is not None
