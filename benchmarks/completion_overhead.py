"""Completion overhead (request to answer minus the backend's own time, instant fake backend)
while typing into a 2,000-line module, in-process and over stdio; also the benchmarks' harness.
Run from the repository root: `python -m benchmarks.completion_overhead [--requests N]`."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lsprotocol import types

from ai_lsp.completion.service import CompletionService
from ai_lsp.config import Settings
from ai_lsp.documents import DocumentStore
from ai_lsp.notices import Notices
from ai_lsp.prompting.tokens import count_for_model
from ai_lsp.providers.registry import ProviderRegistry
from tests.e2e.session import lsp_session, open_document
from tests.fakes.fixtures import fake_settings
from tests.fakes.openai_server import COMPLETIONS, FakeOpenAI
from tests.fakes.replies import Text

RESULTS = Path(__file__).parent / "results"
SHARED_TIKTOKEN = Path(__file__).resolve().parents[2] / "shared" / "tiktoken-cache"


def isolate() -> Path:
    """Private config/state/cache dirs (as the tests use) and the offline tokenizer."""
    home = Path(tempfile.mkdtemp(prefix="ai-lsp-bench-"))
    os.environ.update(
        XDG_CONFIG_HOME=str(home / "config"),
        AI_LSP_STATE_DIR=str(home / "state"),
        AI_LSP_CACHE_DIR=str(home / "cache"),
        AI_LSP_NO_TOKENIZER_DOWNLOAD="1",
    )
    if SHARED_TIKTOKEN.is_dir():
        os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(SHARED_TIKTOKEN))
    return home


def source_file() -> Path:
    import pydantic.fields

    return Path(pydantic.fields.__file__)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(q * len(ordered)), len(ordered) - 1)] if ordered else 0.0


def summary(values: list[float]) -> dict[str, float]:
    return {
        "count": len(values),
        "p50": round(percentile(values, 0.5), 3),
        "p90": round(percentile(values, 0.9), 3),
        "p99": round(percentile(values, 0.99), 3),
        "max": round(max(values, default=0.0), 3),
        "mean": round(sum(values) / len(values), 3) if values else 0.0,
    }


def machine() -> dict[str, Any]:
    return {"load_avg_1_5_15": [round(x, 2) for x in os.getloadavg()], "cpus": os.cpu_count()}


def backend_ms(fake: FakeOpenAI, index: int) -> float:
    """The fake endpoint's own time for request `index`: from receiving it to the end of its
    answer, or to the client hanging up (single-line requests stop at the first newline)."""
    request = fake.requests(COMPLETIONS)[index]
    end = request.finished_at
    if end is None:
        gone = [d.at for d in fake.disconnects(COMPLETIONS) if d.request == request.index]
        end = gone[0] if gone else request.received_at
    return (end - request.received_at) * 1000


def inline_params(uri: str, line: int, character: int, *, invoked: bool) -> Any:
    kind = types.InlineCompletionTriggerKind
    return types.InlineCompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=types.Position(line, character),
        context=types.InlineCompletionContext(
            trigger_kind=kind.Invoked if invoked else kind.Automatic
        ),
    )


def insert(uri: str, version: int, line: int, character: int, text: str) -> Any:
    where = types.Range(types.Position(line, character), types.Position(line, character))
    return types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
        content_changes=[types.TextDocumentContentChangePartial(range=where, text=text)],
    )


def remove(uri: str, version: int, line: int, character: int) -> Any:
    where = types.Range(types.Position(line, character), types.Position(line, character + 1))
    return types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
        content_changes=[types.TextDocumentContentChangePartial(range=where, text="")],
    )


def positions(text: str, count: int, seed: int = 3) -> list[tuple[int, int]]:
    """Cursor positions on code lines: line ends (multi-line) and inside lines (single)."""
    lines = text.split("\n")
    rng = random.Random(seed)
    code = [i for i, line in enumerate(lines) if line.strip() and not line.strip().startswith("#")]
    picked = []
    for _ in range(count):
        line = rng.choice(code)
        length = len(lines[line])
        picked.append((line, length if rng.random() < 0.5 else rng.randrange(length // 2, length)))
    return picked


async def in_process(fake: FakeOpenAI, text: str, spots: list[tuple[int, int]]) -> dict[str, Any]:
    """The service alone, as the server runs it (no JSON-RPC, no stdio)."""
    settings = Settings.model_validate(
        fake_settings(fake.base_url, completion={"model": "fim", "debounce_ms": 0})
    )

    class NoLedger:
        def check(self, **kw: Any) -> None: ...

        def record(self, **kw: Any) -> None: ...

    registry = ProviderRegistry(
        settings, ledger=NoLedger(), notices=Notices(), token_counter=count_for_model
    )
    store = DocumentStore()
    uri = "file:///bench/fields.py"
    document = store.open(uri, "python", 1, text)
    service = CompletionService(
        store, settings=lambda: settings, endpoints=lambda: registry, root=lambda: None
    )
    overhead, parts = [], {k: [] for k in ("shape_ms", "context_ms", "prompt_ms", "model_ms")}
    for step, (line, column) in enumerate(spots):
        # Type a character, ask, then undo it: one edit at a time, as a user makes them.
        version = 2 * step + 2
        store.change(uri, version, insert(uri, version, line, column, "x").content_changes)
        snapshot = store.snapshot(uri, types.Position(line, column + 1))
        assert snapshot is not None
        first = len(fake.requests(COMPLETIONS))
        answer = await service.suggest(snapshot, trigger="invoked")
        store.change(uri, version + 1, remove(uri, version + 1, line, column).content_changes)
        if len(fake.requests(COMPLETIONS)) == first:
            continue  # served without the backend: not an overhead sample
        overhead.append(answer.timings_ms["total_ms"] - backend_ms(fake, first))
        record = answer.record
        assert record is not None
        for key in parts:
            parts[key].append(record.timings_ms.get(key, 0.0))
    await registry.aclose()
    del document
    return {"overhead_ms": overhead, **parts}


async def over_stdio(fake: FakeOpenAI, text: str, spots: list[tuple[int, int]]) -> dict[str, Any]:
    """The real server process, timed by the client."""
    workspace = Path(tempfile.mkdtemp(prefix="ai-lsp-ws-"))
    (workspace / ".git").mkdir()
    shutil.copy(source_file(), workspace / "fields.py")
    options = fake_settings(fake.base_url, completion={"model": "fim", "debounce_ms": 0})
    overhead: list[float] = []
    latency: list[float] = []
    async with lsp_session(workspace, init_options=options) as client:
        uri = open_document(client, workspace / "fields.py", text)
        for step, (line, column) in enumerate(spots):
            version = 2 * step + 2
            client.text_document_did_change(insert(uri, version, line, column, "x"))
            first = len(fake.requests(COMPLETIONS))
            started = time.perf_counter()
            await client.text_document_inline_completion_async(
                inline_params(uri, line, column + 1, invoked=True)
            )
            elapsed = (time.perf_counter() - started) * 1000
            client.text_document_did_change(remove(uri, version + 1, line, column))
            if len(fake.requests(COMPLETIONS)) == first:
                continue
            latency.append(elapsed)
            overhead.append(elapsed - backend_ms(fake, first))
    shutil.rmtree(workspace, ignore_errors=True)
    return {"overhead_ms": overhead, "latency_ms": latency}


async def local_over_stdio(text: str, spots: list[tuple[int, int]]) -> list[float]:
    """Client-observed latency of the local n-gram model (no endpoint configured)."""
    workspace = Path(tempfile.mkdtemp(prefix="ai-lsp-ws-"))
    (workspace / ".git").mkdir()
    shutil.copy(source_file(), workspace / "fields.py")
    latency: list[float] = []
    async with lsp_session(workspace) as client:
        uri = open_document(client, workspace / "fields.py", text)
        line = text.split("\n").index("class FieldInfo(_repr.Representation):")
        for _ in range(200):  # until the background training is done
            answer = await client.text_document_inline_completion_async(
                inline_params(uri, line, len("class FieldI"), invoked=False)
            )
            if answer is not None and answer.items:
                break
            await asyncio.sleep(0.05)
        for step, (line, column) in enumerate(spots):
            version = 2 * step + 2
            client.text_document_did_change(insert(uri, version, line, column, "x"))
            started = time.perf_counter()
            await client.text_document_inline_completion_async(
                inline_params(uri, line, column + 1, invoked=False)
            )
            latency.append((time.perf_counter() - started) * 1000)
            client.text_document_did_change(remove(uri, version + 1, line, column))
    shutil.rmtree(workspace, ignore_errors=True)
    return latency


def copied_packages(packages: tuple[str, ...]) -> tuple[Path, int]:
    """A workspace holding copies of installed packages, and its number of Python files."""
    import importlib

    workspace = Path(tempfile.mkdtemp(prefix="ai-lsp-ws-"))
    (workspace / ".git").mkdir()
    for name in packages:
        folder = Path(importlib.import_module(name).__file__ or "").parent
        shutil.copytree(folder, workspace / name, ignore=shutil.ignore_patterns("__pycache__"))
    return workspace, sum(1 for _ in workspace.rglob("*.py"))


async def training_impact(packages: tuple[str, ...] = ("pydantic", "rich")) -> dict[str, Any]:
    """Requests answered while the local model trains on a few thousand files at startup."""
    workspace, files = copied_packages(packages)
    log_file = workspace.parent / f"{workspace.name}.log"
    latency: list[float] = []
    started = time.perf_counter()
    async with lsp_session(workspace, log_file=log_file) as client:
        initialized_ms = (time.perf_counter() - started) * 1000
        uri = open_document(client, workspace / "draft.py", "from rich.console import Con\n")
        trained_at = None
        while time.perf_counter() - started < 120:
            sent = time.perf_counter()
            answer = await client.text_document_inline_completion_async(
                inline_params(uri, 0, len("from rich.console import Con"), invoked=True)
            )
            latency.append((time.perf_counter() - sent) * 1000)
            if answer is not None and answer.items:
                trained_at = time.perf_counter() - started
                break
            await asyncio.sleep(0.05)
    shutil.rmtree(workspace, ignore_errors=True)
    trained = [
        line for line in log_file.read_text().splitlines() if "local completion model" in line
    ]
    log_file.unlink()
    return {
        "workspace_python_files": files,
        "initialize_ms": round(initialized_ms, 1),
        "first_local_suggestion_s": None if trained_at is None else round(trained_at, 2),
        "training_log": trained[-1].split(": ", 1)[-1] if trained else None,
        "request_latency_during_training_ms": summary(latency),
    }


def plot(path: Path, series: dict[str, list[float]], title: str, xlabel: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7, 4))
    for label, values in series.items():
        ordered = sorted(values)
        axis.plot(ordered, [(i + 1) / len(ordered) for i in range(len(ordered))], label=label)
    axis.set_xlabel(xlabel)
    axis.set_ylabel("fraction of requests")
    axis.set_title(title)
    axis.grid(alpha=0.3)
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def save(name: str, data: dict[str, Any], draw: Callable[[Path], None]) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(data, indent=2) + "\n")
    draw(RESULTS / f"{name}.png")
    print(json.dumps(data, indent=2))


async def main(requests: int) -> None:
    isolate()
    text = source_file().read_text()
    spots = positions(text, requests + 20)
    with FakeOpenAI() as fake:
        fake.set_default(COMPLETIONS, Text("value\n"))
        local = await in_process(fake, text, spots)
        fake.reset()
        remote = await over_stdio(fake, text, spots)
    local_latency = await local_over_stdio(text, spots)
    training = await training_impact()
    warm = 20  # the first requests load the tokenizer, the grammar and the HTTP client
    data = {
        "file": f"pydantic/fields.py ({len(text.splitlines())} lines)",
        "machine": machine(),
        "targets_ms": {"p50": 15, "p99": 60},
        "in_process_overhead_ms": summary(local["overhead_ms"][warm:]),
        "in_process_parts_ms": {
            k: summary(v[warm:]) for k, v in local.items() if k != "overhead_ms"
        },
        "client_overhead_ms": summary(remote["overhead_ms"][warm:]),
        "client_latency_ms": summary(remote["latency_ms"][warm:]),
        "local_model_client_latency_ms": summary(local_latency[warm:]),
        "local_model_training": training,
    }
    save(
        "completion_overhead",
        data,
        lambda path: plot(
            path,
            {
                "server (in-process)": local["overhead_ms"][warm:],
                "client over stdio": remote["overhead_ms"][warm:],
                "local model, client latency": local_latency[warm:],
            },
            "Completion overhead (request to answer minus backend time)",
            "overhead (ms)",
        ),
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=300)
    asyncio.run(main(parser.parse_args().requests))
