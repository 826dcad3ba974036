"""The LanceDB `Store`: chunk, file, docs and vector-cache tables, native BM25 full-text
indexes on the identifier-split columns, and cosine vector search.

lancedb and pyarrow are imported here only, and this module only when an index is opened.
"""

from __future__ import annotations

import logging
import math
import shutil
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import astuple
from datetime import timedelta
from pathlib import Path
from typing import Any

import lancedb
import pyarrow as pa
from lancedb.index import FTS
from lancedb.query import BooleanQuery, FullTextQuery, MatchQuery, Occur

from ai_lsp.index.store import (
    ChunkRow,
    FileRecord,
    Filter,
    IndexCorrupt,
    StoredChunk,
    WriteBatch,
    glob_to_regex,
)

__all__ = ["LanceStore"]

log = logging.getLogger(__name__)

FTS_COLUMNS = ("search_text", "symbol_text")
# Tokens are already lower-cased and split by `tokens.search_text`: split on spaces only,
# keep every token whole (no stemming, no stop words, no length cap).
FTS_CONFIG = FTS(
    base_tokenizer="whitespace",
    lower_case=False,
    stem=False,
    remove_stop_words=False,
    ascii_folding=False,
    max_token_length=None,
)
OPTIMIZE_ROWS = 500  # fold unindexed rows into the FTS index past this many changes
OPTIMIZE_WRITES = 20  # ... or after this many small writes
KEEP_VERSIONS = timedelta(minutes=10)  # readers refresh per query, so old versions are dead
IN_LIST = 1_000  # values per SQL IN list

_RESULT_COLUMNS = [
    "path",
    "language",
    "symbol",
    "kind",
    "start_line",
    "end_line",
    "text",
    "content_hash",
]
_CHUNK_FIELDS = [
    pa.field("path", pa.string()),
    pa.field("language", pa.string()),
    pa.field("symbol", pa.string()),
    pa.field("kind", pa.string()),
    pa.field("start_line", pa.int32()),
    pa.field("end_line", pa.int32()),
    pa.field("text", pa.string()),
    pa.field("content_hash", pa.string()),
    pa.field("file_hash", pa.string()),
    pa.field("search_text", pa.string()),
    pa.field("symbol_text", pa.string()),
]
FILES_SCHEMA = pa.schema(
    [
        pa.field("path", pa.string()),
        pa.field("hash", pa.string()),
        pa.field("mtime_ns", pa.int64()),
        pa.field("size", pa.int64()),
        pa.field("status", pa.string()),
        pa.field("chunks", pa.int32()),
    ]
)
DOCS_SCHEMA = pa.schema(
    [
        pa.field("source", pa.string()),
        pa.field("url", pa.string()),
        pa.field("title", pa.string()),
        pa.field("text", pa.string()),
        pa.field("search_text", pa.string()),
        pa.field("vector", pa.list_(pa.float32())),
    ]
)
VECTORS_SCHEMA = pa.schema(
    [
        pa.field("model", pa.string()),
        pa.field("content_hash", pa.string()),
        pa.field("vector", pa.list_(pa.float32())),
    ]
)


def chunk_schema(vector_dim: int | None) -> pa.Schema:
    """The ``chunks`` schema, with a fixed-size vector column when ``vector_dim`` is set."""
    fields = list(_CHUNK_FIELDS)
    if vector_dim is not None:
        fields.append(pa.field("vector", pa.list_(pa.float32(), vector_dim)))
    return pa.schema(fields)


