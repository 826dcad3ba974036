"""What proxy mode costs: hover and definition asked of jedi-language-server directly versus
through ai-lsp in proxy mode, on the same call sites of real code (an installed package
copied to a temporary workspace), with the same raw JSON-RPC client on both sides.

Each site is asked once on both sides to warm jedi's caches (after ai-lsp's background
indexing is done), then measured alternately, so the paired difference is ai-lsp's share. Run from the repository root: `python -m benchmarks.proxy [--samples 200]`.
Writes benchmarks/results/proxy.json and .png.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lsprotocol import types

from ai_lsp.text import Document
from ai_lsp.upstream.client import UpstreamClient
from benchmarks.upstream import call_sites, percentiles, run_on_package

JEDI = ["jedi-language-server"]
METHODS = (types.TEXT_DOCUMENT_HOVER, types.TEXT_DOCUMENT_DEFINITION)
Site = tuple[Path, str, int]


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
    async def sampled(root: Path, samples: int) -> dict[str, Any]:
        return await measure(root, call_sites(root, samples, back=2))

    return run_on_package(__doc__, 200, sampled, "proxy", plot)


if __name__ == "__main__":
    sys.exit(main())
