"""The completion service end to end, with a scripted model instead of HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from lsprotocol import types

from ai_lsp.completion.local import LocalModel
from ai_lsp.completion.service import LOCAL, CompletionService, route_for
from ai_lsp.config import Settings
from ai_lsp.documents import DocumentStore
from ai_lsp.providers.errors import ProviderError
from tests.unit.completion.fakes import ScriptedEndpoints, settings, snapshot_at

URI = "file:///work/app.py"
SOURCE = "def add(a, b):\n    |\n"


@pytest.fixture
def store() -> DocumentStore:
    return DocumentStore()


def service_for(
    store: DocumentStore, endpoints: ScriptedEndpoints, config: Settings | None = None
) -> CompletionService:
    config = config or settings()
    return CompletionService(
        store, settings=lambda: config, endpoints=lambda: endpoints, root=lambda: None
    )


@pytest.fixture
def local() -> Iterator[LocalModel]:
    model = LocalModel()
    yield model
    model.close()


async def test_a_suggestion_is_cleaned_and_cached(store: DocumentStore) -> None:
    endpoints = ScriptedEndpoints(["return a + b\n\nprint(add(1, 2))\n"])
    service = service_for(store, endpoints)
    answer = await service.suggest(snapshot_at(store, URI, SOURCE))
    assert [s.text for s in answer.suggestions] == ["return a + b"]
    assert answer.source == "model"
    assert answer.record is not None
    assert answer.record.shape == "multi-line: empty line"
    again = await service.suggest(snapshot_at(store, URI, SOURCE))
    assert again.source == "cache"
    assert len(endpoints.calls) == 1


async def test_typing_the_suggestion_is_served_from_the_cache(store: DocumentStore) -> None:
    endpoints = ScriptedEndpoints(["return a + b"])
    service = service_for(store, endpoints)
    await service.suggest(snapshot_at(store, URI, SOURCE))
    typed = await service.suggest(snapshot_at(store, URI, "def add(a, b):\n    retu|\n"))
    assert [s.text for s in typed.suggestions] == ["rn a + b"]
    assert typed.source == "cache"
    assert len(endpoints.calls) == 1
    other = await service.suggest(snapshot_at(store, URI, "def add(a, b):\n    pri|\n"))
    assert other.source == "model"
    assert len(endpoints.calls) == 2


async def test_a_newer_request_answers_the_older_empty_and_closes_its_stream(
    store: DocumentStore,
) -> None:
    endpoints = ScriptedEndpoints(["return a + b"], delay_s=0.2)
    service = service_for(store, endpoints)
    first = asyncio.ensure_future(service.suggest(snapshot_at(store, URI, SOURCE)))
    await asyncio.sleep(0.05)
    other = "def sub(a, b):\n    |\n"
    second = asyncio.ensure_future(service.suggest(snapshot_at(store, URI, other)))
    older = await asyncio.wait_for(first, 0.1)
    assert older.suggestions == ()
    assert older.reason == "superseded"
    await second
    await asyncio.sleep(0)
    assert endpoints.calls[0].closed
    assert endpoints.calls[0].chunks_sent == 0


async def test_a_request_that_extends_the_pending_prefix_reuses_its_model_request(
    store: DocumentStore,
) -> None:
    endpoints = ScriptedEndpoints(["return a + b"], delay_s=0.05)
    service = service_for(store, endpoints)
    first = asyncio.ensure_future(service.suggest(snapshot_at(store, URI, SOURCE)))
    await asyncio.sleep(0.01)
    second = await service.suggest(snapshot_at(store, URI, "def add(a, b):\n    re|\n"))
    assert (await first).reason == "superseded"
    assert [s.text for s in second.suggestions] == ["turn a + b"]
    assert len(endpoints.calls) == 1


async def test_a_document_changed_while_the_model_runs_gets_nothing(store: DocumentStore) -> None:
    endpoints = ScriptedEndpoints(["return a + b"], delay_s=0.05)
    service = service_for(store, endpoints)
    pending = asyncio.ensure_future(service.suggest(snapshot_at(store, URI, SOURCE)))
    await asyncio.sleep(0.01)
    store.change(URI, 9, [types.TextDocumentContentChangeWholeDocument(text="changed\n")])
    answer = await pending
    assert answer.suggestions == ()
    assert answer.reason == "stale"


async def test_the_deadline_answers_empty_and_closes_the_stream(store: DocumentStore) -> None:
    endpoints = ScriptedEndpoints(["return a + b"], delay_s=1.0)
    service = service_for(store, endpoints, settings(deadline_ms=100))
    started = asyncio.get_running_loop().time()
    answer = await service.suggest(snapshot_at(store, URI, SOURCE))
    assert answer.reason == "deadline"
    assert asyncio.get_running_loop().time() - started < 0.5
    await asyncio.sleep(0)
    assert endpoints.calls[0].closed


async def test_a_real_cancellation_propagates_and_closes_the_stream(store: DocumentStore) -> None:
    endpoints = ScriptedEndpoints(["return a + b"], delay_s=1.0)
    service = service_for(store, endpoints)
    task = asyncio.ensure_future(service.suggest(snapshot_at(store, URI, SOURCE)))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(0.01)
    assert endpoints.calls[0].closed


async def test_single_line_requests_stop_reading_at_the_first_newline(store: DocumentStore) -> None:
    endpoints = ScriptedEndpoints(["a + b)\n" + "x = 1\n" * 50], chunk=2)
    service = service_for(store, endpoints)
    answer = await service.suggest(snapshot_at(store, URI, "def add(a, b):\n    return f(|)\n"))
    assert [(s.text, s.replace_chars) for s in answer.suggestions] == [("a + b)", 1)]
    assert endpoints.calls[0].closed
    assert endpoints.calls[0].chunks_sent <= 4


async def test_candidates_are_listed_in_order_without_duplicates(store: DocumentStore) -> None:
    endpoints = ScriptedEndpoints(["return a + b", "return a - b", "return a + b"])
    service = service_for(store, endpoints, settings(candidates=3))
    answer = await service.suggest(snapshot_at(store, URI, SOURCE))
    assert [s.text for s in answer.suggestions] == ["return a + b", "return a - b"]
    assert endpoints.calls[0].n == 3


@pytest.mark.parametrize("text", ["", "   \n\n", "\n    def add(a, b):\n"])
async def test_empty_or_echoing_output_gives_nothing(store: DocumentStore, text: str) -> None:
    service = service_for(store, ScriptedEndpoints([text]))
    source = "def add(a, b):\n    return a|\n    def add(a, b):\n"
    answer = await service.suggest(snapshot_at(store, URI, source))
    assert answer.suggestions == ()


async def test_a_provider_error_answers_empty_and_is_recorded(store: DocumentStore) -> None:
    error = ProviderError("unreachable", "fake", "ai-lsp: provider 'fake' cannot be reached.")
    service = service_for(store, ScriptedEndpoints(error=error))
    answer = await service.suggest(snapshot_at(store, URI, SOURCE))
    assert answer.suggestions == ()
    record = service.last_context(URI)
    assert record is not None
    assert record.outcome == "unreachable"


async def test_chat_models_get_the_hole_prompt_and_their_answer_is_parsed(
    store: DocumentStore,
) -> None:
    endpoints = ScriptedEndpoints(["Sure!\n<completion>return a + b</completion>"])
    service = service_for(store, endpoints, settings(model="chat"))
    answer = await service.suggest(snapshot_at(store, URI, SOURCE))
    assert [s.text for s in answer.suggestions] == ["return a + b"]
    assert endpoints.calls[0].api == "chat"
    assert "{{FILL_HERE}}" in endpoints.calls[0].messages[1]["content"]


async def test_adaptive_debounce_holds_back_requests_while_typing_fast(
    store: DocumentStore,
) -> None:
    endpoints = ScriptedEndpoints(["x"])
    service = service_for(store, endpoints, settings(debounce_ms="adaptive"))
    line = "    value = compute"
    answers = []
    for cut in range(6, len(line) + 1):
        service.document_changed(URI)
        answers.append(
            asyncio.ensure_future(
                service.suggest(snapshot_at(store, URI, f"def f():\n{line[:cut]}|\n"))
            )
        )
        await asyncio.sleep(0.03)
    done = await asyncio.gather(*answers)
    # The first key after a pause is asked about quickly; then the burst is waited out.
    assert all(a.reason == "superseded" for a in done[2:-1])
    assert len(endpoints.calls) <= 2


async def test_invoked_requests_skip_the_debounce(store: DocumentStore) -> None:
    endpoints = ScriptedEndpoints(["return a + b"])
    service = service_for(store, endpoints, settings(debounce_ms=5000))
    answer = await asyncio.wait_for(
        service.suggest(snapshot_at(store, URI, SOURCE), trigger="invoked"), 1
    )
    assert answer.suggestions


async def test_files_kept_out_of_prompts_get_no_suggestion(
    store: DocumentStore, tmp_path: Path
) -> None:
    endpoints = ScriptedEndpoints()
    service = CompletionService(
        store, settings=settings, endpoints=lambda: endpoints, root=lambda: tmp_path
    )
    uri = (tmp_path / ".env").as_uri()
    answer = await service.suggest(snapshot_at(store, uri, "API_KEY=|\n"))
    assert answer.reason.startswith("ignored file")
    assert not endpoints.calls


async def test_without_a_configured_model_the_local_model_answers(
    store: DocumentStore, local: LocalModel
) -> None:
    config = Settings()
    assert route_for(config) == LOCAL
    local.train_now(None)
    model = local._model
    assert model is not None
    model.train_file("lib.py", "def compute_invoice_total(items):\n    return sum(items)\n" * 3)
    model.flush()
    endpoints = ScriptedEndpoints()
    service = CompletionService(
        store, settings=lambda: config, endpoints=lambda: endpoints, root=lambda: None, local=local
    )
    answer = await service.suggest(snapshot_at(store, URI, "total = compute_inv|\n"))
    assert answer.suggestions
    assert answer.suggestions[0].text.startswith("oice_total")
    assert answer.model == "local n-gram"
    assert not endpoints.calls


async def test_a_joined_request_whose_answer_turns_away_from_the_typed_text_is_left_early(
    store: DocumentStore,
) -> None:
    # Six chunks a tenth of a second apart: "retu", "rn a", ...
    endpoints = ScriptedEndpoints(["return a + b + c + d"], delay_s=0.1)
    service = service_for(store, endpoints)
    first = asyncio.ensure_future(service.suggest(snapshot_at(store, URI, SOURCE)))
    await asyncio.sleep(0.02)  # nothing received yet: typing "x" may still agree
    second = await service.suggest(snapshot_at(store, URI, "def add(a, b):\n    x|\n"))
    assert (await first).reason == "superseded"
    assert len(endpoints.calls) == 2, "a fresh request once the answer said 'retu'"
    old = endpoints.calls[0]
    assert old.closed
    assert old.chunks_sent < 3, "the old answer was not read to its end"
    assert [s.text for s in second.suggestions] == ["return a + b + c + d"]
