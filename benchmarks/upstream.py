"""Sidecar upstream latency with jedi-language-server on real code (an installed package copied
to a temporary workspace): hover and definition round trips, context lookup within a budget,
and what a completion pays to read the prefetch cache (context on) versus nothing (off).

Run from the repository root: `python -m benchmarks.upstream [--samples 150] [--package pygls]`.
Writes benchmarks/results/upstream.json and .png.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import shutil
import sys
import sysconfig
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from ai_lsp.config import Settings, UpstreamConfig
from ai_lsp.notices import Notices
from ai_lsp.text import Document
from ai_lsp.upstream.context import definitions_near_cursor
from ai_lsp.upstream.manager import UpstreamManager

RESULTS = Path(__file__).parent / "results"
CALL = re.compile(r"\b([A-Za-z_]\w{2,})\(")


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)

    def at(q: float) -> float:
        return ordered[min(int(q * len(ordered)), len(ordered) - 1)] if ordered else 0.0

    return {"p50": at(0.5), "p90": at(0.9), "p99": at(0.99), "max": ordered[-1] if ordered else 0.0}


def call_sites(root: Path, samples: int, *, back: int = 0) -> list[tuple[Path, str, int]]:
    """`samples` random (file, text, offset) call sites, seeded: the offset is after `name(`,
    or `back` characters before that (2: inside the called name)."""
    sites: list[tuple[Path, str, int]] = []
    for path in sorted(root.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        sites.extend((path, text, match.end() - back) for match in CALL.finditer(text))
    return random.Random(7).sample(sites, min(samples, len(sites)))


async def measure(root: Path, sites: list[tuple[Path, str, int]]) -> dict[str, Any]:
    settings = Settings(upstream={"python": UpstreamConfig(command=["jedi-language-server"])})
    manager = UpstreamManager(lambda: settings, root, Notices(), request_timeout=10)
    try:
        for path, text, _ in sites:
            manager.open(path.as_uri(), "python", 1, text)
        started = time.perf_counter()
        client = await manager.client_for(sites[0][0].as_uri())
        start_s = time.perf_counter() - started
        hover_ms: list[float] = []
        definition_ms: list[float] = []
        context_ms: list[float] = []
        cached_us: list[float] = []
        found = 0
        for path, text, offset in sites:
            uri = path.as_uri()
            document = Document(uri, "python", 1, text, encoding=client.encoding)
            position = document.position_at(offset - 2)
            for store, ask in ((hover_ms, client.hover), (definition_ms, client.definition)):
                began = time.perf_counter()
                await ask(uri, position)
                store.append((time.perf_counter() - began) * 1000)
        for path, text, offset in sites:
            uri = path.as_uri()
            began = time.perf_counter()
            snippets = await definitions_near_cursor(
                manager, uri, text, offset, "python", budget_ms=500
            )
            context_ms.append((time.perf_counter() - began) * 1000)
            found += bool(snippets)
            await manager.context.prefetch(uri, "python", text, offset)
            began = time.perf_counter()
            manager.context.cached_context(uri, text, offset, 512)
            cached_us.append((time.perf_counter() - began) * 1e6)
        return {
            "server": "jedi-language-server",
            "samples": len(sites),
            "start_s": start_s,
            "hover_ms": percentiles(hover_ms),
            "definition_ms": percentiles(definition_ms),
            "definitions_near_cursor_ms": percentiles(context_ms),
            "sites_with_context": found / len(sites),
            "completion_overhead_us": {"context_off": 0.0, "context_on": percentiles(cached_us)},
            "raw": {"hover_ms": hover_ms, "definition_ms": definition_ms, "context_ms": context_ms},
        }
    finally:
        await manager.aclose()


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    raw = results["raw"]
    fig, axis = plt.subplots(figsize=(7, 3.5))
    axis.boxplot(
        [raw["hover_ms"], raw["definition_ms"], raw["context_ms"]],
        tick_labels=["hover", "definition", "context (budget 500 ms)"],
    )
    axis.set_yscale("log")
    axis.set_ylabel("latency (ms)")
    fig.suptitle(f"upstream sidecar, jedi-language-server, {results['samples']} call sites")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def run_on_package(
    description: str | None,
    samples: int,
    measure: Callable[[Path, int], Awaitable[dict[str, Any]]],
    name: str,
    plot: Callable[[dict[str, Any], Path], None],
) -> int:
    """The command line of the jedi benchmarks: copy `--package` from site-packages into a
    temporary workspace, run `measure(root, samples)`, write `results/<name>.json` and `.png`."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--samples", type=int, default=samples)
    parser.add_argument("--package", default="pygls")
    args = parser.parse_args()
    if shutil.which("jedi-language-server") is None:
        print("jedi-language-server is not installed", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "workspace"
        shutil.copytree(
            Path(sysconfig.get_paths()["purelib"]) / args.package,
            root / args.package,
            ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.pyc"),
        )
        results = asyncio.run(measure(root, args.samples))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(results, indent=2))
    plot(results, RESULTS / f"{name}.png")
    print(json.dumps({key: value for key, value in results.items() if key != "raw"}, indent=2))
    return 0


def main() -> int:
    async def sampled(root: Path, samples: int) -> dict[str, Any]:
        return await measure(root, call_sites(root, samples))

    return run_on_package(__doc__, 150, sampled, "upstream", plot)


if __name__ == "__main__":
    sys.exit(main())
