"""The index inside the server: background indexing with progress, saves, commands."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.e2e.session import lsp_session, open_document
from tests.fakes.fixtures import fake_settings
from tests.fakes.openai_server import COMPLETIONS, EMBEDDINGS, FakeOpenAI
from tests.fakes.replies import Text


async def command(client: LanguageClient, name: str, *args: Any) -> Any:
    return await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=name, arguments=list(args))
    )


async def wait_status(client: LanguageClient, ready: Any) -> dict[str, Any]:
    status: dict[str, Any] = {}
    for _ in range(200):
        status = await command(client, "ai-lsp.index.status")
        if ready(status):
            return status
        await asyncio.sleep(0.05)
    raise AssertionError(f"index never got there: {status}")


def make_workspace(root: Path) -> None:
    (root / ".git").mkdir()
    (root / "util.py").write_text(
        "def compute_total(items, discount=0.1):\n    return sum(items) * (1 - discount)\n"
    )
    (root / "main.py").write_text(
        "from util import compute_total\n\nprint(compute_total([1, 2]))\n"
    )
    (root / ".env").write_text("OPENAI_API_KEY=sk-should-never-be-indexed-1234567890\n")
    (root / "docs").mkdir()
    (root / "docs" / "guide.md").write_text("# Guide\n\n## Totals\n\nUse compute_total for sums.\n")


async def test_indexes_in_background_with_progress_and_follows_saves(tmp_path: Path) -> None:
    make_workspace(tmp_path)
    async with lsp_session(tmp_path) as client:
        status = await wait_status(client, lambda s: s.get("state") == "ready")
        assert status["writable"] is True
        assert status["files"] == 3  # util.py, main.py, docs/guide.md; never .env
        kinds = [type(p).__name__ for reports in client.progress_reports.values() for p in reports]
        assert "WorkDoneProgressBegin" in kinds, "no $/progress for indexing"
        assert "WorkDoneProgressEnd" in kinds
        new = tmp_path / "extra.py"
        new.write_text("def helper():\n    return 1\n")
        client.text_document_did_save(
            types.DidSaveTextDocumentParams(
                text_document=types.TextDocumentIdentifier(uri=new.as_uri())
            )
        )
        await wait_status(client, lambda s: s.get("files") == 4)
        rebuilt = await command(client, "ai-lsp.index.rebuild")
        assert rebuilt["files_indexed"] == 4


async def test_second_server_on_the_same_workspace_reads_only(tmp_path: Path) -> None:
    make_workspace(tmp_path)
    async with lsp_session(tmp_path) as first:
        await wait_status(first, lambda s: s.get("state") == "ready")
        async with lsp_session(tmp_path) as second:
            status = await wait_status(second, lambda s: "read-only" in s.get("state", ""))
            assert status["writable"] is False
            assert status["files"] == 3


async def test_docs_commands_over_lsp(tmp_path: Path) -> None:
    make_workspace(tmp_path)
    async with lsp_session(tmp_path) as client:
        added = await command(
            client, "ai-lsp.docs.add", {"source": str(tmp_path / "docs"), "name": "guide"}
        )
        assert added["pages"] == 1, added
        listed = await command(client, "ai-lsp.docs.list")
        assert [s["name"] for s in listed] == ["guide"]
        assert (await command(client, "ai-lsp.docs.remove", {"name": "guide"}))["removed"] is True
        assert await command(client, "ai-lsp.docs.list") == []
        bad = await command(client, "ai-lsp.docs.add", {})
        assert "error" in bad


async def test_completion_prompt_carries_definitions_from_the_index_and_explain_shows_them(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    make_workspace(tmp_path)
    (tmp_path / "pricing.py").write_text(
        "def apply_discount_schedule(order, schedule):\n"
        "    '''Marker ZEBRA-DEFINITION: apply each tier of the schedule.'''\n"
        "    return [tier(order) for tier in schedule]\n"
    )
    settings = fake_settings(fake_openai.base_url, completion={"model": "fim", "debounce_ms": 0})
    settings["index"] = {}
    async with lsp_session(tmp_path, init_options=settings) as client:
        await wait_status(client, lambda s: s.get("state") == "ready")
        fake_openai.script(COMPLETIONS, Text("order, tiers)"))
        text = "from pricing import apply_discount_schedule\n\ntotal = apply_discount_schedule("
        uri = open_document(client, tmp_path / "checkout.py", text)
        answer = await client.text_document_inline_completion_async(
            types.InlineCompletionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                position=types.Position(2, len("total = apply_discount_schedule(")),
                context=types.InlineCompletionContext(
                    trigger_kind=types.InlineCompletionTriggerKind.Invoked
                ),
            )
        )
        assert answer is not None
        prompt = fake_openai.requests(COMPLETIONS)[-1].body["prompt"]
        assert "ZEBRA-DEFINITION" in prompt
        explained = await command(client, "ai-lsp.context.explain", {"uri": uri})
        assert any(s["section"].startswith("index:pricing.py") for s in explained["sections"]), (
            explained
        )
        assert "tokens" in explained["explanation"]


async def test_with_an_embedding_model_the_index_opens_and_embeds_chunks(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    make_workspace(tmp_path)
    async with lsp_session(tmp_path, init_options=fake_settings(fake_openai.base_url)) as client:
        status = await wait_status(
            client, lambda s: s.get("state") not in ("opening", "not started", "indexing")
        )
        assert status["state"] == "ready", status
        assert status["files"] == 3
        assert await fake_openai.until(lambda: bool(fake_openai.requests(EMBEDDINGS)), 5)
        embedded = [text for r in fake_openai.requests(EMBEDDINGS) for text in r.body["input"]]
        assert any("compute_total" in text for text in embedded)
        assert not any("sk-should-never" in text for text in embedded)
