"""textDocument/completion against the real server: complete items, faults, one message
when the endpoint is down, and logs free of keys and prompt text."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient, client_capabilities
from pytest_lsp.client import make_test_lsp_client

from tests.e2e.session import lsp_session, open_document
from tests.fakes.fixtures import fake_settings
from tests.fakes.openai_server import COMPLETIONS, FakeOpenAI
from tests.fakes.replies import Error, Garbage, Stall, Text

FAST = {"model": "fim", "debounce_ms": 0}


@contextlib.asynccontextmanager
async def session(workspace: Path, **options: Any) -> AsyncIterator[LanguageClient]:
    """`lsp_session` that tells the server to exit when the test fails, so the failure is
    reported at once (pygls' client waits for the server to exit by itself)."""
    async with lsp_session(workspace, **options) as client:
        try:
            yield client
        except BaseException:
            client.protocol.notify(types.EXIT, None)
            raise


@contextlib.asynccontextmanager
async def started(
    workspace: Path, init_options: Any, *, encoding: str | None = None
) -> AsyncIterator[tuple[LanguageClient, types.InitializeResult]]:
    """A session that also gives the `initialize` result; `encoding` is the only position
    encoding the client offers."""
    client = make_test_lsp_client()
    await client.start_io(sys.executable, "-m", "ai_lsp")
    try:
        capabilities = client_capabilities("neovim")
        if encoding is not None:
            capabilities.general = types.GeneralClientCapabilities(position_encodings=[encoding])
        result = await client.initialize_session(
            types.InitializeParams(
                capabilities=capabilities,
                root_uri=workspace.as_uri(),
                initialization_options=init_options,
            )
        )
        try:
            yield client, result
        except BaseException:
            client.protocol.notify(types.EXIT, None)
            raise
        await client.shutdown_session()
    finally:
        await client.stop()


async def complete(
    client: LanguageClient, uri: str, line: int, character: int, *, invoked: bool = True
) -> types.CompletionList:
    kind = types.CompletionTriggerKind
    answer = await client.text_document_completion_async(
        types.CompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line, character),
            context=types.CompletionContext(
                trigger_kind=kind.Invoked if invoked else kind.TriggerForIncompleteCompletions
            ),
        )
    )
    assert isinstance(answer, types.CompletionList)
    return answer


def edit(client: LanguageClient, uri: str, version: int, text: str) -> None:
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )


