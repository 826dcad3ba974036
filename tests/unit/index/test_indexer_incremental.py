"""The indexer: full and incremental runs, deletions, ignore rules, secrets, batching,
repair, cancellation and cached embeddings."""

from __future__ import annotations

import sqlite3
import threading
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from ai_lsp.index.code_index import CodeIndex
from ai_lsp.index.embedding import Embedder
from ai_lsp.index.store import WriteBatch

BACKENDS = ["lancedb", "sqlite"]
SECRET = "sk-live-TOKEN-7f3a9c1e5b"
PROBE = "dimension probe"


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def _workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    _write(
        root,
        {
            "pkg/payload.py": "def parsePayload(raw):\n    return raw.decode()\n",
            "pkg/client.py": "def send_request(url):\n    return fetch(url)\n",
            "README.md": "# Demo\n\nA demo workspace.\n",
        },
    )
    (root / ".git").mkdir()
    return root


def _open(root: Path, backend: str = "lancedb", embedder: Embedder | None = None) -> CodeIndex:
    return CodeIndex.open(root, backend=backend, embedder=embedder)  # type: ignore[arg-type]


def _symbols(index: CodeIndex, query: str) -> list[str]:
    return [hit.symbol for hit in index.searcher.search(query)]


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_edit_is_searchable_after_update_paths(tmp_path: Path, backend: str) -> None:
    root = _workspace(tmp_path)
    index = _open(root, backend)
    assert index.indexer is not None
    first = index.indexer.reconcile()
    assert (first.files_indexed, first.files_removed) == (3, 0)
    assert "parsePayload" in _symbols(index, "parse payload")

    (root / "pkg" / "payload.py").write_text("def decodeEnvelope(raw):\n    return raw\n")
    report = index.indexer.update_paths([root / "pkg" / "payload.py"])

    assert report.files_indexed == 1
    assert "decodeEnvelope" in _symbols(index, "decode envelope")
    assert "parsePayload" not in _symbols(index, "parse payload")
    index.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_deleted_and_newly_ignored_files_leave_the_index(tmp_path: Path, backend: str) -> None:
    root = _workspace(tmp_path)
    index = _open(root, backend)
    assert index.indexer is not None
    index.indexer.reconcile()

    (root / "pkg" / "client.py").unlink()
    (root / ".gitignore").write_text("README.md\n")
    report = index.indexer.update_paths(["pkg/client.py", "README.md", "../outside.py"])

    assert report.files_removed == 2
    assert set(index.store.catalog()) == {"pkg/payload.py"}
    assert _symbols(index, "send request") == []
    index.close()


