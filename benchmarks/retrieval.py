"""Cross-file retrieval quality on real code: `retrieve_for_cursor` against a RepoCoder-style
sliding-window BM25 baseline.

Task, per installed package: a call ``name(`` in one file whose function or method ``name``
is defined in exactly one other file of the package. The query is the 15 lines before the
call plus the call line up to the cursor; the answer is the definition (a result is right
when it is in the defining file and its lines contain the ``def`` line). Two cursors:
``after-call`` (right after ``name(``: the model needs the signature) and ``before-name``
(at the start of ``name``: the model must guess what to call). Writes JSON and a PNG.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import shutil
import sys
import sysconfig
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ai_lsp.index.chunker import chunk_file
from ai_lsp.index.code_index import CodeIndex

RESULTS = Path(__file__).parent / "results"
DEFAULT_PACKAGES = ("rich", "pydantic", "httpx2", "openai")
CONTEXT_LINES = 15
KS = (1, 5, 10)
WINDOW, STRIDE = 20, 10  # RepoCoder's sliding windows
TOKEN = re.compile(r"\w+")
IMPORT = re.compile(r"^\s*(?:from\s+(\S+)\s+import\s+([^\n#]+)|import\s+([^\n#]+))", re.M)


@dataclass(frozen=True)
class Task:
    package: str
    name: str
    query_path: str
    prefix_after: str  # up to and including "name("
    prefix_before: str  # up to the start of "name"
    def_path: str
    def_line: int  # 1-based line of "def name"


class WindowBM25:
    """Plain BM25 (k1=1.2, b=0.75) over 20-line windows with stride 10, tokens split on
    whitespace and punctuation (RepoCoder's sparse baseline)."""

    def __init__(self, files: dict[str, str], k1: float = 1.2, b: float = 0.75) -> None:
        self.windows: list[tuple[str, int, int]] = []
        self.lengths: list[int] = []
        self.postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for path, text in files.items():
            lines = text.split("\n")
            for start in range(0, max(len(lines) - WINDOW + STRIDE, 1), STRIDE):
                tokens = TOKEN.findall("\n".join(lines[start : start + WINDOW]))
                doc = len(self.windows)
                self.windows.append((path, start + 1, min(start + WINDOW, len(lines))))
                self.lengths.append(len(tokens))
                for token, count in Counter(tokens).items():
                    self.postings[token].append((doc, count))
        self.k1, self.b = k1, b
        self.average = sum(self.lengths) / max(len(self.lengths), 1)

    def search(self, query: str, exclude: str, top_k: int) -> list[tuple[str, int, int]]:
        scores: dict[int, float] = defaultdict(float)
        total = len(self.windows)
        for token, weight in Counter(TOKEN.findall(query)).items():
            postings = self.postings.get(token, [])
            idf = math.log(1 + (total - len(postings) + 0.5) / (len(postings) + 0.5))
            for doc, tf in postings:
                norm = self.k1 * (1 - self.b + self.b * self.lengths[doc] / self.average)
                scores[doc] += weight * idf * tf * (self.k1 + 1) / (tf + norm)
        ranked = sorted(scores, key=scores.__getitem__, reverse=True)
        found = [self.windows[doc] for doc in ranked if self.windows[doc][0] != exclude]
        return found[:top_k]


def build_tasks(package: str, files: dict[str, str], limit: int, rng: random.Random) -> list[Task]:
    """Call sites of functions defined in exactly one other file of the package."""
    definitions: dict[str, list[tuple[str, int, str]]] = defaultdict(list)
    for path, text in files.items():
        lines = text.split("\n")
        for chunk in chunk_file(path, text, None):
            if chunk.kind not in ("function", "method") or not chunk.symbol:
                continue
            name = chunk.symbol.rsplit(".", 1)[-1]
            header = re.compile(rf"^\s*(?:async\s+)?def\s+{re.escape(name)}\s*\(")
            for row in range(chunk.start_line - 1, chunk.end_line):
                if header.match(lines[row]):
                    definitions[name].append((path, row + 1, chunk.symbol))
                    break
    unique = {
        name: places[0]
        for name, places in definitions.items()
        if len({place[0] for place in places}) == 1
        and len(places) == 1
        and len(name) >= 4
        and not name.startswith("__")
    }
    call = re.compile(r"(?<![\w.])((?:[A-Za-z_]\w*\.)*)([A-Za-z_]\w*)\s*\(")
    candidates: list[Task] = []
    for path, text in files.items():
        lines = text.split("\n")
        external, internal = import_aliases(text, package)
        for row, line in enumerate(lines):
            stripped = line.lstrip()
            if stripped.startswith(("#", "def ", "async def ", "class ", "@")):
                continue
            for match in call.finditer(line):
                name = match.group(2)
                if name not in unique or unique[name][0] == path:
                    continue
                receiver = match.group(1).rstrip(".").rsplit(".", 1)[-1]
                if receiver in external:
                    continue  # e.g. `core_schema.x(` calls another package's function
                def_path, def_line, symbol = unique[name]
                if receiver in internal and receiver not in (
                    Path(def_path).stem,
                    symbol.split(".")[0],
                ):
                    continue  # a module or class of the package other than the defining one
                before = "\n".join(lines[max(row - CONTEXT_LINES, 0) : row])
                candidates.append(
                    Task(
                        package,
                        name,
                        path,
                        before + "\n" + line[: match.end()],
                        before + "\n" + line[: match.start(2)],
                        def_path,
                        def_line,
                    )
                )
    rng.shuffle(candidates)
    per_name: Counter[str] = Counter()
    tasks = []
    for task in candidates:
        if per_name[task.name] < 2:
            per_name[task.name] += 1
            tasks.append(task)
    return tasks[:limit]


def import_aliases(text: str, package: str) -> tuple[set[str], set[str]]:
    """Names a file binds by imports: (from other packages, from this package)."""
    external: set[str] = set()
    internal: set[str] = set()
    for from_module, from_names, plain in IMPORT.findall(text):
        if from_module:
            modules = [from_module]
            bound = [n.strip(" ()\\").split(" as ")[-1].strip() for n in from_names.split(",")]
        else:
            parts = [n.strip().split(" as ") for n in plain.split(",")]
            modules = [p[0] for p in parts]
            bound = [p[-1].strip().split(".")[0] for p in parts]
        own = all(m.startswith(".") or m.split(".")[0] == package for m in modules)
        (internal if own else external).update(b for b in bound if b.isidentifier())
    return external, internal


def hit(found: list[tuple[str, int, int]], task: Task) -> int | None:
    """Rank (1-based) of the first result that holds the definition line."""
    for rank, (path, start, end) in enumerate(found, start=1):
        if path == task.def_path and start <= task.def_line <= end:
            return rank
    return None


def recall(ranks: list[int | None]) -> dict[str, float]:
    return {
        f"recall@{k}": round(sum(r is not None and r <= k for r in ranks) / max(len(ranks), 1), 3)
        for k in KS
    }


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(q * len(ordered)), len(ordered) - 1)] if ordered else 0.0


