"""Both stores (LanceDB and the SQLite fallback) behind one interface: writes, the catalog,
filters, symbol boost, vectors, corruption, and the writer lock."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from ai_lsp.index.lock import WriterLock
from ai_lsp.index.store import (
    ChunkRow,
    FileRecord,
    Filter,
    IndexCorrupt,
    Store,
    StoredChunk,
    WriteBatch,
    glob_to_regex,
    index_folder,
    open_store,
)
from ai_lsp.index.tokens import search_text

BACKENDS = ["lancedb", "sqlite"]


def _row(path: str, symbol: str, text: str, *, vector: list[float] | None = None) -> ChunkRow:
    return ChunkRow(
        path=path,
        language="python",
        symbol=symbol,
        kind="function",
        start_line=1,
        end_line=text.count("\n") + 1,
        text=text,
        content_hash=f"h-{path}-{symbol}",
        file_hash=f"f-{path}",
        search_text=search_text(f"{path} {symbol} {text}"),
        symbol_text=search_text(symbol),
        vector=vector,
    )


def _record(path: str, chunks: int) -> FileRecord:
    return FileRecord(path, f"f-{path}", 1, 10, "indexed", chunks)


def _open(tmp_path: Path, backend: str, **kwargs: object) -> Store:
    return open_store(tmp_path / "idx", writable=True, backend=backend, **kwargs)  # type: ignore[arg-type]


def _seed(store: Store) -> None:
    rows = [
        _row("src/parser.py", "parsePayload", "def parsePayload(raw):\n    return decode(raw)"),
        _row("src/http.py", "send_request", "def send_request(url):\n    return fetch(url)"),
        _row("web/app.js", "render", "function render(view) { return view.html }"),
        _row("src/uses.py", "caller", "parse_payload = 1\nresult = payload_parser(parse)"),
    ]
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.path] = counts.get(row.path, 0) + 1
    store.write(
        WriteBatch(
            replace=list(counts),
            chunks=rows,
            files=[_record(path, n) for path, n in counts.items()],
        )
    )
    store.finish()


def _paths(chunks: Sequence[StoredChunk]) -> list[str]:
    return [chunk.path for chunk in chunks]


@pytest.mark.parametrize("backend", BACKENDS)
def test_write_replace_and_delete_keep_catalog_and_chunks_in_step(
    tmp_path: Path, backend: str
) -> None:
    store = _open(tmp_path, backend)
    _seed(store)
    assert store.counts() == (4, 4)
    assert store.census()["src/parser.py"] == (1, frozenset({"f-src/parser.py"}))

    new = _row("src/parser.py", "parse_header", "def parse_header(raw): ...")
    store.write(
        WriteBatch(
            replace=["src/parser.py"],
            delete=["web/app.js"],
            chunks=[new, new],
            files=[_record("src/parser.py", 2)],
        )
    )

    assert store.counts() == (3, 4)
    assert "web/app.js" not in store.catalog()
    assert store.catalog()["src/parser.py"].chunks == 2
    terms = [(token, 1.0) for token in search_text("parse payload").split()]
    found = store.text_search(terms, limit=10, where=Filter())
    assert "web/app.js" not in _paths(found)
    assert [c.symbol for c in found if c.path == "src/parser.py"] == ["parse_header"] * 2
    store.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_filters_and_symbol_boost(tmp_path: Path, backend: str) -> None:
    store = _open(tmp_path, backend)
    _seed(store)
    terms = [("parsepayload", 1.0), ("parse", 0.5), ("payload", 0.5)]

    plain = store.text_search(terms, limit=10, where=Filter())
    boosted = store.text_search(terms, limit=10, where=Filter(), symbol_weight=3.0)
    symbol_only = store.text_search(terms, limit=10, where=Filter(), text_weight=0, symbol_weight=1)

    assert set(_paths(plain)) == {"src/parser.py", "src/uses.py"}
    assert _paths(boosted)[0] == "src/parser.py"
    assert _paths(symbol_only) == ["src/parser.py"]
    excluded = store.text_search(terms, limit=10, where=Filter(exclude_paths=("src/parser.py",)))
    assert _paths(excluded) == ["src/uses.py"]
    anything = [("def", 1.0), ("function", 1.0), ("return", 1.0)]
    assert _paths(store.text_search(anything, limit=10, where=Filter(language="python"))) != []
    assert set(_paths(store.text_search(anything, limit=10, where=Filter(path_glob="*.js")))) == {
        "web/app.js"
    }
    in_src = store.text_search(anything, limit=10, where=Filter(path_glob="src/**"))
    assert set(_paths(in_src)) == {"src/parser.py", "src/http.py"}
    assert store.text_search([], limit=10, where=Filter()) == []
    store.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_vectors_search_and_cache(tmp_path: Path, backend: str) -> None:
    store = _open(tmp_path, backend, vector_dim=3)
    assert store.vector_dim() == 3
    rows = [
        _row("a.py", "a", "alpha", vector=[1.0, 0.0, 0.0]),
        _row("b.py", "b", "beta", vector=[0.0, 1.0, 0.0]),
        _row("c.py", "c", "gamma", vector=None),
    ]
    store.write(WriteBatch(chunks=rows, files=[_record(p, 1) for p in ("a.py", "b.py", "c.py")]))

    nearest = store.vector_search([0.9, 0.1, 0.0], limit=5, where=Filter())
    assert _paths(nearest) == ["a.py", "b.py"]
    assert nearest[0].score > nearest[1].score
    assert _paths(
        store.vector_search([1, 0, 0], limit=5, where=Filter(exclude_paths=("a.py",)))
    ) == ["b.py"]
    assert store.vector_search([1.0, 0.0], limit=5, where=Filter()) == []

    store.cache_vectors("m", {"h1": [0.5, 0.25, 1.0]})
    assert store.cached_vectors("m", ["h1", "h2"]) == {"h1": [0.5, 0.25, 1.0]}
    assert store.cached_vectors("other-model", ["h1"]) == {}
    store.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_reader_sees_the_writers_commits_and_cannot_open_a_missing_index(
    tmp_path: Path, backend: str
) -> None:
    with pytest.raises(IndexCorrupt):
        open_store(tmp_path / "idx", writable=False, backend=backend)  # type: ignore[arg-type]
    writer = _open(tmp_path, backend)
    reader = open_store(tmp_path / "idx", writable=False, backend=backend)  # type: ignore[arg-type]
    assert reader.counts() == (0, 0)
    _seed(writer)
    assert reader.counts() == (4, 4)
    assert _paths(reader.text_search([("render", 1.0)], limit=3, where=Filter())) == ["web/app.js"]
    writer.close()
    reader.close()


def test_a_damaged_lancedb_index_is_detected_and_rebuilt(tmp_path: Path) -> None:
    store = _open(tmp_path, "lancedb")
    _seed(store)
    store.close()
    for data_file in (tmp_path / "idx" / "chunks.lance" / "data").iterdir():
        data_file.unlink()

    with pytest.raises(IndexCorrupt):
        open_store(tmp_path / "idx", writable=False, backend="lancedb")
    rebuilt = _open(tmp_path, "lancedb")

    assert rebuilt.counts() == (0, 0)
    _seed(rebuilt)
    assert rebuilt.counts() == (4, 4)


def test_a_damaged_sqlite_index_is_detected_and_rebuilt(tmp_path: Path) -> None:
    store = _open(tmp_path, "sqlite")
    _seed(store)
    store.close()
    database = tmp_path / "idx" / "index.sqlite3"
    database.write_bytes(b"this is not a database" * 100)

    with pytest.raises(IndexCorrupt):
        open_store(tmp_path / "idx", writable=False, backend="sqlite")
    rebuilt = _open(tmp_path, "sqlite")

    assert rebuilt.counts() == (0, 0)


def test_a_changed_vector_size_recreates_the_chunk_table(tmp_path: Path) -> None:
    store = _open(tmp_path, "lancedb")
    _seed(store)
    store.close()

    with_vectors = _open(tmp_path, "lancedb", vector_dim=4)

    assert with_vectors.vector_dim() == 4
    assert with_vectors.counts() == (0, 0)  # the catalog goes too, so everything is re-added


@pytest.mark.parametrize(
    ("pattern", "matches", "misses"),
    [
        ("*.py", ["a.py", "src/deep/b.py"], ["a.pyc", "a.py/x"]),
        ("src/*.py", ["src/a.py"], ["src/deep/a.py", "lib/src/a.py"]),
        ("src/**/*.py", ["src/a.py", "src/x/y/a.py"], ["lib/a.py"]),
        ("docs/**", ["docs/a", "docs/x/y.md"], ["src/docs"]),
        ("test_?.py", ["test_1.py"], ["test_12.py"]),
        ("[ab]*.rs", ["a.rs", "b1.rs"], ["c.rs"]),
        ("file (1).txt", ["file (1).txt"], ["file 1.txt"]),
    ],
)
def test_glob_to_regex(pattern: str, matches: list[str], misses: list[str]) -> None:
    regex = re.compile(glob_to_regex(pattern))
    assert all(regex.search(path) for path in matches)
    assert not any(regex.search(path) for path in misses)


def test_index_folder_is_per_workspace_under_the_cache(tmp_path: Path) -> None:
    one, two = tmp_path / "ws one", tmp_path / "nested" / "ws one"
    one.mkdir()
    two.mkdir(parents=True)

    first, second = index_folder(one, tmp_path / "cache"), index_folder(two, tmp_path / "cache")

    assert first != second
    assert first.parent == tmp_path / "cache" / "index"
    assert first.name.startswith("ws_one-")
    assert index_folder(one / ".." / "ws one", tmp_path / "cache") == first


def test_the_writer_lock_is_exclusive_and_dies_with_its_process(tmp_path: Path) -> None:
    first, second = WriterLock(tmp_path), WriterLock(tmp_path)
    assert first.acquire()
    assert not second.acquire()
    first.release()
    assert second.acquire()
    second.release()

    script = (
        "import sys, time; from pathlib import Path; from ai_lsp.index.lock import WriterLock;"
        "assert WriterLock(Path(sys.argv[1])).acquire(); print('held', flush=True); time.sleep(60)"
    )
    lock = WriterLock(tmp_path)
    with subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path)], stdout=subprocess.PIPE, text=True
    ) as holder:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        assert not lock.acquire()
        assert lock.holder() == holder.pid
        holder.kill()
    assert lock.acquire()  # the kernel released the dead process's lock
    lock.release()
