"""A process killed with SIGKILL in the middle of indexing: the next run repairs and resumes,
and the index ends up exactly as a clean run would make it (no duplicate chunks)."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ai_lsp.index.code_index import CodeIndex

CHILD = """
import os, signal, sys
from pathlib import Path
from ai_lsp.index import indexer as indexer_module
from ai_lsp.index.code_index import CodeIndex
from ai_lsp.index.store import WriteBatch

root, mode, backend = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
indexer_module.FLUSH_FILES = 25
index = CodeIndex.open(root, backend=backend)
index.indexer.workers = 1
store = index.store
write = store.write
batches = 0

def write_then_die(batch):
    global batches
    batches += 1
    if batches < 3:
        return write(batch)
    # The third batch gets as far as its chunks: the catalog rows are never written.
    write(WriteBatch(replace=batch.replace, delete=batch.delete, chunks=batch.chunks))
    os.kill(os.getpid(), signal.SIGKILL)

if mode == "between-writes":
    store.write = write_then_die
index.indexer.reconcile(on_progress=lambda done, total, message: print(done, flush=True))
print("finished", flush=True)
"""


def _workspace(root: Path, files: int = 300) -> None:
    for i in range(files):
        path = root / f"pkg{i % 7}" / f"module_{i}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        body = "\n".join(f"    total += {j} * value_{i}" for j in range(6))
        path.write_text(
            f"def compute_{i}(value_{i}):\n    total = 0\n{body}\n    return total\n\n\n"
            f"class Holder{i}:\n    def get(self):\n        return compute_{i}({i})\n"
        )


def _run_child(root: Path, mode: str, backend: str, kill_after: int | None) -> int:
    with subprocess.Popen(
        [sys.executable, "-c", CHILD, str(root), mode, backend],
        stdout=subprocess.PIPE,
        text=True,
    ) as child:
        assert child.stdout is not None
        for line in child.stdout:
            if kill_after is not None and line.strip().isdigit() and int(line) >= kill_after:
                child.send_signal(signal.SIGKILL)
                break
        return child.wait(timeout=60)


def _reference(root: Path, tmp_path: Path) -> dict[str, tuple[int, frozenset[str]]]:
    clean = CodeIndex.open(root, backend="sqlite", cache_root=tmp_path / "clean")
    assert clean.indexer is not None
    clean.indexer.reconcile()
    census = clean.store.census()
    clean.close()
    return census


@pytest.mark.parametrize(
    ("mode", "backend", "kill_after"),
    [
        ("between-writes", "lancedb", None),
        ("between-writes", "sqlite", None),
        ("during-run", "lancedb", 150),
    ],
)
def test_a_killed_indexer_resumes_without_duplicates(
    tmp_path: Path, mode: str, backend: str, kill_after: int | None
) -> None:
    root = tmp_path / "ws"
    _workspace(root)

    returncode = _run_child(root, mode, backend, kill_after)

    assert returncode == -signal.SIGKILL
    index = CodeIndex.open(root, backend=backend)  # type: ignore[arg-type]
    assert index.indexer is not None
    files_before, _ = index.store.counts()
    assert 0 < files_before < 300  # it really stopped half-way
    report = index.indexer.reconcile()
    assert report.files_indexed >= 300 - files_before
    reference = _reference(root, tmp_path)
    assert index.store.census() == reference
    assert index.store.counts() == (300, sum(count for count, _ in reference.values()))
    hits = index.searcher.search("compute_42", top_k=20)
    assert [(h.path, h.symbol) for h in hits].count(("pkg0/module_42.py", "compute_42")) == 1
    index.close()
