"""textDocument/inlineCompletion against the real server and the fake endpoint: ranges,
wire formats, latest-wins, cancellation, type-through, staleness, encodings, local model."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import LanguageClient

from tests.e2e.session import open_document
from tests.e2e.test_completion import session, started
from tests.fakes.fixtures import fake_settings
from tests.fakes.openai_server import CHAT, COMPLETIONS, FakeOpenAI
from tests.fakes.replies import Stall, Text

FAST = {"model": "fim", "debounce_ms": 0}
SOURCE = "def add(a, b):\n    return \n"


async def inline(
    client: LanguageClient, uri: str, line: int, character: int, *, invoked: bool = False
) -> list[types.InlineCompletionItem]:
    kind = types.InlineCompletionTriggerKind
    answer = await client.text_document_inline_completion_async(
        types.InlineCompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line, character),
            context=types.InlineCompletionContext(
                trigger_kind=kind.Invoked if invoked else kind.Automatic
            ),
        )
    )
    assert isinstance(answer, types.InlineCompletionList)
    return list(answer.items)


def type_text(
    client: LanguageClient, uri: str, version: int, line: int, col: int, text: str
) -> None:
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[
                types.TextDocumentContentChangePartial(
                    range=types.Range(types.Position(line, col), types.Position(line, col)),
                    text=text,
                )
            ],
        )
    )


def span(item: types.InlineCompletionItem) -> tuple[int, int, int, int]:
    assert item.range is not None
    r = item.range
    return r.start.line, r.start.character, r.end.line, r.end.character


async def test_items_replace_the_closers_they_supersede(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    fake_openai.set_default(COMPLETIONS, Text("total, tax)\n"))
    async with session(
        tmp_path, init_options=fake_settings(fake_openai.base_url, completion=FAST)
    ) as client:
        uri = open_document(client, tmp_path / "a.py", "def f(total, tax):\n    return round()\n")
        items = await inline(client, uri, 1, 17)
        assert [(i.insert_text, span(i)) for i in items] == [("total, tax)", (1, 17, 1, 18))]
        multi = open_document(client, tmp_path / "b.py", SOURCE.replace("return ", ""))
        fake_openai.set_default(
            COMPLETIONS, Text("if a:\n        return a\n    return b\n\nprint(1)\n")
        )
        items = await inline(client, multi, 1, 4)
        assert [(i.insert_text, span(i)) for i in items] == [
            ("if a:\n        return a", (1, 4, 1, 4))
        ]


WIRE = {
    "qwen": "<|fim_prefix|>def add(a, b):\n    return <|fim_suffix|>\n<|fim_middle|>",
    "starcoder": "<fim_prefix>def add(a, b):\n    return <fim_suffix>\n<fim_middle>",
    "deepseek": "<\uff5cfim\u2581begin\uff5c>def add(a, b):\n    return <\uff5cfim\u2581hole\uff5c>\n<\uff5cfim\u2581end\uff5c>",
    "codellama": "<PRE> def add(a, b):\n    return  <SUF>\n <MID>",
    "codestral": "[SUFFIX]\n[PREFIX] def add(a, b):\n    return ",
    "openai-suffix": "def add(a, b):\n    return ",
}


async def test_each_fim_template_reaches_the_endpoint_exactly(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    fake_openai.set_default(COMPLETIONS, Text("a + b\n"))
    models = {name: {"provider": "fake", "name": f"m-{name}", "fim": name} for name in WIRE}
    base = fake_settings(fake_openai.base_url, completion=FAST)
    base["models"].update(models)
    async with session(tmp_path, init_options=base) as client:
        uri = open_document(client, tmp_path / "calc.py", SOURCE)
        for name, prompt in WIRE.items():
            settings = {**base, "completion": {**FAST, "model": name}}
            client.workspace_did_change_configuration(
                types.DidChangeConfigurationParams(settings={"aiLsp": settings})
            )
            items = await inline(client, uri, 1, 11, invoked=True)
            assert [i.insert_text for i in items] == ["a + b"], name
            request = fake_openai.requests(COMPLETIONS)[-1]
            assert request.body["model"] == f"m-{name}"
            assert request.body["prompt"] == prompt, name
            assert request.body.get("suffix") == ("\n" if name == "openai-suffix" else None)
            assert request.body["stream"] is True


async def test_chat_models_fill_the_hole_and_their_answer_is_parsed(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    fake_openai.set_default(CHAT, Text("Here you go:\n<completion>a + b</completion>\nDone."))
    options = fake_settings(fake_openai.base_url, completion={**FAST, "model": "chat"})
    async with session(tmp_path, init_options=options) as client:
        uri = open_document(client, tmp_path / "calc.py", SOURCE)
        assert [i.insert_text for i in await inline(client, uri, 1, 11)] == ["a + b"]
        messages = fake_openai.requests(CHAT)[0].body["messages"]
        assert "{{FILL_HERE}}" in messages[1]["content"]
        assert "def add(a, b):\n    return {{FILL_HERE}}\n" in messages[1]["content"]
        fake_openai.set_default(CHAT, Text("I would write the sum of the two numbers here."))
        type_text(client, uri, 2, 0, 0, "# prose answers give nothing\n")
        assert await inline(client, uri, 2, 11) == []
        assert len(fake_openai.requests(CHAT)) == 2


async def test_a_superseded_request_is_answered_empty_and_its_stream_closed(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(COMPLETIONS, Stall("a +", hang_s=20))
    async with session(
        tmp_path, init_options=fake_settings(fake_openai.base_url, completion=FAST)
    ) as client:
        uri = open_document(client, tmp_path / "calc.py", SOURCE + "\nx = \n")
        first = asyncio.ensure_future(inline(client, uri, 1, 11))
        assert await fake_openai.until(lambda: len(fake_openai.requests(COMPLETIONS)) == 1, 5)
        fake_openai.set_default(COMPLETIONS, Text("42\n"))
        second = await inline(client, uri, 3, 4)
        assert await asyncio.wait_for(first, 1) == []
        assert [i.insert_text for i in second] == ["42"]
        assert await fake_openai.until(lambda: len(fake_openai.disconnects(COMPLETIONS)) == 1, 5)


async def test_cancel_request_is_answered_request_cancelled_and_closes_the_stream(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    fake_openai.set_default(COMPLETIONS, Stall("a +", hang_s=20))
    async with session(
        tmp_path, init_options=fake_settings(fake_openai.base_url, completion=FAST)
    ) as client:
        uri = open_document(client, tmp_path / "calc.py", SOURCE)
        params = types.InlineCompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(1, 11),
            context=types.InlineCompletionContext(
                trigger_kind=types.InlineCompletionTriggerKind.Automatic
            ),
        )
        pending = asyncio.wrap_future(
            client.protocol.send_request(
                types.TEXT_DOCUMENT_INLINE_COMPLETION, params, msg_id="cancel-me"
            )
        )
        assert await fake_openai.until(lambda: len(fake_openai.requests(COMPLETIONS)) == 1, 5)
        client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="cancel-me"))
        with pytest.raises(JsonRpcException) as raised:
            await asyncio.wait_for(pending, 2)
        assert raised.value.code == types.LSPErrorCodes.RequestCancelled
        assert await fake_openai.until(lambda: len(fake_openai.disconnects(COMPLETIONS)) == 1, 5)


async def test_typing_through_a_suggestion_makes_no_backend_request(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    fake_openai.set_default(COMPLETIONS, Text("compute_total(items)\n"))
    async with session(
        tmp_path, init_options=fake_settings(fake_openai.base_url, completion=FAST)
    ) as client:
        uri = open_document(client, tmp_path / "shop.py", "def f(items):\n    return \n")
        assert [i.insert_text for i in await inline(client, uri, 1, 11)] == ["compute_total(items)"]
        for version, char in enumerate("compute_", start=2):
            col = 11 + version - 2
            type_text(client, uri, version, 1, col, char)
            items = await inline(client, uri, 1, col + 1)
            assert [i.insert_text for i in items] == ["compute_total(items)"[version - 1 :]]
        assert len(fake_openai.requests(COMPLETIONS)) == 1


async def test_an_edit_while_the_model_runs_shows_nothing_stale(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    fake_openai.set_default(COMPLETIONS, Text("a + b\n", first_byte_delay_s=0.5))
    async with session(
        tmp_path, init_options=fake_settings(fake_openai.base_url, completion=FAST)
    ) as client:
        uri = open_document(client, tmp_path / "calc.py", SOURCE)
        pending = asyncio.ensure_future(inline(client, uri, 1, 11))
        assert await fake_openai.until(lambda: len(fake_openai.requests(COMPLETIONS)) == 1, 5)
        type_text(client, uri, 2, 0, 0, "import math\n")
        assert await pending == []


@pytest.mark.parametrize(("encoding", "start"), [("utf-16", 17), ("utf-8", 27), ("utf-32", 16)])
async def test_ranges_are_right_after_emoji_and_cjk(
    tmp_path: Path, fake_openai: FakeOpenAI, encoding: str, start: int
) -> None:
    fake_openai.set_default(COMPLETIONS, Text("name)\n"))
    line = 'greet("😀 你好世界", )'  # cursor after ", " before ")"
    options = fake_settings(fake_openai.base_url, completion=FAST)
    async with started(tmp_path, options, encoding=encoding) as (client, result):
        assert result.capabilities.position_encoding == encoding
        uri = open_document(client, tmp_path / "hi.py", f"name = 1\n{line}\n")
        items = await inline(client, uri, 1, start)
        assert [(i.insert_text, span(i)) for i in items] == [("name)", (1, start, 1, start + 1))]
        prompt = fake_openai.requests(COMPLETIONS)[0].body["prompt"]
        assert '😀 你好世界", <|fim_suffix|>)' in prompt


async def test_the_local_model_completes_an_identifier_from_another_file(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "billing.py").write_text(
        "def compute_invoice_total(items, discount):\n    return sum(items) * (1 - discount)\n"
    )
    async with session(tmp_path) as client:
        uri = open_document(client, tmp_path / "main.py", "from billing import *\n\ntotal = \n")
        for version, char in enumerate("compute_inv", start=2):
            type_text(client, uri, version, 2, 8 + version - 2, char)
        items: list[types.InlineCompletionItem] = []
        for _ in range(100):
            items = await inline(client, uri, 2, 19)
            if items:
                break
            await asyncio.sleep(0.1)
        assert items, "the local model never answered"
        assert items[0].insert_text.startswith("oice_total")
        assert span(items[0]) == (2, 19, 2, 19)
