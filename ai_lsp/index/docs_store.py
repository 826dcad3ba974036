"""SQLite store for documentation sources: their status and their pages cut into sections,
searchable with FTS5 BM25 over identifier-aware tokens.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from ai_lsp.index.docs_text import sections_of
from ai_lsp.index.docs_types import DocPage, SourceStatus
from ai_lsp.index.tokens import search_text, split_identifiers

__all__ = ["DocHit", "SqliteDocsStore", "docs_store_path"]

MAX_QUERY_TOKENS = 32
_SCHEMA = """
CREATE TABLE IF NOT EXISTS sources (name TEXT PRIMARY KEY, status TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sections (
    id INTEGER PRIMARY KEY, source TEXT NOT NULL, url TEXT NOT NULL, title TEXT NOT NULL,
    heading TEXT NOT NULL, text TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS sections_by_source ON sections (source);
CREATE VIRTUAL TABLE IF NOT EXISTS sections_fts USING fts5 (title, body);
"""


def docs_store_path(workspace: Path, state_dir: Path) -> Path:
    """Where the documentation store of ``workspace`` lives: one file per workspace."""
    root = workspace.resolve()
    digest = hashlib.sha256(str(root).encode()).hexdigest()[:12]
    label = re.sub(r"[^\w.-]", "_", root.name)[:40] or "root"
    return state_dir / "docs" / f"{label}-{digest}.sqlite3"


@dataclass(frozen=True, slots=True)
class DocHit:
    """A section matching a search, best first; ``score`` is BM25 (higher is better)."""

    source: str
    url: str
    title: str
    heading: tuple[str, ...]
    text: str
    score: float


class SqliteDocsStore:
    """A `DocsSink` in one SQLite file; safe to use from several threads and processes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._ready = False

    def replace_source(self, source: str, pages: Sequence[DocPage], status: SourceStatus) -> None:
        """Replace the pages and status of ``source`` in one transaction."""
        with self._connect() as db:
            self._delete(db, source)
            db.execute(
                "INSERT INTO sources (name, status) VALUES (?, ?)",
                (source, json.dumps(status.to_json())),
            )
            for page in pages:
                for section in sections_of(page):
                    cursor = db.execute(
                        "INSERT INTO sections (source, url, title, heading, text)"
                        " VALUES (?, ?, ?, ?, ?)",
                        (
                            source,
                            section.url,
                            section.title,
                            json.dumps(section.heading),
                            section.text,
                        ),
                    )
                    db.execute(
                        "INSERT INTO sections_fts (rowid, title, body) VALUES (?, ?, ?)",
                        (
                            cursor.lastrowid,
                            search_text(" ".join((section.title, *section.heading))),
                            search_text(section.text),
                        ),
                    )

    def remove_source(self, source: str) -> bool:
        """Forget ``source`` and its pages; False when there was no such source."""
        with self._connect() as db:
            return self._delete(db, source)

    def list_sources(self) -> list[SourceStatus]:
        with self._connect() as db:
            rows = db.execute("SELECT status FROM sources ORDER BY name").fetchall()
        return [SourceStatus.from_json(json.loads(row[0])) for row in rows]

    def search_docs(
        self, query: str, top_k: int = 5, *, sources: Sequence[str] = ()
    ) -> list[DocHit]:
        """Sections best matching ``query`` (any of its words; titles weigh double)."""
        words = list(dict.fromkeys(split_identifiers(query)))[:MAX_QUERY_TOKENS]
        if not words or top_k <= 0:
            return []
        match = " OR ".join(f'"{word}"' for word in words)
        where = ""
        if sources:
            where = f" AND s.source IN ({', '.join('?' * len(sources))})"
        with self._connect() as db:
            rows = db.execute(
                "SELECT s.source, s.url, s.title, s.heading, s.text, bm25(sections_fts, 2.0, 1.0)"
                " FROM sections_fts JOIN sections AS s ON s.id = sections_fts.rowid"
                f" WHERE sections_fts MATCH ?{where} ORDER BY 6 LIMIT ?",
                (match, *sources, top_k),
            ).fetchall()
        return [
            DocHit(source, url, title, tuple(json.loads(heading)), text, -score)
            for source, url, title, heading, text, score in rows
        ]

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A connection inside a transaction, committed on success (one per call: thread-safe)."""
        if not self._ready:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(self.path, timeout=30)) as db:
            if not self._ready:
                db.execute("PRAGMA journal_mode=WAL")
                db.executescript(_SCHEMA)
                self._ready = True
            with db:
                yield db

    @staticmethod
    def _delete(db: sqlite3.Connection, source: str) -> bool:
        db.execute(
            "DELETE FROM sections_fts WHERE rowid IN (SELECT id FROM sections WHERE source = ?)",
            (source,),
        )
        db.execute("DELETE FROM sections WHERE source = ?", (source,))
        return db.execute("DELETE FROM sources WHERE name = ?", (source,)).rowcount > 0
