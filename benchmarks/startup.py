"""Startup: time from spawning `ai-lsp` to its `initialize` response, and RSS right after.

Run: `python benchmarks/startup.py [--runs 10]`. Writes benchmarks/results/startup.json and .png.
Compares against a bare pygls server (the floor) so the numbers can be read in context.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
SETTLE_S = 3.0
BARE_PYGLS = """
from pygls.lsp.server import LanguageServer
LanguageServer("bare", "0").start_io()
"""


def frame(payload: dict[str, object]) -> bytes:
    body = json.dumps(payload).encode()
    return f"Content-Length: {len(body)}\r\n\r\n".encode() + body


def read_message(stream: object) -> dict[str, object]:
    length = 0
    while True:
        line = stream.readline()  # type: ignore[attr-defined]
        if not line:
            raise RuntimeError("server closed stdout")
        if line in (b"\r\n", b"\n"):
            break
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return json.loads(stream.read(length))  # type: ignore[attr-defined,no-any-return]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def one_run(command: list[str], workspace: Path, env: dict[str, str]) -> tuple[float, float, float]:
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "processId": os.getpid(),
            "rootUri": workspace.as_uri(),
            "capabilities": {"general": {"positionEncodings": ["utf-8", "utf-16"]}},
        },
    }
    started = time.perf_counter()
    proc = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env
    )
    assert proc.stdin is not None
    assert proc.stdout is not None
    proc.stdin.write(frame(initialize))
    proc.stdin.flush()
    while True:
        message = read_message(proc.stdout)
        if message.get("id") == 1:
            break
    elapsed = time.perf_counter() - started
    memory = rss_mb(proc.pid)
    # Background work starts at `initialized` (tokenizer, local model): report where RSS settles.
    proc.stdin.write(frame({"jsonrpc": "2.0", "method": "initialized", "params": {}}))
    proc.stdin.flush()
    time.sleep(SETTLE_S)
    settled = rss_mb(proc.pid)
    proc.stdin.write(frame({"jsonrpc": "2.0", "id": 2, "method": "shutdown"}))
    proc.stdin.write(frame({"jsonrpc": "2.0", "method": "exit"}))
    proc.stdin.flush()
    proc.wait(timeout=10)
    return elapsed, memory, settled


def measure(command: list[str], runs: int, env: dict[str, str]) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        workspace = Path(tmp)
        one_run(command, workspace, env)  # warm the OS file cache, as a second launch would be
        samples = [one_run(command, workspace, env) for _ in range(runs)]
    times = [s[0] for s in samples]
    rss = [s[1] for s in samples]
    settled = [s[2] for s in samples]
    return {
        "command": command,
        "runs": runs,
        "initialize_s": times,
        "median_s": statistics.median(times),
        "max_s": max(times),
        "rss_mb": rss,
        "median_rss_mb": statistics.median(rss),
        "settled_rss_mb": settled,
        "median_settled_rss_mb": statistics.median(settled),
    }


def plot(results: dict[str, dict[str, object]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.5))
    names = list(results)
    left.boxplot([results[n]["initialize_s"] for n in names], tick_labels=names)  # type: ignore[misc]
    left.axhline(1.0, color="red", linestyle="--", label="target 1.0 s")
    left.set_ylabel("spawn → initialize response (s)")
    left.legend()
    right.boxplot([results[n]["rss_mb"] for n in names], tick_labels=names)  # type: ignore[misc]
    right.axhline(80, color="red", linestyle="--", label="target 80 MB")
    right.set_ylabel("RSS after initialize (MB)")
    right.legend()
    fig.suptitle("ai-lsp startup (2-core machine)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    exe = shutil.which("ai-lsp", path=str(Path(sys.executable).parent)) or shutil.which("ai-lsp")
    ai_lsp = [exe] if exe else [sys.executable, "-m", "ai_lsp"]
    env = dict(os.environ)
    with tempfile.TemporaryDirectory() as home:
        env.update(
            XDG_CONFIG_HOME=f"{home}/config",
            AI_LSP_STATE_DIR=f"{home}/state",
            AI_LSP_CACHE_DIR=f"{home}/cache",
        )
        results = {
            "ai-lsp": measure(ai_lsp, args.runs, env),
            "bare pygls": measure([sys.executable, "-c", BARE_PYGLS], args.runs, env),
        }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "startup.json").write_text(json.dumps(results, indent=2))
    plot(results, RESULTS / "startup.png")
    for name, r in results.items():
        print(
            f"{name:>11}: median {r['median_s']:.3f} s (max {r['max_s']:.3f} s), "
            f"median RSS {r['median_rss_mb']:.1f} MB after initialize, "
            f"{r['median_settled_rss_mb']:.1f} MB {SETTLE_S:.0f} s after initialized"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