def test_folders_in_update_paths_cover_the_files_inside(tmp_path: Path) -> None:
    root = _workspace(tmp_path)
    index = _open(root)
    assert index.indexer is not None
    index.indexer.reconcile()

    _write(
        root,
        {"lib/a.py": "def alpha_fn():\n    pass\n", "lib/sub/b.py": "def beta_fn():\n    pass\n"},
    )
    assert index.indexer.update_paths([root / "lib"]).files_indexed == 2
    assert "lib/sub/b.py" in index.store.catalog()
    (root / "lib" / "sub" / "b.py").unlink()
    (root / "lib" / "sub").rmdir()
    (root / "pkg" / "payload.py").unlink()
    (root / "pkg" / "client.py").unlink()
    (root / "pkg").rmdir()

    report = index.indexer.update_paths([root / "lib" / "sub", root / "pkg"])

    assert report.files_removed == 3
    assert set(index.store.catalog()) == {"README.md", "lib/a.py"}
    index.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_reconcile_finds_new_changed_and_deleted_files_and_skips_unchanged_ones(
    tmp_path: Path, backend: str
) -> None:
    root = _workspace(tmp_path)
    index = _open(root, backend)
    assert index.indexer is not None
    index.indexer.reconcile()
    index.close()

    (root / "pkg" / "client.py").unlink()
    _write(root, {"pkg/new.py": "def brandNew():\n    pass\n"})
    (root / "README.md").write_text("# Demo\n\nChanged text.\n")
    payload = root / "pkg" / "payload.py"
    payload.write_text(payload.read_text())  # same content, new mtime
    index = _open(root, backend)
    assert index.indexer is not None
    before = index.store.commits()
    report = index.indexer.reconcile()

    assert (report.files_indexed, report.files_removed) == (2, 1)
    assert set(index.store.catalog()) == {"pkg/payload.py", "pkg/new.py", "README.md"}
    assert index.store.catalog()["pkg/payload.py"].mtime_ns == payload.stat().st_mtime_ns
    assert "brandNew" in _symbols(index, "brand new")
    assert index.indexer.reconcile().files_indexed == 0
    assert index.store.commits() - before <= 8
    index.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_secrets_are_never_indexed(tmp_path: Path, backend: str) -> None:
    root = _workspace(tmp_path)
    _write(
        root,
        {
            ".env": f"OPENAI_API_KEY={SECRET}\n",
            ".env.local": f"TOKEN={SECRET}\n",
            "keys/id_rsa": f"-----BEGIN OPENSSH PRIVATE KEY-----\n{SECRET}\n",
            "certs/server.pem": f"{SECRET}\n",
            "ignored/notes.py": f"token = '{SECRET}'\n",
            ".gitignore": "ignored/\n",
        },
    )
    index = _open(root, backend)
    assert index.indexer is not None
    index.indexer.reconcile()
    index.indexer.update_paths([root / ".env", root / "keys" / "id_rsa", "ignored/notes.py"])

    assert _every_value(index) != []
    leaks = [value for value in _every_value(index) if "7f3a9c1e5b" in value]
    assert leaks == []
    assert index.searcher.search(SECRET) == []
    folder = Path(index.store.location)
    folder = folder if folder.is_dir() else folder.parent
    index.close()
    assert not [p for p in folder.rglob("*") if p.is_file() and b"7f3a9c1e5b" in p.read_bytes()]


def _every_value(index: CodeIndex) -> list[str]:
    """Every cell of every table of the index, as text."""
    if index.store.backend == "sqlite":
        conn = sqlite3.connect(index.store.location)
        tables = [
            row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
        ]
        values = [
            str(v) for t in tables for row in conn.execute(f'SELECT * FROM "{t}"') for v in row
        ]
        conn.close()
        return values
    import lancedb

    db = lancedb.connect(index.store.location)
    values = []
    for name in db.list_tables().tables:
        for row in db.open_table(name).to_arrow().to_pylist():
            values.extend(str(value) for value in row.values())
    return values


