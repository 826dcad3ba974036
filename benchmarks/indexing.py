"""Indexing speed on real code nobody here wrote (installed packages copied to a temporary
workspace), full-text only: full index files/s, chunks/s and peak memory (each run in a fresh
process), the no-change startup reconcile, the time from a file change to it being
searchable, and search and cursor-retrieval latency. Writes JSON and a PNG.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"
PACKAGES = ("openai", "pydantic", "rich", "pygls", "lsprotocol", "httpx2", "httpcore2", "anyio")
WORD = re.compile(r"[A-Za-z_]\w{3,}")


def build_workspace(folder: Path) -> Path:
    site = Path(sysconfig.get_paths()["purelib"])
    root = folder / "workspace"
    for name in PACKAGES:
        shutil.copytree(
            site / name, root / name, ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.pyc")
        )
    (root / ".git").mkdir()
    return root


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(q * len(ordered)), len(ordered) - 1)] if ordered else 0.0


def full_index(root: Path, cache: Path, workers: int | None) -> dict[str, Any]:
    """One full index in this (fresh) process; lancedb is imported before the clock starts."""
    os.environ["AI_LSP_CACHE_DIR"] = str(cache)
    import lancedb  # noqa: F401 - import cost is startup, not indexing

    from ai_lsp.index.code_index import CodeIndex

    index = CodeIndex.open(root)
    assert index.indexer is not None
    if workers is not None:
        index.indexer.workers = workers
    wall, cpu = time.perf_counter(), time.process_time()
    report = index.indexer.reconcile()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    files, chunks = index.store.counts()
    started = time.perf_counter()
    again = index.indexer.reconcile()
    reconcile_s = time.perf_counter() - started
    index.close()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "workers": index.indexer.workers,
        "files": files,
        "chunks": chunks,
        "seconds": round(wall, 2),
        "files_per_s": round(files / wall, 1),
        "chunks_per_s": round(chunks / wall, 1),
        "main_cpu_s": round(cpu, 2),
        "workers_cpu_s": round(children.ru_utime + children.ru_stime, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "worker_peak_rss_mb": round(children.ru_maxrss / 1024, 1),
        "files_indexed": report.files_indexed,
        "unchanged_reconcile_s": round(reconcile_s, 3),
        "unchanged_reconcile_indexed": again.files_indexed,
    }


def in_fresh_process(root: Path, cache: Path, workers: int | None) -> dict[str, Any]:
    shutil.rmtree(cache, ignore_errors=True)
    command = [sys.executable, __file__, "--phase-full", str(root), str(cache)]
    if workers is not None:
        command += ["--workers", str(workers)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def latencies(root: Path, cache: Path, seed: int) -> dict[str, Any]:
    """Change-to-searchable and query latency on the index built in ``cache``."""
    os.environ["AI_LSP_CACHE_DIR"] = str(cache)
    from ai_lsp.index.code_index import CodeIndex

    rng = random.Random(seed)
    index = CodeIndex.open(root)
    assert index.indexer is not None
    files = sorted(p for p in root.rglob("*.py"))
    to_searchable: list[float] = []
    for number, path in enumerate(rng.sample(files, 30)):
        marker = f"zq_marker_{number}_probe"
        path.write_text(path.read_text() + f"\n\ndef {marker}():\n    return {number}\n")
        started = time.perf_counter()
        index.indexer.update_paths([path])
        found = index.searcher.search(marker.replace("_", " "), top_k=1)
        to_searchable.append((time.perf_counter() - started) * 1000)
        assert found, marker
        assert marker in found[0].text, (marker, found[0])
    queries = []
    prefixes = []
    for path in rng.sample(files, 300):
        lines = path.read_text(errors="replace").split("\n")
        words = WORD.findall("\n".join(lines))
        if words:
            start = rng.randrange(len(words))
            queries.append(" ".join(words[start : start + rng.randint(1, 4)]))
        row = rng.randrange(len(lines))
        prefixes.append((path, "\n".join(lines[max(row - 15, 0) : row + 1])))

    def timed() -> tuple[list[float], list[float]]:
        search_ms, cursor_ms = [], []
        for query in queries:
            started = time.perf_counter()
            index.searcher.search(query, top_k=10)
            search_ms.append((time.perf_counter() - started) * 1000)
        for path, prefix in prefixes:
            started = time.perf_counter()
            index.searcher.retrieve_for_cursor(prefix, current_path=path, top_k=5, budget_ms=50)
            cursor_ms.append((time.perf_counter() - started) * 1000)
        return search_ms, cursor_ms

    fresh_search_ms, fresh_cursor_ms = timed()  # 30 saved files not yet merged
    started = time.perf_counter()
    index.indexer.maintain()
    maintain_s = time.perf_counter() - started
    search_ms, cursor_ms = timed()
    index.close()

    def summary(values: list[float]) -> dict[str, float]:
        return {
            "n": len(values),
            "p50_ms": round(percentile(values, 0.5), 1),
            "p99_ms": round(percentile(values, 0.99), 1),
            "max_ms": round(max(values), 1),
        }

    return {
        "change_to_searchable": summary(to_searchable),
        "search": summary(search_ms),
        "retrieve_for_cursor": summary(cursor_ms),
        "search_before_maintenance": summary(fresh_search_ms),
        "retrieve_for_cursor_before_maintenance": summary(fresh_cursor_ms),
        "maintain_s": round(maintain_s, 2),
        "samples_ms": {
            "change_to_searchable": to_searchable,
            "search": search_ms,
            "retrieve_for_cursor": cursor_ms,
        },
    }


def plot(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    runs = report["full_index"]
    labels = [f"workers={run['workers']}" for run in runs]
    left.bar(labels, [run["files_per_s"] for run in runs], color="tab:blue")
    left.axhline(200, color="tab:red", linestyle="--", label="target 200 files/s")
    for x, run in enumerate(runs):
        left.text(
            x,
            run["files_per_s"],
            f"{run['files_per_s']:.0f} files/s\n{run['chunks_per_s']:.0f} chunks/s",
            ha="center",
            va="bottom",
        )
    left.set_ylim(0, max(run["files_per_s"] for run in runs) * 1.3)
    left.set_title(f"full index of {runs[0]['files']} files ({runs[0]['chunks']} chunks)")
    left.set_ylabel("files per second")
    left.legend()
    samples = report["latency"]["samples_ms"]
    right.boxplot(
        [samples["change_to_searchable"], samples["search"], samples["retrieve_for_cursor"]],
        tick_labels=["change to searchable", "search", "retrieve_for_cursor"],
    )
    right.axhline(500, color="tab:red", linestyle="--", label="target 500 ms")
    right.set_yscale("log")
    right.set_ylabel("milliseconds")
    right.set_title("latency")
    right.legend()
    fig.suptitle(f"load average at start {report['load_average_start']}, 2 cores shared")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--phase-full", nargs=2, type=Path, metavar=("ROOT", "CACHE"))
    parser.add_argument("--workers", type=int)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    if args.phase_full:
        root, cache = args.phase_full
        print(json.dumps(full_index(root, cache, args.workers)))
        return
    load_start = [round(x, 2) for x in os.getloadavg()]
    with tempfile.TemporaryDirectory() as folder:
        root = build_workspace(Path(folder))
        cache = Path(folder) / "cache"
        runs = [in_fresh_process(root, cache, None), in_fresh_process(root, cache, 1)]
        latency = latencies(root, cache, args.seed)
    report = {
        "packages": PACKAGES,
        "full_index": runs,
        "latency": latency,
        "cpus": os.cpu_count(),
        "load_average_start": load_start,
        "load_average_end": [round(x, 2) for x in os.getloadavg()],
    }
    RESULTS.mkdir(exist_ok=True)
    plot(report, RESULTS / "indexing.png")
    summary = {key: value for key, value in latency.items() if key != "samples_ms"}
    (RESULTS / "indexing.json").write_text(json.dumps(report, indent=2) + "\n")
    json.dump({"full_index": runs, **summary}, sys.stdout, indent=2)
    print(f"\nload average {report['load_average_start']} -> {report['load_average_end']}")


if __name__ == "__main__":
    main()
