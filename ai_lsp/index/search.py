"""Search over a workspace index: BM25 on identifier-split text, vector search when the
index has vectors, fused by reciprocal rank; and retrieval of the definitions the code
before the cursor most likely needs. All calls block: use a worker thread.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ai_lsp.index.cursor_query import cursor_terms
from ai_lsp.index.embedding import Embedder
from ai_lsp.index.ignore import is_boilerplate
from ai_lsp.index.store import Filter, Store, StoredChunk
from ai_lsp.index.tokens import split_identifiers

__all__ = ["Hit", "Rerank", "Searcher", "fuse"]

RRF_K = 60
OVERFETCH = 3  # candidates per result, to survive de-duplication and boilerplate filtering
SYMBOL_WEIGHT = 3.0  # how much a match on a chunk's symbol name adds, per token weight
MIN_VECTOR_MS = 10.0  # budget left below which retrieval skips the embedding request
VECTOR_QUERY_LINES = 20


@dataclass(frozen=True, slots=True)
class Hit:
    """A search result; ``path`` relative to the workspace, lines 1-based and inclusive."""

    path: str
    start_line: int
    end_line: int
    symbol: str
    kind: str
    score: float
    text: str

    def to_json(self) -> dict[str, object]:
        """The hit in the CLI's JSON form (keys in the documented order)."""
        return {
            "path": self.path,
            "start_line": self.start_line,
            "end_line": self.end_line,
            "symbol": self.symbol,
            "kind": self.kind,
            "score": round(self.score, 4),
            "text": self.text,
        }


# Reorders candidates for a query (e.g. through a rerank endpoint); may drop some.
Rerank = Callable[[str, list[Hit]], list[Hit]]


class Searcher:
    """Queries one store. ``embedder`` enables the vector half of hybrid search."""

    def __init__(
        self,
        store: Store,
        *,
        root: Path | None = None,
        embedder: Embedder | None = None,
        rerank: Rerank | None = None,
    ) -> None:
        self.store = store
        self.root = root
        self.embedder = embedder
        self.rerank = rerank

    def search(
        self,
        query: str,
        *,
        top_k: int = 10,
        exclude_path: str | Path | None = None,
        path_glob: str | None = None,
        language: str | None = None,
    ) -> list[Hit]:
        """The ``top_k`` best chunks for a free-text or code query (``parsePayload`` and
        ``parse payload`` are the same query)."""
        where = Filter(
            exclude_paths=self._excluded(exclude_path), path_glob=path_glob, language=language
        )
        limit = top_k * OVERFETCH + 10
        terms = [(token, 1.0) for token in dict.fromkeys(split_identifiers(query))]
        ranked = [
            self.store.text_search(terms, limit=limit, where=where, symbol_weight=SYMBOL_WEIGHT)
        ]
        if self.embedder is not None and self.store.vector_dim() is not None and query.strip():
            vector = self.embedder.query_vector(query)
            assert vector is not None  # no timeout given
            ranked.append(self.store.vector_search(vector, limit=limit, where=where))
        hits = _distinct(fuse(ranked) if len(ranked) > 1 else _as_hits(ranked[0]))
        if self.rerank is not None and hits:
            hits = self.rerank(query, hits[: top_k * 2])
        return hits[:top_k]

    def retrieve_for_cursor(
        self,
        prefix_text: str,
        *,
        current_path: str | Path | None,
        top_k: int = 5,
        budget_ms: float = 50.0,
    ) -> list[Hit]:
        """Definitions from other files that the code before the cursor most likely needs.

        The query weighs identifiers of the last lines by recency, the call or object at
        the cursor most, and boosts chunks whose symbol name matches. When the index has
        vectors and time is left of ``budget_ms``, the embedding of the last lines (bounded
        by what is left) adds a vector ranking, fused by reciprocal rank.
        """
        started = time.monotonic()
        terms = cursor_terms(prefix_text)
        if not terms:
            return []
        where = Filter(exclude_paths=self._excluded(current_path))
        limit = top_k * OVERFETCH + 10
        found = self.store.text_search(terms, symbol_weight=SYMBOL_WEIGHT, limit=limit, where=where)
        left_ms = budget_ms - (time.monotonic() - started) * 1000
        if self.embedder is None or self.store.vector_dim() is None or left_ms < MIN_VECTOR_MS:
            return _distinct(_as_hits(found))[:top_k]
        tail = "\n".join(prefix_text.split("\n")[-VECTOR_QUERY_LINES:])
        vector = self.embedder.query_vector(tail, timeout=left_ms / 1000)
        if vector is None:
            return _distinct(_as_hits(found))[:top_k]
        nearest = self.store.vector_search(vector, limit=limit, where=where)
        return _distinct(fuse([found, nearest]))[:top_k]

    def _excluded(self, path: str | Path | None) -> tuple[str, ...]:
        if path is None or str(path) == "":
            return ()
        text = str(path)
        if self.root is not None and os.path.isabs(text):
            for base in (str(self.root), os.path.realpath(self.root)):
                rel = os.path.relpath(text, base)
                if not rel.startswith(".."):
                    return (rel.replace(os.sep, "/"),)
        return (text.replace(os.sep, "/").removeprefix("./"),)


def fuse(rankings: Sequence[Sequence[StoredChunk]], k: int = RRF_K) -> list[Hit]:
    """Reciprocal-rank fusion: each chunk scores the sum of 1 / (k + rank) over the lists."""
    scores: dict[tuple[str, int, int], float] = {}
    chunks: dict[tuple[str, int, int], StoredChunk] = {}
    for ranking in rankings:
        for rank, chunk in enumerate(ranking, start=1):
            key = (chunk.path, chunk.start_line, chunk.end_line)
            scores[key] = scores.get(key, 0.0) + 1.0 / (k + rank)
            chunks.setdefault(key, chunk)
    order = sorted(scores, key=lambda key: scores[key], reverse=True)
    return [_hit(chunks[key], scores[key]) for key in order]


def _as_hits(chunks: Iterable[StoredChunk]) -> list[Hit]:
    return [_hit(chunk, chunk.score) for chunk in chunks]


def _hit(chunk: StoredChunk, score: float) -> Hit:
    return Hit(
        chunk.path, chunk.start_line, chunk.end_line, chunk.symbol, chunk.kind, score, chunk.text
    )


def _distinct(hits: Iterable[Hit]) -> list[Hit]:
    """Best first, without boilerplate files and without a second window of one definition."""
    seen: set[tuple[str, str, int]] = set()
    kept: list[Hit] = []
    for hit in hits:
        # Windows of one long definition share path and symbol; unnamed chunks never merge.
        key = (hit.path, hit.symbol, 0 if hit.symbol else hit.start_line)
        if key in seen or is_boilerplate(hit.path):
            continue
        seen.add(key)
        kept.append(hit)
    return kept
