"""What proxy mode costs: hover and definition asked of jedi-language-server directly versus
through ai-lsp in proxy mode, on the same call sites of real code (an installed package
copied to a temporary workspace), with the same raw JSON-RPC client on both sides.

Each site is asked once on both sides to warm jedi's caches (after ai-lsp's background
indexing is done), then measured alternately, so the paired difference is ai-lsp's share. Run: `python benchmarks/proxy.py [--samples 200]`.
Writes benchmarks/results/proxy.json and .png.
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
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lsprotocol import types

from ai_lsp.text import Document
from ai_lsp.upstream.client import UpstreamClient

RESULTS = Path(__file__).parent / "results"
CALL = re.compile(r"\b([A-Za-z_]\w{2,})\(")
JEDI = ["jedi-language-server"]
METHODS = (types.TEXT_DOCUMENT_HOVER, types.TEXT_DOCUMENT_DEFINITION)
Site = tuple[Path, str, int]


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)

    def at(q: float) -> float:
        return ordered[min(int(q * len(ordered)), len(ordered) - 1)] if ordered else 0.0

    return {"p50": at(0.5), "p90": at(0.9), "p99": at(0.99), "max": ordered[-1] if ordered else 0.0}


def call_sites(root: Path, samples: int) -> list[Site]:
    """`samples` random (file, text, offset inside a called name) call sites, seeded."""
    sites: list[Site] = []
    for path in sorted(root.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        sites.extend((path, text, match.end() - 2) for match in CALL.finditer(text))
    return random.Random(7).sample(sites, min(samples, len(sites)))


async def connect(command: list[str], root: Path, options: dict[str, Any]) -> UpstreamClient:
    """A client for `command`, initialized on `root` (it answers what servers ask as a sidecar)."""
    client = await UpstreamClient.start(command, cwd=root, name=command[0], request_timeout=30)
    await client.initialize(root.as_uri(), options)
    return client


async def indexed(client: UpstreamClient) -> None:
    """Wait for ai-lsp's background indexing of the workspace, which would compete for the CPU."""
    params = {"command": "ai-lsp.index.status", "arguments": []}
    while True:
        status = await client.transport.request(types.WORKSPACE_EXECUTE_COMMAND, params, timeout=30)
        if status.get("state") == "ready":
            return
        await asyncio.sleep(0.2)


async def ask(client: UpstreamClient, method: str, site: Site) -> float:
    """Milliseconds for one raw request at `site`."""
    path, text, offset = site
    position = Document(path.as_uri(), "python", 1, text, encoding=client.encoding).position_at(
        offset
    )
    params = {
        "textDocument": {"uri": path.as_uri()},
        "position": {"line": position.line, "character": position.character},
    }
    began = time.perf_counter()
    await client.transport.request(method, params, timeout=30)
    return (time.perf_counter() - began) * 1000


async def measure(root: Path, sites: list[Site]) -> dict[str, Any]:
    proxy_options = {"upstream": {"python": {"command": JEDI, "mode": "proxy"}}}
    started = time.perf_counter()
    direct = await connect(JEDI, root, {})
    direct_start_s = time.perf_counter() - started
    started = time.perf_counter()
    proxied = await connect([sys.executable, "-m", "ai_lsp"], root, proxy_options)
    proxied_start_s = time.perf_counter() - started
    try:
        await indexed(proxied)
        for client in (direct, proxied):
            for path in sorted({site[0] for site in sites}):
                client.did_open(path.as_uri(), "python", 1, path.read_text(encoding="utf-8"))
        for site in sites:  # warm jedi's caches on both sides alike
            for method in METHODS:
                await ask(direct, method, site)
                await ask(proxied, method, site)
        timings: dict[str, dict[str, list[float]]] = {
            method: {"direct": [], "proxied": []} for method in METHODS
        }
        for index, site in enumerate(sites):
            for method in METHODS:
                pair: list[tuple[str, UpstreamClient]] = [("direct", direct), ("proxied", proxied)]
                for side, client in pair if index % 2 else pair[::-1]:
                    timings[method][side].append(await ask(client, method, site))
    finally:
        await asyncio.gather(direct.aclose(), proxied.aclose())
    summary: dict[str, Any] = {
        "server": "jedi-language-server",
        "samples": len(sites),
        "start_s": {"direct": direct_start_s, "proxied": proxied_start_s},
    }
    for method in METHODS:
        side = timings[method]
        extra = [p - d for d, p in zip(side["direct"], side["proxied"], strict=True)]
        summary[method] = {
            "direct_ms": percentiles(side["direct"]),
            "proxied_ms": percentiles(side["proxied"]),
            "extra_ms": percentiles(extra),
        }
    summary["raw"] = timings
    return summary


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    names: Callable[[str], str] = lambda method: method.rpartition("/")[2]  # noqa: E731
    for axis, method in zip(axes, METHODS, strict=True):
        raw = results["raw"][method]
        axis.boxplot([raw["direct"], raw["proxied"]], tick_labels=["direct", "through ai-lsp"])
        axis.set_yscale("log")
        axis.set_ylabel("latency (ms)")
        extra = results[method]["extra_ms"]
        axis.set_title(
            f"{names(method)}: +{extra['p50']:.2f} ms p50, +{extra['p99']:.2f} ms p99", fontsize=9
        )
    fig.suptitle(
        f"proxy mode overhead, jedi-language-server, {results['samples']} call sites", fontsize=10
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=200)
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
        results = asyncio.run(measure(root, call_sites(root, args.samples)))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "proxy.json").write_text(json.dumps(results, indent=2))
    plot(results, RESULTS / "proxy.png")
    print(json.dumps({key: value for key, value in results.items() if key != "raw"}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
