"""Two processes on one index: the first is the writer, the second only reads and never
waits for the writer, and it sees the writer's commits."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from ai_lsp.index.code_index import CodeIndex

WRITER = """
import sys, time
from pathlib import Path
from ai_lsp.index import indexer as indexer_module
from ai_lsp.index.code_index import CodeIndex

indexer_module.FLUSH_FILES = 10
index = CodeIndex.open(Path(sys.argv[1]), backend=sys.argv[2])
index.indexer.workers = 1
print("writer", flush=True)
index.indexer.reconcile(on_progress=lambda done, total, message: time.sleep(0.02))
print("indexed", flush=True)
sys.stdin.readline()  # hold the lock until the test is done
"""


@pytest.mark.parametrize("backend", ["lancedb", "sqlite"])
def test_a_second_process_reads_while_the_first_writes(tmp_path: Path, backend: str) -> None:
    root = tmp_path / "ws"
    for i in range(120):
        path = root / f"m{i}.py"
        path.parent.mkdir(exist_ok=True)
        path.write_text(f"def handler_{i}(event):\n    return event.kind == {i}\n")

    with subprocess.Popen(
        [sys.executable, "-c", WRITER, str(root), backend],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as writer:
        assert writer.stdin is not None
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == "writer"
        reader = CodeIndex.open(root, backend=backend)  # type: ignore[arg-type]
        assert not reader.writable
        assert reader.status().writer_pid == writer.pid
        seen: list[int] = []
        slowest = 0.0
        while len(seen) < 3 or seen[-1] < 120:
            started = time.monotonic()
            seen.append(len(reader.searcher.search("handler event", top_k=200)))
            slowest = max(slowest, time.monotonic() - started)
            assert writer.poll() is None
            time.sleep(0.05)
        assert writer.stdout.readline().strip() == "indexed"
        assert seen == sorted(seen)
        assert seen[0] < 120  # the reader searched while the writer was still writing
        assert slowest < 2.0
        second_reader = CodeIndex.open(root, backend=backend)  # type: ignore[arg-type]
        assert not second_reader.writable
        second_reader.close()
        writer.stdin.write("done\n")
        writer.stdin.flush()
        assert writer.wait(timeout=30) == 0
    reader.close()
    after = CodeIndex.open(root, backend=backend)  # type: ignore[arg-type]
    assert after.writable
    after.close()