def evaluate(package: str, site: Path, limit: int, seed: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / package
        shutil.copytree(site / package, root, ignore=shutil.ignore_patterns("__pycache__", "*.so"))
        files = {
            p.relative_to(root).as_posix(): p.read_text(encoding="utf-8", errors="replace")
            for p in sorted(root.rglob("*.py"))
        }
        tasks = build_tasks(package, files, limit, random.Random(seed))
        os.environ["AI_LSP_CACHE_DIR"] = str(Path(folder) / "cache")
        index = CodeIndex.open(root)
        assert index.indexer is not None
        index.indexer.reconcile()
        baseline = WindowBM25(files)
        ranks: dict[str, list[int | None]] = defaultdict(list)
        latency: dict[str, list[float]] = defaultdict(list)
        for task in tasks:
            for cursor, prefix in (
                ("after-call", task.prefix_after),
                ("before-name", task.prefix_before),
            ):
                started = time.perf_counter()
                ours = index.searcher.retrieve_for_cursor(
                    prefix, current_path=task.query_path, top_k=10, budget_ms=float("inf")
                )
                middle = time.perf_counter()
                plain = index.searcher.search(prefix, top_k=10, exclude_path=task.query_path)
                latency["retrieve_for_cursor"].append((middle - started) * 1000)
                latency["search"].append((time.perf_counter() - middle) * 1000)
                ranks[f"{cursor}/retrieve_for_cursor"].append(
                    hit([(h.path, h.start_line, h.end_line) for h in ours], task)
                )
                ranks[f"{cursor}/chunk-bm25 (search)"].append(
                    hit([(h.path, h.start_line, h.end_line) for h in plain], task)
                )
                ranks[f"{cursor}/window-bm25 baseline"].append(
                    hit(baseline.search(prefix, task.query_path, 10), task)
                )
        index.close()
    return {
        "package": package,
        "files": len(files),
        "queries": len(tasks),
        "methods": {method: recall(found) for method, found in ranks.items()},
        "latency_ms": {
            method: {
                "p50": round(percentile(values, 0.5), 2),
                "p99": round(percentile(values, 0.99), 2),
            }
            for method, values in latency.items()
        },
    }


def plot(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    overall = report["overall"]
    methods = list(overall)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True)
    for axis, cursor in zip(axes, ("after-call", "before-name"), strict=True):
        names = [m for m in methods if m.startswith(cursor)]
        width = 0.8 / len(names)
        for i, method in enumerate(names):
            values = [overall[method][f"recall@{k}"] for k in KS]
            xs = [x + i * width for x in range(len(KS))]
            axis.bar(xs, values, width, label=method.split("/", 1)[1])
        axis.set_xticks([x + width * (len(names) - 1) / 2 for x in range(len(KS))])
        axis.set_xticklabels([f"recall@{k}" for k in KS])
        axis.set_title(f"cursor {cursor} ({report['queries']} queries)")
        axis.set_ylim(0, 1.25)
        axis.legend(fontsize=8, loc="upper left")
    axes[0].set_ylabel("fraction of calls whose definition is retrieved")
    fig.suptitle("Cross-file definition retrieval: " + ", ".join(report["packages"]))
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--packages", nargs="*", default=list(DEFAULT_PACKAGES))
    parser.add_argument("--per-package", type=int, default=120)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    site = Path(sysconfig.get_paths()["purelib"])
    started = time.time()
    results = [evaluate(p, site, args.per_package, args.seed) for p in args.packages]
    overall: dict[str, dict[str, float]] = {}
    for method in results[0]["methods"]:
        weighted = {
            key: sum(r["methods"][method][key] * r["queries"] for r in results)
            / sum(r["queries"] for r in results)
            for key in results[0]["methods"][method]
        }
        overall[method] = {key: round(value, 3) for key, value in weighted.items()}
    report = {
        "packages": args.packages,
        "queries": sum(r["queries"] for r in results),
        "overall": overall,
        "per_package": results,
        "load_average": os.getloadavg(),
        "cpus": os.cpu_count(),
        "seconds": round(time.time() - started, 1),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "retrieval.json").write_text(json.dumps(report, indent=2) + "\n")
    plot(report, RESULTS / "retrieval.png")
    json.dump(report["overall"], sys.stdout, indent=2)
    print(f"\n{report['queries']} queries; load average {report['load_average']}")


if __name__ == "__main__":
    main()
