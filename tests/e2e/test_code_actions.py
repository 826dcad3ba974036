"""AI code actions against the real server: a cheap list, the edit drafted at resolve (or by
`ai-lsp.edit` for clients without resolve), minimal versioned edits, never a stale one, secrets
kept out of the request but in the file, and `ai-lsp.apply` merging an elided block."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import attrs
import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import LanguageClient

from tests.e2e.session import lsp_session, open_document
from tests.fakes.answers import CHAT
from tests.fakes.fixtures import fake_settings
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.replies import Error, Stall, Text
from tests.unit.upstream.conftest import UTIL, fake_command, needs_jedi

SOURCE = """\
import math


def area(radius):
    return math.pi * radius ** 2


def total(items):
    result = 0
    for item in items:
        result += item.price
    return reslt


def main():
    print(total([]))
"""
FIXED_TOTAL = """\
def total(items):
    result = 0
    for item in items:
        result += item.price
    return result
"""
_ids = itertools.count()
UNDEFINED = types.Diagnostic(
    range=types.Range(types.Position(11, 11), types.Position(11, 16)),
    message='"reslt" is not defined',
    source="pyright",
    severity=types.DiagnosticSeverity.Error,
)


@contextlib.asynccontextmanager
async def session(
    workspace: Path, base_url: str, *, editor: str = "neovim", **overrides: Any
) -> AsyncIterator[tuple[LanguageClient, list[types.ApplyWorkspaceEditParams]]]:
    """A session whose client applies every `workspace/applyEdit` (recorded) as editors do."""
    async with lsp_session(
        workspace, init_options=fake_settings(base_url, **overrides), editor=editor
    ) as client:
        applied: list[types.ApplyWorkspaceEditParams] = []

        @client.feature(types.WORKSPACE_APPLY_EDIT)
        def apply_edit(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
            applied.append(params)
            return types.ApplyWorkspaceEditResult(applied=True)

        try:
            yield client, applied
        except BaseException:
            client.protocol.notify(types.EXIT, None)
            raise


async def actions_at(
    client: LanguageClient,
    uri: str,
    line: int,
    *,
    diagnostics: list[types.Diagnostic] | None = None,
    only: list[str] | None = None,
) -> list[types.CodeAction]:
    params = types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri),
        range=types.Range(types.Position(line, 4), types.Position(line, 4)),
        context=types.CodeActionContext(diagnostics=diagnostics or [], only=only),
    )
    msg_id = f"actions-{next(_ids)}"
    future = client.protocol.send_request(types.TEXT_DOCUMENT_CODE_ACTION, params, msg_id=msg_id)
    # The client's converter reads a code action carrying a `command` as a bare `Command`
    # (the union `Command | CodeAction` is guessed by keys): take the raw JSON instead.
    client.protocol._result_types.pop(msg_id, None)
    raw = await asyncio.wrap_future(future) or []
    converter = client.protocol._converter
    return [
        converter.structure(a, types.CodeAction)
        for a in raw
        if isinstance(a.get("command"), dict | None)
    ]


async def eventually(condition: Callable[[], bool], since: float, within_s: float = 10) -> bool:
    while not condition():
        if time.monotonic() - since > within_s:
            return False
        await asyncio.sleep(0.05)
    return True


def fence(code: str) -> str:
    return f"Here is the fix:\n```python\n{code}```\n"


def chat_prompt(fake: FakeOpenAI) -> str:
    body = fake.requests(CHAT)[-1].body
    return "\n".join(message["content"] for message in body["messages"])


async def test_fix_is_drafted_at_resolve_as_a_minimal_edit_of_that_version(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    fake_openai.set_default(CHAT, Text(fence(FIXED_TOTAL)))
    async with session(tmp_path, fake_openai.base_url) as (client, _):
        uri = open_document(client, tmp_path / "shop.py", SOURCE)
        actions = await actions_at(client, uri, 11, diagnostics=[UNDEFINED])
        fix = next(a for a in actions if a.kind == types.CodeActionKind.QuickFix)
        assert fix.title == 'AI: Fix ""reslt" is not defined"'
        assert fix.edit is None, "the list must stay cheap"
        assert fix.command is None
        assert list(fix.diagnostics or []) == [UNDEFINED]
        assert not fake_openai.requests(CHAT), "listing actions must not ask the model"

        resolved = await client.code_action_resolve_async(fix)

        assert resolved.edit is not None
        # Neovim 0.11 does not advertise documentChanges: the plain form, one line changed.
        assert resolved.edit.changes is not None
        assert resolved.edit.document_changes is None
        edits = _text_edits(resolved.edit, uri)
        assert [(e.range.start.line, e.range.end.line, e.new_text) for e in edits] == [
            (11, 12, "    return result\n")
        ]
        prompt = chat_prompt(fake_openai)
        assert '[pyright] "reslt" is not defined' in prompt
        assert "return reslt" in prompt
        assert "def area(radius)" in prompt
        assert fake_openai.requests(CHAT)[-1].body["temperature"] == 0


async def test_without_resolve_the_action_runs_ai_lsp_edit_and_applies_a_versioned_edit(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    fake_openai.set_default(CHAT, Text(fence(FIXED_TOTAL)))
    async with session(tmp_path, fake_openai.base_url, editor="emacs") as (client, applied):
        uri = open_document(client, tmp_path / "shop.py", SOURCE)
        fix = (await actions_at(client, uri, 11, diagnostics=[UNDEFINED]))[0]
        assert fix.edit is None
        assert fix.command is not None
        assert fix.command.command == "ai-lsp.edit"

        started = time.monotonic()
        result = await client.workspace_execute_command_async(
            types.ExecuteCommandParams(fix.command.command, fix.command.arguments)
        )

        # eglot waits for the answer with Emacs frozen (and gives up after 10 s): it comes at
        # once, and the edit follows when the model is done.
        assert result == {"started": True}
        assert await eventually(lambda: len(applied) == 1, started)
        # This client shows work-done progress (eglot 1.9 does not: it gets a message).
        begun = [
            report.title
            for reports in client.progress_reports.values()
            for report in reports
            if isinstance(report, types.WorkDoneProgressBegin)
        ]
        assert fix.title in begun
        change = (applied[0].edit.document_changes or [])[0]
        assert isinstance(change, types.TextDocumentEdit)
        assert change.text_document.version == 1
        assert [e.new_text for e in change.edits] == ["    return result\n"]


async def test_a_document_changed_while_drafting_is_never_edited(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    fake_openai.set_default(CHAT, Text(fence(FIXED_TOTAL), first_byte_delay_s=1.0))
    async with session(tmp_path, fake_openai.base_url, editor="emacs") as (client, applied):
        uri = open_document(client, tmp_path / "shop.py", SOURCE)
        fix = (await actions_at(client, uri, 11, diagnostics=[UNDEFINED]))[0]
        assert fix.command is not None
        running = client.workspace_execute_command_async(
            types.ExecuteCommandParams(fix.command.command, fix.command.arguments)
        )
        task = asyncio.ensure_future(running)
        assert await fake_openai.until(lambda: len(fake_openai.requests(CHAT)) == 1, 5)
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
                content_changes=[
                    types.TextDocumentContentChangePartial(
                        range=types.Range(types.Position(0, 0), types.Position(0, 0)),
                        text="# typed while the model wrote\n",
                    )
                ],
            )
        )
        assert await asyncio.wait_for(task, 10) == {"started": True}
        assert await eventually(
            lambda: any("changed while" in m.message for m in client.messages), time.monotonic(), 5
        ), [m.message for m in client.messages]
        assert applied == []
        # The offered action is for version 1: running it again is refused at once.
        again = await client.workspace_execute_command_async(
            types.ExecuteCommandParams(fix.command.command, fix.command.arguments)
        )
        assert again["applied"] is False
        assert len(fake_openai.requests(CHAT)) == 1


async def test_resolving_a_stale_action_is_content_modified(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    fake_openai.set_default(CHAT, Text(fence(FIXED_TOTAL)))
    async with session(tmp_path, fake_openai.base_url) as (client, _):
        uri = open_document(client, tmp_path / "shop.py", SOURCE)
        fix = (await actions_at(client, uri, 11, diagnostics=[UNDEFINED]))[0]
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
                content_changes=[types.TextDocumentContentChangeWholeDocument(text=SOURCE + "\n")],
            )
        )
        with pytest.raises(JsonRpcException) as raised:
            await client.code_action_resolve_async(fix)
        assert raised.value.code == types.LSPErrorCodes.ContentModified
        assert not fake_openai.requests(CHAT)


async def test_cancelling_a_resolve_closes_the_model_stream(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    fake_openai.set_default(CHAT, Stall("```python\n", hang_s=20))
    async with session(tmp_path, fake_openai.base_url) as (client, _):
        uri = open_document(client, tmp_path / "shop.py", SOURCE)
        fix = (await actions_at(client, uri, 11, diagnostics=[UNDEFINED]))[0]
        pending = asyncio.wrap_future(
            client.protocol.send_request(types.CODE_ACTION_RESOLVE, fix, msg_id="resolve-me")
        )
        assert await fake_openai.until(lambda: len(fake_openai.requests(CHAT)) == 1, 5)
        client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="resolve-me"))
        with pytest.raises(JsonRpcException) as raised:
            await asyncio.wait_for(pending, 3)
        assert raised.value.code == types.LSPErrorCodes.RequestCancelled
        assert await fake_openai.until(lambda: len(fake_openai.disconnects(CHAT)) == 1, 5)


async def test_docstring_and_ai_comment_actions_are_offered_where_they_apply(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    source = SOURCE.replace(
        "def main():\n",
        'def main():\n    """Print the total of nothing."""\n    # ai: print the area of a unit circle too\n',
    )
    async with session(tmp_path, fake_openai.base_url) as (client, _):
        uri = open_document(client, tmp_path / "shop.py", source)
        on_area = [a.title for a in await actions_at(client, uri, 3)]
        assert on_area == ["AI: Add docstring to area"]
        on_main = [a.title for a in await actions_at(client, uri, 14)]
        assert on_main == [], "main has a docstring"
        on_comment = [a.title for a in await actions_at(client, uri, 16)]
        assert on_comment == ["AI: print the area of a unit circle too"]
        only_fixes = await actions_at(client, uri, 16, only=[types.CodeActionKind.QuickFix])
        assert only_fixes == []


async def test_secrets_in_the_region_stay_in_the_file_and_out_of_the_request(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    secret = "sk-" + "A1b2C3d4E5f6G7h8J9k0" * 2
    source = f'def client():\n    key = "{secret}"\n    return connect(key, retries=3)\n'
    answer = 'def client():\n    key = "[secret-1]"\n    return connect(key, retries=5)\n'
    fake_openai.set_default(CHAT, Text(fence(answer)))
    async with session(tmp_path, fake_openai.base_url, editor="emacs") as (client, applied):
        uri = open_document(client, tmp_path / "api.py", source)
        result = await client.workspace_execute_command_async(
            types.ExecuteCommandParams(
                "ai-lsp.edit",
                [
                    {
                        "uri": uri,
                        "range": {
                            "start": {"line": 0, "character": 0},
                            "end": {"line": 3, "character": 0},
                        },
                        "instruction": "retry five times",
                    }
                ],
            )
        )
        assert result["applied"] is True
        assert secret not in json.dumps(fake_openai.requests(CHAT)[-1].body)
        change = (applied[0].edit.document_changes or [])[0]
        assert isinstance(change, types.TextDocumentEdit)
        assert [e.new_text for e in change.edits] == ["    return connect(key, retries=5)\n"]


async def test_apply_merges_an_elided_block_without_a_model(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    draft = (
        "# ... existing code ...\n"
        "def total(items):\n"
        "    result = 0\n"
        "    for item in items:\n"
        "        result += item.price * item.quantity\n"
        "    return result\n"
        "# ... existing code ...\n"
    )
    async with session(tmp_path, fake_openai.base_url, editor="emacs") as (client, applied):
        uri = open_document(client, tmp_path / "shop.py", SOURCE)
        result = await client.workspace_execute_command_async(
            types.ExecuteCommandParams("ai-lsp.apply", [{"uri": uri, "code": draft}])
        )
        assert result["applied"] is True, result
        assert result["model"] == "merge"
        assert not fake_openai.requests(CHAT)
        change = (applied[0].edit.document_changes or [])[0]
        assert isinstance(change, types.TextDocumentEdit)
        assert [(e.range.start.line, e.new_text) for e in change.edits] == [
            (10, "        result += item.price * item.quantity\n    return result\n")
        ]


async def test_without_an_edit_model_no_ai_action_is_listed_and_edit_says_how_to_configure(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    async with session(tmp_path, fake_openai.base_url, editor="emacs", chat={}, edit={}) as (
        client,
        applied,
    ):
        uri = open_document(client, tmp_path / "shop.py", SOURCE)
        assert await actions_at(client, uri, 11, diagnostics=[UNDEFINED]) == []
        result = await client.workspace_execute_command_async(
            types.ExecuteCommandParams(
                "ai-lsp.edit",
                [{"uri": uri, "range": UNDEFINED.range, "instruction": "fix it"}],
            )
        )
        assert result["applied"] is False
        assert "edit.model" in result["error"]
        assert any("edit.model" in m.message for m in client.messages)
        assert applied == []
        assert not fake_openai.requests(CHAT)


def _text_edits(edit: types.WorkspaceEdit, uri: str) -> list[types.TextEdit]:
    if edit.changes is not None:
        return list(edit.changes[uri])
    found: list[types.TextEdit] = []
    for change in edit.document_changes or []:
        if isinstance(change, types.TextDocumentEdit) and change.text_document.uri == uri:
            found += [e for e in change.edits if isinstance(e, types.TextEdit)]
    return found


async def test_the_sidecar_servers_problems_are_offered_when_the_editor_sends_none(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    upstream = {"python": {"command": fake_command(), "mode": "sidecar"}}
    async with session(tmp_path, fake_openai.base_url, upstream=upstream) as (client, _):
        uri = open_document(client, tmp_path / "shop.py", SOURCE)
        titles: list[str] = []
        for _ in range(100):  # the sidecar starts on didOpen and then publishes
            titles = [a.title for a in await actions_at(client, uri, 0)]
            if titles:
                break
            await asyncio.sleep(0.1)
        assert titles == ['AI: Fix "fake problem"']
        assert [a.title for a in await actions_at(client, uri, 3)] == [
            "AI: Add docstring to area"
        ], "only the problems on the requested lines"


async def test_the_same_problem_twice_is_offered_once(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    async with session(tmp_path, fake_openai.base_url) as (client, _):
        uri = open_document(client, tmp_path / "shop.py", SOURCE)
        twice = [UNDEFINED, attrs.evolve(UNDEFINED, source="pyright (copy)")]
        titles = [a.title for a in await actions_at(client, uri, 11, diagnostics=twice)]
        assert titles == ['AI: Fix ""reslt" is not defined"']


async def test_files_kept_from_models_get_no_ai_action(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".gitignore").write_text("generated/\n")
    (tmp_path / "generated").mkdir()
    async with session(tmp_path, fake_openai.base_url) as (client, _):
        ignored = open_document(client, tmp_path / "generated" / "shop.py", SOURCE)
        assert await actions_at(client, ignored, 11, diagnostics=[UNDEFINED]) == []
        secrets = open_document(client, tmp_path / ".env.py", SOURCE)
        assert await actions_at(client, secrets, 11, diagnostics=[UNDEFINED]) == []
        allowed = open_document(client, tmp_path / "shop.py", SOURCE)
        assert len(await actions_at(client, allowed, 11, diagnostics=[UNDEFINED])) == 1


@needs_jedi
async def test_a_fix_prompt_carries_the_definitions_the_sidecar_resolves(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "util.py").write_text(UTIL)
    main = "from util import Order, compute_total\n\n\ndef checkout(orders):\n    return compute_total(orders, discount=tax)\n"
    fake_openai.set_default(
        CHAT, Text(fence("def checkout(orders):\n    return compute_total(orders)\n"))
    )
    upstream = {"python": {"command": ["jedi-language-server"], "mode": "sidecar"}}
    problem = types.Diagnostic(
        range=types.Range(types.Position(4, 42), types.Position(4, 45)),
        message='"tax" is not defined',
    )
    async with session(tmp_path, fake_openai.base_url, upstream=upstream) as (client, _):
        uri = open_document(client, tmp_path / "main.py", main)
        fix = (await actions_at(client, uri, 4, diagnostics=[problem]))[0]
        references: list[str] = []
        for _ in range(10):  # the first edits may come while jedi is still starting
            resolved = await client.code_action_resolve_async(fix)
            assert resolved.edit is not None
            references = chat_prompt(fake_openai).split("Definitions the language server", 1)
            if len(references) == 2:
                break
            await asyncio.sleep(0.5)
        assert len(references) == 2, chat_prompt(fake_openai)
        assert "util.py lines 1-4" in references[1]
        assert "Sum the prices of `items`, minus `discount`." in references[1]


async def test_a_failing_endpoint_is_said_once_per_edit_and_the_server_lives_on(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    fake_openai.set_default(CHAT, Error(401))
    async with session(tmp_path, fake_openai.base_url, editor="emacs") as (client, applied):
        uri = open_document(client, tmp_path / "shop.py", SOURCE)
        result = await client.workspace_execute_command_async(
            types.ExecuteCommandParams(
                "ai-lsp.edit",
                [
                    {
                        "uri": uri,
                        "range": {
                            "start": {"line": 7, "character": 0},
                            "end": {"line": 12, "character": 0},
                        },
                        "instruction": "fix it",
                    }
                ],
            )
        )
        assert result["applied"] is False
        assert "rejected the API key" in result["error"]

        def said() -> list[str]:
            return [m.message for m in client.messages if "rejected the API key" in m.message]

        assert await eventually(lambda: bool(said()), time.monotonic())
        await asyncio.sleep(0.2)  # a second copy would have arrived by now
        assert len(said()) == 1, said()
        assert applied == []
        usage = await client.workspace_execute_command_async(
            types.ExecuteCommandParams("ai-lsp.usage", [])
        )
        assert isinstance(usage, dict)


async def test_malformed_arguments_get_an_error_that_names_them_and_the_server_lives_on(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    async with session(tmp_path, fake_openai.base_url, editor="emacs") as (client, applied):
        uri = open_document(client, tmp_path / "shop.py", SOURCE)

        async def run(command: str, argument: Any) -> Any:
            return await client.workspace_execute_command_async(
                types.ExecuteCommandParams(command, [argument])
            )

        assert "needs {uri, range, instruction}" in (await run("ai-lsp.edit", {"uri": 5}))["error"]
        assert (
            "needs an instruction" in (await run("ai-lsp.edit", {"uri": uri, "kind": {}}))["error"]
        )
        assert (
            "needs {uri, code}" in (await run("ai-lsp.apply", {"uri": uri, "code": "  "}))["error"]
        )
        with pytest.raises(JsonRpcException) as raised:
            await client.code_action_resolve_async(
                types.CodeAction(title="AI: x", data={"uri": uri, "version": 1})
            )
        assert raised.value.code == types.ErrorCodes.InvalidParams
        assert "not an ai-lsp code action" in raised.value.message
        assert applied == []
        assert not fake_openai.requests(CHAT)
        assert isinstance(await run("ai-lsp.usage", {}), dict)
