"""Type-through: typing out a shown 40-character suggestion, a request per keystroke, must make
no further backend request. Run from the repository root: `python -m benchmarks.typethrough`.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.completion_overhead import inline_params, insert, isolate, machine, save, summary
from tests.e2e.session import lsp_session, open_document
from tests.fakes.fixtures import fake_settings
from tests.fakes.openai_server import COMPLETIONS, FakeOpenAI
from tests.fakes.replies import Text

SUGGESTION = "compute_invoice_total(order.items, 0.15)"
RATE = 10.0
HEADER = "def checkout(order):\n    total = "


async def run() -> dict[str, Any]:
    assert len(SUGGESTION) == 40
    workspace = Path(tempfile.mkdtemp(prefix="ai-lsp-ws-"))
    (workspace / ".git").mkdir()
    with FakeOpenAI() as fake:
        fake.set_default(COMPLETIONS, Text(SUGGESTION + "\n", first_byte_delay_s=0.15))
        options = fake_settings(
            fake.base_url, completion={"model": "fim", "debounce_ms": "adaptive"}
        )
        async with lsp_session(workspace, init_options=options) as client:
            uri = open_document(client, workspace / "shop.py", HEADER + "\n")
            line, start = 1, len("    total = ")
            first = await client.text_document_inline_completion_async(
                inline_params(uri, line, start, invoked=True)
            )
            assert first is not None
            assert [i.insert_text for i in first.items] == [SUGGESTION]
            shown_after = len(fake.requests(COMPLETIONS))
            latency: list[float] = []
            matches = 0
            for index, char in enumerate(SUGGESTION[:-1]):
                await asyncio.sleep(1 / RATE)
                client.text_document_did_change(insert(uri, index + 2, line, start + index, char))
                started = time.perf_counter()
                answer = await client.text_document_inline_completion_async(
                    inline_params(uri, line, start + index + 1, invoked=False)
                )
                latency.append((time.perf_counter() - started) * 1000)
                rest = SUGGESTION[index + 1 :]
                matches += answer is not None and [i.insert_text for i in answer.items] == [rest]
            further = len(fake.requests(COMPLETIONS)) - shown_after
    shutil.rmtree(workspace, ignore_errors=True)
    return {
        "machine": machine(),
        "suggestion_chars": len(SUGGESTION),
        "keystrokes": len(SUGGESTION) - 1,
        "chars_per_second": RATE,
        "backend_requests_for_the_first": shown_after,
        "further_backend_requests": further,
        "further_backend_requests_target": 0,
        "answers_showing_the_rest": matches,
        "cache_answer_latency_ms": summary(latency),
    }


def main() -> None:
    isolate()
    data = asyncio.run(run())

    def draw(path: Path) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        figure, axis = plt.subplots(figsize=(7, 3.5))
        axis.bar(
            ["first request", "while typing 39 keys"],
            [data["backend_requests_for_the_first"], data["further_backend_requests"]],
            color=["#48c", "#4a4"],
        )
        axis.set_ylabel("backend requests")
        axis.set_title(
            f"Typing out a 40-char suggestion: {data['answers_showing_the_rest']}/39 answers "
            f"from the cache (p50 {data['cache_answer_latency_ms']['p50']:.1f} ms)"
        )
        axis.set_ylim(0, 2)
        figure.tight_layout()
        figure.savefig(path, dpi=110)
        plt.close(figure)

    save("typethrough", data, draw)


if __name__ == "__main__":
    main()
