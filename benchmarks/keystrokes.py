"""Typing: 100 characters at 20/s, an inline request per keystroke, adaptive debounce, a 150 ms
fake model: all answered, at most 10 backend requests, no stream left open. Run as a module,
`python -m benchmarks.keystrokes`."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from itertools import pairwise
from pathlib import Path
from typing import Any

from benchmarks.completion_overhead import (
    inline_params,
    insert,
    isolate,
    machine,
    save,
    summary,
)
from tests.e2e.session import lsp_session, open_document
from tests.fakes.fixtures import fake_settings
from tests.fakes.openai_server import COMPLETIONS, FakeOpenAI
from tests.fakes.replies import Text

TYPED = (
    "total = compute_invoice_total(order.items, discount=customer.discount) "
    "+ shipping_cost(order, rates)"
)
RATE = 20.0
MODEL_S = 0.15
HEADER = "from billing import compute_invoice_total, shipping_cost\n\n\ndef checkout(order, customer, rate):\n    "


async def run() -> dict[str, Any]:
    assert len(TYPED) == 100
    workspace = Path(tempfile.mkdtemp(prefix="ai-lsp-ws-"))
    (workspace / ".git").mkdir()
    # A long answer streamed slowly, so a request that loses its reader is still streaming.
    answer = "return total  # " + "checked against the order's currency and rounding rules" + "\n"
    reply = Text(answer, first_byte_delay_s=MODEL_S, chunk_chars=4, chunk_delay_s=0.02)
    with FakeOpenAI() as fake:
        fake.set_default(COMPLETIONS, reply)
        options = fake_settings(
            fake.base_url, completion={"model": "fim", "debounce_ms": "adaptive"}
        )
        async with lsp_session(workspace, init_options=options) as client:
            uri = open_document(client, workspace / "checkout.py", HEADER + "\n")
            line, start = 4, 4
            # Settle first, as a user reads before typing: the first request imports the
            # HTTP client (about a second of CPU that would otherwise delay every answer).
            await client.text_document_inline_completion_async(
                inline_params(uri, line, start, invoked=True)
            )
            fake.reset()
            pending: list[asyncio.Future[Any]] = []
            sent_at: list[float] = []
            latency: list[float] = [0.0] * len(TYPED)
            began = time.perf_counter()
            for index, char in enumerate(TYPED):
                await asyncio.sleep(max(0.0, began + index / RATE - time.perf_counter()))
                client.text_document_did_change(insert(uri, index + 2, line, start + index, char))
                sent_at.append(time.perf_counter())
                future = asyncio.ensure_future(
                    client.text_document_inline_completion_async(
                        inline_params(uri, line, start + index + 1, invoked=False)
                    )
                )
                future.add_done_callback(
                    lambda _, i=index: latency.__setitem__(
                        i, (time.perf_counter() - sent_at[i]) * 1000
                    )
                )
                pending.append(future)
            answers = await asyncio.wait_for(asyncio.gather(*pending), 10)
            await fake.until(lambda: fake.in_flight == 0, 5)
            requests = fake.requests(COMPLETIONS)
            disconnects = {d.request for d in fake.disconnects(COMPLETIONS)}
            unfinished = [r.index for r in requests if r.finished_at is None]
            shown = sum(1 for a in answers if a is not None and a.items)
    shutil.rmtree(workspace, ignore_errors=True)
    superseded_latency = latency[:-1]
    return {
        "machine": machine(),
        "typed_chars": len(TYPED),
        "chars_per_second": RATE,
        "model_latency_s": MODEL_S,
        "requests_sent": len(pending),
        "requests_answered": sum(1 for f in pending if f.done() and not f.exception()),
        "answers_with_items": shown,
        "backend_requests": len(requests),
        "backend_requests_target_max": 10,
        "backend_streams_closed_early": len(disconnects),
        "backend_streams_left_open": len([i for i in unfinished if i not in disconnects]),
        "answer_latency_ms": summary(latency),
        "superseded_answer_latency_ms": summary(superseded_latency),
        # A superseded request is answered when the next one arrives: compare with the pace.
        "keystroke_interval_ms": summary([(b - a) * 1000 for a, b in pairwise(sent_at)]),
        "last_answer_latency_ms": round(latency[-1], 3),
    }


def main() -> None:
    isolate()
    data = asyncio.run(run())

    def draw(path: Path) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        figure, axis = plt.subplots(figsize=(7, 3.5))
        labels = ["requests sent", "answered", "reached the model", "streams closed early"]
        values = [
            data["requests_sent"],
            data["requests_answered"],
            data["backend_requests"],
            data["backend_streams_closed_early"],
        ]
        axis.barh(labels, values, color=["#888", "#4a4", "#48c", "#c84"])
        for y, value in enumerate(values):
            axis.text(value + 1, y, str(value), va="center")
        axis.set_title("100 characters typed at 20/s, a request per keystroke")
        axis.set_xlim(0, 115)
        figure.tight_layout()
        figure.savefig(path, dpi=110)
        plt.close(figure)

    save("typing", data, draw)


if __name__ == "__main__":
    main()
