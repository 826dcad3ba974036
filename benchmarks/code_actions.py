"""AI code actions over stdio on a 2,000-line module with an instant fake model: how long the
list takes (no model call; some editors ask on every cursor move), and what resolving one adds
beyond the model's own time (prompt, answer parsing, minimal line changes, the edit).
Run from the repository root: `python -m benchmarks.code_actions [--requests N]`."""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from lsprotocol import types

from benchmarks.completion_overhead import (
    RESULTS,
    isolate,
    machine,
    percentile,
    source_file,
    summary,
)
from tests.e2e.session import lsp_session, open_document
from tests.fakes.answers import CHAT
from tests.fakes.fixtures import fake_settings
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.replies import Text


def rows_with_code(text: str, count: int) -> list[int]:
    """`count` rows spread over the file, each holding code (not blank)."""
    lines = text.split("\n")
    candidates = [row for row, line in enumerate(lines) if line.strip()]
    step = max(1, len(candidates) // count)
    return candidates[::step][:count]


def diagnostic_at(row: int, line: str) -> types.Diagnostic:
    start = len(line) - len(line.lstrip())
    return types.Diagnostic(
        range=types.Range(types.Position(row, start), types.Position(row, len(line))),
        message="something is wrong here",
        source="bench",
    )


def backend_ms(fake: FakeOpenAI, index: int) -> float:
    request = fake.requests(CHAT)[index]
    end = request.finished_at or request.received_at
    return (end - request.received_at) * 1000


async def measure(fake: FakeOpenAI, text: str, rows: list[int], resolves: int) -> dict[str, Any]:
    workspace = Path(tempfile.mkdtemp(prefix="ai-lsp-ws-"))
    (workspace / ".git").mkdir()
    shutil.copy(source_file(), workspace / "fields.py")
    lines = text.split("\n")
    listing: list[float] = []
    first_listing: float | None = None
    total: list[float] = []
    overhead: list[float] = []
    changed_lines: list[int] = []
    # No upstream server: this measures ai-lsp's own work.
    options = fake_settings(fake.base_url, upstream={"*": {"enabled": False}})
    async with lsp_session(workspace, init_options=options) as client:
        uri = open_document(client, workspace / "fields.py", text)
        for step, row in enumerate(rows):
            diagnostic = diagnostic_at(row, lines[row])
            params = types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri),
                range=diagnostic.range,
                context=types.CodeActionContext(diagnostics=[diagnostic]),
            )
            started = time.perf_counter()
            actions = await client.text_document_code_action_async(params)
            elapsed = (time.perf_counter() - started) * 1000
            if first_listing is None:
                first_listing = elapsed
            else:
                listing.append(elapsed)
            fix = next(
                a for a in actions or [] if isinstance(a, types.CodeAction) and a.data is not None
            )
            if step >= resolves:
                continue
            # The model answers with the region's own first line fixed: a one-line edit.
            region = fix.data["range"]
            first, last = region["start"]["line"], region["end"]["line"]
            answer = "\n".join(lines[first:last]) + "\n"
            fake.set_default(
                CHAT,
                Text(f"```python\n{answer.replace(lines[row], lines[row] + '  # fixed', 1)}```"),
            )
            before = len(fake.requests(CHAT))
            started = time.perf_counter()
            resolved = await client.code_action_resolve_async(fix)
            elapsed = (time.perf_counter() - started) * 1000
            total.append(elapsed)
            overhead.append(elapsed - backend_ms(fake, before))
            edits = (resolved.edit.changes or {}).get(uri, []) if resolved.edit else []
            changed_lines.append(sum(e.range.end.line - e.range.start.line for e in edits))
    shutil.rmtree(workspace, ignore_errors=True)
    return {
        "first_listing_ms": first_listing,
        "listing_ms": listing,
        "resolve_ms": total,
        "resolve_overhead_ms": overhead,
        "changed_lines": changed_lines,
    }


def plot(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4))
    for key, label in (
        ("listing_ms", "list AI actions (no model)"),
        ("resolve_overhead_ms", "resolve: overhead beyond the model"),
    ):
        values = sorted(result[key])
        axes.plot(values, [(i + 1) / len(values) for i in range(len(values))], label=label)
    axes.set_xlabel("milliseconds (client over stdio)")
    axes.set_ylabel("fraction of requests")
    axes.set_title("AI code actions on pydantic/fields.py (2,066 lines), instant fake model")
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--resolves", type=int, default=60)
    args = parser.parse_args()
    isolate()
    text = source_file().read_text()
    rows = rows_with_code(text, args.requests + 1)
    with FakeOpenAI() as fake:
        measured = asyncio.run(measure(fake, text, rows, args.resolves))
    result = {
        "benchmark": "code_actions",
        "file": "pydantic/fields.py",
        "lines": text.count("\n"),
        "machine": machine(),
        "first_listing_ms": round(measured["first_listing_ms"] or 0.0, 3),
        "listing_ms": summary(measured["listing_ms"]),
        "resolve_ms": summary(measured["resolve_ms"]),
        "resolve_overhead_ms": summary(measured["resolve_overhead_ms"]),
        "changed_lines_p50": percentile([float(n) for n in measured["changed_lines"]], 0.5),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "code_actions.json").write_text(json.dumps(result, indent=2) + "\n")
    plot(measured, RESULTS / "code_actions.png")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
