"""didSave to searchable, through the real server: a new file is saved, then
`ai-lsp.index.status` is polled until the index holds it (the same commit makes it searchable).

Run: `python -m benchmarks.save_to_search [--saves 30]`. Writes results/save_to_search.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sysconfig
import tempfile
import time
from pathlib import Path
from typing import Any

from lsprotocol import types

from tests.e2e.session import lsp_session

RESULTS = Path(__file__).parent / "results"
PACKAGES = ("pygls", "lsprotocol", "httpx2", "rich")


async def status(client: Any) -> dict[str, Any]:
    answer = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="ai-lsp.index.status", arguments=[])
    )
    assert isinstance(answer, dict)
    return answer


async def measure(root: Path, saves: int) -> dict[str, Any]:
    async with lsp_session(root, init_options={"completion": {"model": "local"}}) as client:
        started = time.perf_counter()
        for _ in range(6000):  # polled: the server has no "indexed" notification
            if (current := await status(client)).get("state") == "ready":
                break
            await asyncio.sleep(0.05)
        indexed_s = time.perf_counter() - started
        files = current["files"]
        latencies = []
        for n in range(saves):
            path = root / f"saved_{n}.py"
            path.write_text(f"def saved_function_{n}(value):\n    return value * {n}\n")
            sent = time.perf_counter()
            client.text_document_did_save(
                types.DidSaveTextDocumentParams(
                    text_document=types.TextDocumentIdentifier(uri=path.as_uri())
                )
            )
            for _ in range(2000):
                if (await status(client))["files"] > files:
                    break
                await asyncio.sleep(0.005)
            latencies.append((time.perf_counter() - sent) * 1000)
            files += 1
            await asyncio.sleep(0.3)  # a user saves now and then, not in a burst
    ordered = sorted(latencies)
    return {
        "files_at_start": current["files"],
        "initial_index_s": round(indexed_s, 2),
        "saves": saves,
        "save_to_searchable_ms": {
            "p50": statistics.median(ordered),
            "p90": ordered[int(0.9 * (len(ordered) - 1))],
            "max": ordered[-1],
        },
        "load_avg": os.getloadavg(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--saves", type=int, default=30)
    args = parser.parse_args()
    purelib = Path(sysconfig.get_paths()["purelib"])
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "workspace"
        (root / ".git").mkdir(parents=True)
        for package in PACKAGES:
            if (purelib / package).is_dir():
                shutil.copytree(
                    purelib / package,
                    root / package,
                    ignore=shutil.ignore_patterns("__pycache__", "*.so"),
                )
        os.environ.setdefault("AI_LSP_CACHE_DIR", str(Path(folder) / "cache"))
        os.environ.setdefault("AI_LSP_STATE_DIR", str(Path(folder) / "state"))
        result = asyncio.run(measure(root, args.saves))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "save_to_search.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