def test_a_branch_switch_of_5000_files_makes_a_few_commits(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    files = {f"mod{i // 100}/f{i}.py": f"def fn_{i}():\n    return {i}\n" for i in range(5000)}
    _write(root, files)
    index = _open(root)
    assert index.indexer is not None
    index.indexer.reconcile()
    _write(root, {rel: text.replace("return", "yield") for rel, text in files.items()})
    before = index.store.commits()

    report = index.indexer.update_paths(root / rel for rel in files)

    assert report.files_indexed == 5000
    assert index.store.counts() == (5000, 5000)
    assert index.store.commits() - before <= 25  # 5 batches of 3 commits, plus compaction
    assert index.searcher.search("fn_4321")[0].path == "mod43/f4321.py"
    index.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_interrupted_batch_is_repaired_on_the_next_run(tmp_path: Path, backend: str) -> None:
    root = _workspace(tmp_path)
    index = _open(root, backend)
    assert index.indexer is not None
    index.indexer.reconcile()
    chunks = len(index.searcher.search("raw decode parse payload", top_k=50))
    # As if killed between writing chunks and their catalog rows: payload.py's chunks
    # twice, client.py's row claiming chunks that are not there.
    store = index.store
    from ai_lsp.index.indexer import prepare_file

    prepared = prepare_file((str(root), "pkg/payload.py", 1_000_000, None))
    assert prepared.chunks
    store.write(WriteBatch(chunks=prepared.chunks))
    client = store.catalog()["pkg/client.py"]
    store.write(WriteBatch(files=[replace(client, chunks=5)]))
    index.close()

    index = _open(root, backend)
    assert index.indexer is not None
    report = index.indexer.reconcile()

    assert report.files_repaired == 2
    assert report.files_indexed == 2
    assert len(index.searcher.search("raw decode parse payload", top_k=50)) == chunks
    census = index.store.census()
    assert {path: count for path, (count, _) in census.items()} == {
        path: record.chunks for path, record in index.store.catalog().items()
    }
    index.close()


def test_maintenance_folds_small_updates_into_the_full_text_index(tmp_path: Path) -> None:
    import lancedb

    root = _workspace(tmp_path)
    index = _open(root)
    assert index.indexer is not None
    index.indexer.reconcile()
    (root / "pkg" / "client.py").write_text("def send_later(url):\n    return url\n")
    index.indexer.update_paths(["pkg/client.py"])

    def unindexed() -> int:
        table = lancedb.connect(index.store.location).open_table("chunks")
        stats = table.index_stats("search_text_idx")
        assert stats is not None
        return int(stats.num_unindexed_rows)

    assert unindexed() > 0
    index.indexer.maintain()
    assert unindexed() == 0
    assert _symbols(index, "send later") == ["send_later"]
    index.close()


def test_progress_is_reported_and_a_cancelled_run_resumes(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    _write(root, {f"f{i}.py": f"def fn_{i}():\n    pass\n" for i in range(60)})
    index = _open(root)
    assert index.indexer is not None
    cancel = threading.Event()
    seen: list[tuple[int, int]] = []

    def progress(done: int, total: int, message: str) -> None:
        seen.append((done, total))
        if done == 20:
            cancel.set()

    report = index.indexer.reconcile(on_progress=progress, cancel=cancel)

    assert report.cancelled
    assert seen[0] == (0, 60)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    assert 0 < index.store.counts()[0] < 60
    assert not index.indexer.reconcile().cancelled
    assert index.store.counts() == (60, 60)
    index.close()


class FakeEmbeddings:
    """Deterministic bag-of-words vectors, counting every text it is asked to embed."""

    def __init__(self) -> None:
        self.texts: Counter[str] = Counter()
        self.calls = 0

    async def __call__(self, texts: list[str]) -> list[list[float]]:
        self.calls += 1
        self.texts.update(texts)
        return [self.vector(text) for text in texts]

    @staticmethod
    def vector(text: str) -> list[float]:
        vector = [0.0] * 8
        for word in text.lower().split():
            vector[sum(map(ord, word)) % 8] += 1.0
        return vector


def test_unchanged_content_is_never_embedded_again(tmp_path: Path) -> None:
    root = _workspace(tmp_path)
    fake = FakeEmbeddings()
    index = _open(root, embedder=Embedder(fake, "fake-model", batch_size=2))
    assert index.indexer is not None
    index.indexer.reconcile()
    first = {text for text in fake.texts if text != PROBE}
    assert len(first) == index.store.counts()[1] == 3
    assert index.store.vector_dim() == 8

    _write(root, {"pkg/extra.py": "def extra():\n    pass\n"})
    (root / "pkg" / "client.py").write_text((root / "pkg" / "client.py").read_text())
    index.indexer.reconcile()
    index.indexer.rebuild()
    index.close()
    index = _open(root, embedder=Embedder(fake, "fake-model"))
    assert index.indexer is not None
    index.indexer.rebuild()

    embedded = Counter({text: n for text, n in fake.texts.items() if text != PROBE})
    assert set(embedded) == first | {"def extra():\n    pass"}
    assert set(embedded.values()) == {1}
    assert all(status == "indexed" for status in (r.status for r in index.store.catalog().values()))
    index.close()