class LanceStore:
    """A LanceDB database for one workspace (see `store.Store` for the methods)."""

    backend = "lancedb"

    def __init__(self, uri: str, *, writable: bool, vector_dim: int | None = None) -> None:
        self.location = uri
        self.writable = writable
        # A reader checks for new versions on every query so it sees the writer's commits.
        interval = None if writable else timedelta(0)
        self._db = lancedb.connect(uri, read_consistency_interval=interval)
        self._pending_rows = 0
        self._pending_writes = 0
        try:
            self._open(vector_dim)
        except (OSError, RuntimeError, ValueError, KeyError, pa.ArrowException) as error:
            if not writable:
                raise IndexCorrupt(f"the index at {uri} cannot be read: {error}") from error
            log.warning("the index at %s is damaged (%s): rebuilding it", uri, error)
            for name in ("chunks", "files", "docs", "vectors"):
                self._drop(name)
            self._open(vector_dim)

    def _open(self, vector_dim: int | None) -> None:
        names = set(self._db.list_tables().tables)
        if not self.writable and not {"chunks", "files"} <= names:
            raise IndexCorrupt(f"no index at {self.location} yet")
        self._chunks = self._table("chunks", chunk_schema(vector_dim), names)
        self._files = self._table("files", FILES_SCHEMA, names)
        self._docs = self._table("docs", DOCS_SCHEMA, names)
        self._vectors = self._table("vectors", VECTORS_SCHEMA, names)
        wanted = chunk_schema(vector_dim if vector_dim is not None else self.vector_dim())
        if self.writable and self._chunks.schema != wanted:
            log.info("the chunk table's columns changed: re-indexing")
            self._chunks = self._recreate("chunks", wanted)
            self._files = self._recreate("files", FILES_SCHEMA)
        if self.writable:
            self._ensure_fts()
        # Read every catalog row and every chunk's path: damaged data files fail here.
        self._files.to_arrow()
        self._scan(self._chunks, ["path"], None)
        self._vectors.count_rows()

    def _table(self, name: str, schema: pa.Schema, names: set[str]) -> Any:
        if name in names:
            return self._db.open_table(name)
        if not self.writable:
            raise IndexCorrupt(f"table {name} is missing from {self.location}")
        return self._db.create_table(name, schema=schema)

    def _recreate(self, name: str, schema: pa.Schema) -> Any:
        self._drop(name)
        table = self._db.create_table(name, schema=schema)
        if name == "chunks":
            self._chunks = table
            self._ensure_fts()
        return table

    def _drop(self, name: str) -> None:
        try:
            self._db.drop_table(name)
        except Exception:  # a damaged table may fail to drop in any way
            local = Path(self.location) / f"{name}.lance"
            if local.is_dir():
                shutil.rmtree(local)

    def _ensure_fts(self) -> None:
        present = {column for index in self._chunks.list_indices() for column in index.columns}
        for column in FTS_COLUMNS:
            if column not in present:
                self._chunks.create_index(column, config=FTS_CONFIG, replace=True)

    def catalog(self) -> dict[str, FileRecord]:
        rows = self._files.to_arrow().to_pylist()
        return {row["path"]: FileRecord(**row) for row in rows}

    def census(self) -> dict[str, tuple[int, frozenset[str]]]:
        table = self._scan(self._chunks, ["path", "file_hash"], None)
        grouped = table.group_by(["path", "file_hash"]).aggregate([([], "count_all")])
        census: dict[str, tuple[int, frozenset[str]]] = {}
        for row in grouped.to_pylist():
            count, hashes = census.get(row["path"], (0, frozenset()))
            census[row["path"]] = (count + row["count_all"], hashes | {row["file_hash"]})
        return census

    def write(self, batch: WriteBatch) -> None:
        gone = sorted({*batch.replace, *batch.delete})
        for condition in _in_conditions("path", gone):
            self._chunks.delete(condition)
        if batch.chunks:
            self._chunks.add(self._chunk_table(batch.chunks))
        in_merge = 0 < len(batch.delete) <= IN_LIST and bool(batch.files)
        if batch.files:
            rows = pa.Table.from_pylist(
                [dict(zip(FILES_SCHEMA.names, astuple(r), strict=True)) for r in batch.files],
                schema=FILES_SCHEMA,
            )
            merge = self._files.merge_insert("path").when_matched_update_all()
            merge = merge.when_not_matched_insert_all()
            if in_merge:
                merge = merge.when_not_matched_by_source_delete(_in_sql("path", batch.delete))
            merge.execute(rows)
        if not in_merge:
            for condition in _in_conditions("path", sorted(batch.delete)):
                self._files.delete(condition)
        self._pending_rows += len(batch.chunks) + len(gone)
        self._pending_writes += 1

    def _chunk_table(self, chunks: Sequence[ChunkRow]) -> pa.Table:
        schema = self._chunks.schema
        columns: dict[str, list[Any]] = {name: [] for name in schema.names}
        has_vector = "vector" in columns
        for chunk in chunks:
            for name in _CHUNK_FIELDS:
                columns[name.name].append(getattr(chunk, name.name))
            if has_vector:
                columns["vector"].append(chunk.vector)
        return pa.Table.from_pydict(columns, schema=schema)

    def drop_paths(self, paths: Sequence[str]) -> None:
        self.write(WriteBatch(delete=paths))

    def finish(self, *, force: bool = False) -> None:
        due = self._pending_rows >= OPTIMIZE_ROWS or self._pending_writes >= OPTIMIZE_WRITES
        if due or (force and self._pending_writes):
            for table in (self._chunks, self._files, self._vectors):
                table.optimize(cleanup_older_than=KEEP_VERSIONS)
            self._pending_rows = self._pending_writes = 0

    def clear(self) -> None:
        self._recreate("chunks", self._chunks.schema)
        self._files = self._recreate("files", FILES_SCHEMA)

    def text_search(
        self,
        terms: Sequence[tuple[str, float]],
        *,
        limit: int,
        where: Filter,
        text_weight: float = 1.0,
        symbol_weight: float = 0.0,
    ) -> list[StoredChunk]:
        weights: dict[str, float] = {}
        for token, weight in terms:
            if token and weight > 0:
                weights[token] = weights.get(token, 0.0) + weight
        columns = [
            (c, w) for c, w in zip(FTS_COLUMNS, (text_weight, symbol_weight), strict=True) if w > 0
        ]
        if not weights or not columns or limit <= 0:
            return []
        # One OR-clause per weight level and column: far cheaper than a clause per token,
        # above all over rows not yet in the FTS index. Levels are powers of √2.
        levels: dict[float, list[str]] = {}
        for token, weight in weights.items():
            levels.setdefault(2.0 ** (round(2 * math.log2(weight)) / 2), []).append(token)
        clauses = [
            (Occur.SHOULD, _match(" ".join(tokens), column, level * column_weight))
            for column, column_weight in columns
            for level, tokens in levels.items()
        ]
        query = self._chunks.search(BooleanQuery(clauses), query_type="fts")
        return self._run(query, where, limit, "_score")

    def vector_search(
        self, vector: Sequence[float], *, limit: int, where: Filter
    ) -> list[StoredChunk]:
        if self.vector_dim() != len(vector) or limit <= 0:
            return []
        query = self._chunks.search(list(vector), vector_column_name="vector")
        return self._run(query.distance_type("cosine"), where, limit, "_distance")

    def _run(self, query: Any, where: Filter, limit: int, score: str) -> list[StoredChunk]:
        condition = _where_sql(where)
        if condition is not None:
            query = query.where(condition, prefilter=True)
        rows = query.select([*_RESULT_COLUMNS, score]).limit(limit).to_list()
        return [
            StoredChunk(
                **{name: row[name] for name in _RESULT_COLUMNS},
                score=float(row[score]) if score == "_score" else 1.0 - float(row[score]),
            )
            for row in rows
        ]

    def vector_dim(self) -> int | None:
        fields = {field.name: field.type for field in self._chunks.schema}
        vector_type = fields.get("vector")
        return None if vector_type is None else int(vector_type.list_size)

    def cached_vectors(self, model: str, hashes: Sequence[str]) -> dict[str, list[float]]:
        found: dict[str, list[float]] = {}
        for condition in _in_conditions("content_hash", sorted(set(hashes))):
            where = f"model = {_sql(model)} AND {condition}"
            table = self._scan(self._vectors, ["content_hash", "vector"], where)
            for row in table.to_pylist():
                found[row["content_hash"]] = row["vector"]
        return found

    def cache_vectors(self, model: str, vectors: Mapping[str, Sequence[float]]) -> None:
        if vectors:
            rows = [
                {"model": model, "content_hash": key, "vector": list(value)}
                for key, value in vectors.items()
            ]
            self._vectors.add(pa.Table.from_pylist(rows, schema=VECTORS_SCHEMA))

    def counts(self) -> tuple[int, int]:
        return int(self._files.count_rows()), int(self._chunks.count_rows())

    def commits(self) -> int:
        return int(self._chunks.version) + int(self._files.version)

    def close(self) -> None:
        """Nothing to release: LanceDB tables hold no locks or descriptors between calls."""

    @staticmethod
    def _scan(table: Any, columns: list[str], where: str | None) -> pa.Table:
        query = table.search().select(columns)
        if where is not None:
            query = query.where(where)
        return query.limit(None).to_arrow()


def _match(tokens: str, column: str, boost: float) -> FullTextQuery:
    """Any of the space-separated tokens in ``column``, scores times ``boost``."""
    # A pydantic dataclass: mypy, without pydantic's plugin, sees its defaults as required.
    return MatchQuery(tokens, column, boost=boost)  # type: ignore[call-arg]


def _where_sql(where: Filter) -> str | None:
    parts: list[str] = []
    if where.exclude_paths:
        parts.append(f"NOT {_in_sql('path', where.exclude_paths)}")
    if where.paths:
        parts.append(_in_sql("path", where.paths))
    if where.language:
        parts.append(f"language = {_sql(where.language)}")
    if where.path_glob:
        parts.append(f"regexp_like(path, {_sql(glob_to_regex(where.path_glob))})")
    return " AND ".join(parts) or None


def _in_conditions(column: str, values: Sequence[str]) -> Iterable[str]:
    for start in range(0, len(values), IN_LIST):
        yield _in_sql(column, values[start : start + IN_LIST])


def _in_sql(column: str, values: Iterable[str]) -> str:
    return f"{column} IN ({', '.join(_sql(value) for value in values)})"


def _sql(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