async def test_items_are_complete_without_resolve_and_replace_the_typed_word(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    fake_openai.set_default(COMPLETIONS, Text("ute_total(items, discount=0.1))\n"))
    options = fake_settings(
        fake_openai.base_url, completion={**FAST, "trigger_characters": [".", "@"]}
    )
    async with started(tmp_path, options) as (client, result):
        capabilities = result.capabilities
        assert capabilities.completion_provider is not None
        assert list(capabilities.completion_provider.trigger_characters or ()) == [".", "@"]
        assert not capabilities.completion_provider.resolve_provider
        assert capabilities.inline_completion_provider
        uri = open_document(client, tmp_path / "shop.py", "def f(items):\n    return round(comp)\n")
        answer = await complete(client, uri, 1, 21)
        assert answer.is_incomplete
        [item] = answer.items
        assert item.text_edit == types.TextEdit(
            range=types.Range(types.Position(1, 17), types.Position(1, 22)),
            new_text="compute_total(items, discount=0.1))",
        )
        assert item.filter_text == "compute_total(items, discount=0.1))"
        assert item.label == "compute_total(items, discount=0.1))"
        assert item.insert_text is None
        assert item.insert_text_format == types.InsertTextFormat.PlainText
        assert item.detail == "ai-lsp · fake-fim"
        assert item.sort_text == "!00"
        assert isinstance(item.documentation, types.MarkupContent)
        assert item.documentation.value == "```python\ncompute_total(items, discount=0.1))\n```"


async def test_multi_line_candidates_are_listed_in_order(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    fake_openai.set_default(COMPLETIONS, Text(["if a:\n        return b\n", "return a\n"]))
    options = fake_settings(fake_openai.base_url, completion={**FAST, "candidates": 2})
    async with session(tmp_path, init_options=options) as client:
        uri = open_document(client, tmp_path / "m.py", "def f(a, b):\n    \n")
        answer = await complete(client, uri, 1, 4)
        assert [i.text_edit.new_text for i in answer.items if i.text_edit] == [
            "if a:\n        return b",
            "return a",
        ]
        assert [i.kind for i in answer.items] == [
            types.CompletionItemKind.Snippet,
            types.CompletionItemKind.Text,
        ]
        assert answer.items[0].label == "if a:…"
        assert fake_openai.requests(COMPLETIONS)[0].body["n"] == 2


@pytest.mark.parametrize(
    "reply",
    [Text(""), Text("\n\n   \n"), Garbage(), Garbage(("data: [DONE]\n\n",), "")],
    ids=["empty", "blank", "garbage", "no-choices"],
)
async def test_empty_or_garbage_output_gives_no_item(
    tmp_path: Path, fake_openai: FakeOpenAI, reply: Text | Garbage
) -> None:
    fake_openai.set_default(COMPLETIONS, reply)
    async with session(
        tmp_path, init_options=fake_settings(fake_openai.base_url, completion=FAST)
    ) as client:
        uri = open_document(client, tmp_path / "a.py", "x = \n")
        assert (await complete(client, uri, 0, 4)).items == ()


async def test_endpoint_down_answers_empty_fast_and_says_so_once(
    tmp_path: Path, refused_url: str
) -> None:
    async with session(
        tmp_path, init_options=fake_settings(refused_url, completion=FAST)
    ) as client:
        uri = open_document(client, tmp_path / "a.py", "x = \n")
        for version in range(2, 6):
            edit(client, uri, version, f"x{version} = \n")
            started = time.monotonic()
            assert (await complete(client, uri, 0, 5)).items == ()
            assert time.monotonic() - started < 2.5
        await asyncio.sleep(0.3)
        said = [m.message for m in client.messages if "cannot be reached" in m.message]
        assert len(said) == 1, [m.message for m in client.messages]


async def test_the_server_survives_every_fault_and_logs_no_key_or_prompt(
    tmp_path: Path, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = "sk-test-" + "Zq7" * 10
    monkeypatch.setenv("AI_LSP_E2E_KEY", key)
    marker = "UNIQUE_PROMPT_MARKER_4242"
    options = fake_settings(fake_openai.base_url, completion={**FAST, "deadline_ms": 800})
    options["providers"]["fake"].update(api_key_env="AI_LSP_E2E_KEY", max_retries=0)
    faults = [Error.rate_limited(), Error(500), Stall("x", hang_s=10), Garbage(), Error(401)]
    fake_openai.set_default(COMPLETIONS, Text("42\n"))
    log_file = tmp_path / "logs" / "server.log"
    workspace = tmp_path / "ws"
    workspace.mkdir()
    async with session(workspace, init_options=options, log_file=log_file) as client:
        uri = open_document(client, workspace / "a.py", f"# {marker}\nvalue = \n")
        for version in range(2, 40):  # a cold start (imports) may overrun the short deadline
            edit(client, uri, version, f"# {marker} warm-up {version}\nvalue = \n")
            if (await complete(client, uri, 1, 8)).items:
                break
        fake_openai.script(COMPLETIONS, *faults)
        for version in range(40, 40 + len(faults)):
            edit(client, uri, version, f"# {marker} {version}\nvalue = \n")
            assert (await complete(client, uri, 1, 8)).items == ()
        assert fake_openai.pending(COMPLETIONS) == 0
        edit(client, uri, 99, f"# {marker}\nvalue = \n")
        answer = await complete(client, uri, 1, 8)
        assert [i.text_edit.new_text for i in answer.items if i.text_edit] == ["42"]
        bodies = [r.headers.get("authorization", "") for r in fake_openai.requests(COMPLETIONS)]
        assert all(key in header for header in bodies)
        assert marker in fake_openai.requests(COMPLETIONS)[0].body["prompt"]
    text = log_file.read_text()
    assert "provider 'fake'" in text  # the faults were logged, so the checks below see a real log
    assert key not in text
    assert marker not in text
