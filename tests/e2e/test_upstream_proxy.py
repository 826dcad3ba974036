"""Proxy mode against the real server: the editor talks only to ai-lsp, which fronts
jedi-language-server (or the scripted fake) and merges its own completions in."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import LanguageClient, client_capabilities
from pytest_lsp.client import make_test_lsp_client

from tests.e2e.session import open_document
from tests.fakes.answers import CHAT
from tests.fakes.fixtures import fake_settings
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.replies import Text
from tests.unit.upstream.conftest import (
    UTIL,
    alive,
    eventually,
    fake_command,
    needs_jedi,
    read_log,
    wait_dead,
)

JEDI = ["jedi-language-server"]
MAIN = 'from util import Order, compute_total\n\nprint("é", compute_total([Order()]))\n'
CALL = types.Position(2, MAIN.splitlines()[2].encode().index(b"compute_total") + 3)
"""On `compute_total` in utf-8 columns (the `é` makes utf-16 columns differ)."""
REQUEST_FAILED = -32803
REQUEST_CANCELLED = -32800


def proxied(command: list[str], **settings: Any) -> dict[str, Any]:
    """`initializationOptions` running `command` as the python server in proxy mode."""
    return {"upstream": {"python": {"command": command, "mode": "proxy"}}, **settings}


def workspace_at(root: Path) -> Path:
    root.mkdir()
    (root / ".git").mkdir()  # the local completion model trains on a repository
    (root / "util.py").write_text(UTIL)
    (root / "main.py").write_text(MAIN)
    return root


@contextlib.asynccontextmanager
async def proxy_session(
    workspace: Path, init_options: Any, *, configuration: dict[str, Any] | None = None
) -> AsyncIterator[tuple[LanguageClient, types.InitializeResult]]:
    """Like `lsp_session` (Neovim's capabilities), also giving the `initialize` result, and
    ending quietly when the test killed the server."""
    client = make_test_lsp_client()
    if configuration is not None:
        client.set_configuration(configuration)
    await client.start_io(sys.executable, "-m", "ai_lsp")
    assert client._server is not None
    try:
        result = await client.initialize_session(
            types.InitializeParams(
                capabilities=client_capabilities("neovim"),
                root_uri=workspace.as_uri(),
                workspace_folders=[types.WorkspaceFolder(workspace.as_uri(), workspace.name)],
                initialization_options=init_options,
            )
        )
        yield client, result
        if client._server.returncode is None:
            await client.shutdown_session()
    finally:
        if client._server.returncode is None:
            client._server.kill()
        await client.stop()


def children(pid: int) -> list[int]:
    """Processes whose parent is `pid` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
            except (FileNotFoundError, ProcessLookupError):
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(entry.name))
    return found


def in_session(sid: int) -> list[int]:
    """Live processes of session `sid` (an upstream server is its session's leader)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
            except (FileNotFoundError, ProcessLookupError):
                continue
            if int(fields[3]) == sid and fields[0] != "Z":
                found.append(int(entry.name))
    return found


def server_pid(client: LanguageClient) -> int:
    assert client._server is not None
    return client._server.pid


async def upstream_pid(client: LanguageClient) -> int:
    """The upstream server ai-lsp runs (its only child)."""
    found: list[int] = []

    def started() -> bool:
        found[:] = children(server_pid(client))
        return len(found) == 1

    await eventually(started)
    return found[0]


async def hover(client: LanguageClient, uri: str, position: types.Position = CALL) -> types.Hover:
    answer = await client.text_document_hover_async(
        types.HoverParams(types.TextDocumentIdentifier(uri), position)
    )
    assert answer is not None
    assert isinstance(answer.contents, types.MarkupContent)
    return answer


def type_text(client: LanguageClient, uri: str, line: int, column: int, text: str) -> None:
    """Type `text` at `line`:`column` one character per `didChange` (versions from 2)."""
    for offset, char in enumerate(text):
        at = types.Position(line, column + offset)
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                types.VersionedTextDocumentIdentifier(version=2 + offset, uri=uri),
                [types.TextDocumentContentChangePartial(range=types.Range(at, at), text=char)],
            )
        )


async def complete(client: LanguageClient, uri: str, position: types.Position) -> Any:
    return await client.text_document_completion_async(
        types.CompletionParams(
            types.TextDocumentIdentifier(uri),
            position,
            context=types.CompletionContext(trigger_kind=types.CompletionTriggerKind.Invoked),
        )
    )


@needs_jedi
async def test_jedi_answers_through_ai_lsp_next_to_the_ai_items(tmp_path: Path) -> None:
    workspace = workspace_at(tmp_path / "project")
    async with proxy_session(workspace, proxied(JEDI)) as (client, result):
        merged = result.capabilities
        assert merged.hover_provider
        assert merged.definition_provider
        assert merged.references_provider
        assert merged.position_encoding == types.PositionEncodingKind.Utf8  # neovim's first
        assert merged.completion_provider is not None
        assert "." in (merged.completion_provider.trigger_characters or [])
        assert merged.completion_provider.resolve_provider  # jedi resolves its items
        assert merged.execute_command_provider is not None
        assert "ai-lsp.usage" in merged.execute_command_provider.commands
        uri = open_document(client, workspace / "main.py", MAIN)

        answer = await hover(client, uri)
        assert "def compute_total(items, discount=0.1)" in answer.contents.value
        [target] = await client.text_document_definition_async(
            types.DefinitionParams(types.TextDocumentIdentifier(uri), CALL)
        )
        assert (target.uri, target.range.start.line) == ((workspace / "util.py").as_uri(), 0)
        references = await client.text_document_references_async(
            types.ReferenceParams(
                types.ReferenceContext(include_declaration=True),
                types.TextDocumentIdentifier(uri),
                CALL,
            )
        )
        assert {r.uri for r in references} >= {uri, (workspace / "util.py").as_uri()}

        type_text(client, uri, 3, 0, "compute_to")
        end = types.Position(3, len("compute_to"))
        items: list[types.CompletionItem] = []
        for _ in range(100):  # the local model trains in the background; jedi may be slow
            items = list((await complete(client, uri, end)).items)
            has_ai = any("ai-lsp" in (item.detail or "") for item in items)
            if has_ai and any(item.label == "compute_total" for item in items):
                break
            await asyncio.sleep(0.1)
        jedi_item = next(item for item in items if item.label == "compute_total")
        ai_item = next(item for item in items if "ai-lsp" in (item.detail or ""))
        assert ai_item.text_edit is not None
        assert ai_item.text_edit.new_text.startswith("compute_total")
        assert ai_item.data == {"ai-lsp": None}
        assert await client.completion_item_resolve_async(ai_item) == ai_item
        resolved = await client.completion_item_resolve_async(jedi_item)
        assert "Sum the prices" in str(resolved.documentation)


async def test_errors_notifications_and_server_requests_are_relayed(tmp_path: Path) -> None:
    workspace = workspace_at(tmp_path / "project")
    log = tmp_path / "fake.log"
    async with proxy_session(
        workspace, proxied(fake_command("ask", log=log)), configuration={"fake": {"option": 42}}
    ) as (client, _):
        edits: list[types.ApplyWorkspaceEditParams] = []

        @client.feature(types.WORKSPACE_APPLY_EDIT)
        def apply_edit(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
            edits.append(params)
            return types.ApplyWorkspaceEditResult(applied=True)

        uri = open_document(client, workspace / "main.py", MAIN)
        await eventually(lambda: uri in client.diagnostics)
        assert [d.message for d in client.diagnostics[uri]] == ["fake problem"]

        with pytest.raises(JsonRpcException) as refused:
            await client.text_document_folding_range_async(
                types.FoldingRangeParams(types.TextDocumentIdentifier(uri))
            )
        assert refused.value.code == -32601
        assert "no textDocument/foldingRange" in refused.value.message

        def answers() -> dict[int, dict[str, Any]]:
            return {m["id"]: m for m in read_log(log) if "id" in m and "method" not in m}

        await eventually(lambda: len(answers()) == 4)
        configuration, applied, progress, unknown = (answers()[i] for i in range(1001, 1005))
        assert configuration["result"] == [42, {"fake": {"option": 42}}]
        assert applied["result"] == {"applied": True}
        assert edits, "workspace/applyEdit never reached the editor"
        assert progress["result"] is None
        assert unknown["error"]["code"] == -32601


async def test_hung_upstream_neither_blocks_the_editor_nor_keeps_cancelled_requests(
    tmp_path: Path,
) -> None:
    workspace = workspace_at(tmp_path / "project")
    log = tmp_path / "fake.log"
    async with proxy_session(workspace, proxied(fake_command("hang", log=log))) as (client, _):
        uri = open_document(client, workspace / "main.py", MAIN)
        params = types.HoverParams(types.TextDocumentIdentifier(uri), CALL)
        hanging = asyncio.ensure_future(
            client.protocol.send_request_async(types.TEXT_DOCUMENT_HOVER, params, msg_id="h1")
        )
        began = time.monotonic()
        usage = await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="ai-lsp.usage")
        )
        assert "caps" in usage
        merged = await complete(client, uri, types.Position(0, 4))
        assert merged.is_incomplete  # upstream's part is missing: typing asks again
        assert time.monotonic() - began < 6  # the merge waits 3 s for upstream at most
        assert not hanging.done()

        client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="h1"))
        with pytest.raises(JsonRpcException) as cancelled:
            await asyncio.wait_for(hanging, 5)
        assert cancelled.value.code == REQUEST_CANCELLED

        def upstream_cancelled() -> bool:
            received = read_log(log)
            ids = [m["id"] for m in received if m.get("method") == types.TEXT_DOCUMENT_HOVER]
            cancels = [
                m["params"]["id"] for m in received if m.get("method") == types.CANCEL_REQUEST
            ]
            return bool(ids) and ids[0] in cancels

        await eventually(upstream_cancelled)


@needs_jedi
async def test_killing_the_upstream_mid_request_errors_then_it_restarts(tmp_path: Path) -> None:
    workspace = workspace_at(tmp_path / "project")
    async with proxy_session(workspace, proxied(JEDI)) as (client, _):
        uri = open_document(client, workspace / "main.py", MAIN)
        await hover(client, uri)
        first = await upstream_pid(client)
        os.kill(first, signal.SIGSTOP)  # frozen: the next request stays in flight
        pending = asyncio.ensure_future(hover(client, uri))
        await asyncio.sleep(0.3)
        assert not pending.done()
        os.kill(first, signal.SIGKILL)
        with pytest.raises(JsonRpcException) as failed:
            await asyncio.wait_for(pending, 5)
        assert failed.value.code == REQUEST_FAILED
        assert wait_dead(first)

        second = await upstream_pid(client)
        assert second != first
        answer = await hover(client, uri)
        assert "def compute_total(items, discount=0.1)" in answer.contents.value
        told = [m.message for m in client.messages if "restarts it" in m.message]
        assert len(told) == 1, [m.message for m in client.messages]


@needs_jedi
async def test_no_upstream_process_outlives_a_killed_ai_lsp(tmp_path: Path) -> None:
    workspace = workspace_at(tmp_path / "project")
    async with proxy_session(workspace, proxied(JEDI)) as (client, _):
        uri = open_document(client, workspace / "main.py", MAIN)
        await hover(client, uri)
        upstream = await upstream_pid(client)
        assert in_session(upstream)
        os.kill(server_pid(client), signal.SIGKILL)
        await eventually(lambda: not in_session(upstream))


async def test_sigterm_shuts_the_upstream_down_politely(tmp_path: Path) -> None:
    workspace = workspace_at(tmp_path / "project")
    log = tmp_path / "fake.log"
    async with proxy_session(workspace, proxied(fake_command(log=log))) as (client, _):
        upstream = await upstream_pid(client)
        os.kill(server_pid(client), signal.SIGTERM)
        assert client._server is not None
        assert await asyncio.wait_for(client._server.wait(), 10) == 0
        methods = [m.get("method") for m in read_log(log)]
        assert methods[-2:] == [types.SHUTDOWN, types.EXIT]
        assert not alive(upstream)


async def test_the_editor_falls_back_to_utf16_when_upstream_keeps_it(tmp_path: Path) -> None:
    workspace = workspace_at(tmp_path / "project")
    log = tmp_path / "fake.log"
    async with proxy_session(workspace, proxied(fake_command(log=log))) as (_, result):
        [offered] = [m["params"] for m in read_log(log) if m.get("method") == types.INITIALIZE]
        assert offered["capabilities"]["general"]["positionEncodings"] == ["utf-8", "utf-16"]
        merged = result.capabilities
        assert merged.position_encoding == types.PositionEncodingKind.Utf16  # the fake's
        assert merged.hover_provider
        assert isinstance(merged.text_document_sync, types.TextDocumentSyncOptions)
        assert merged.text_document_sync.change == types.TextDocumentSyncKind.Incremental


async def test_folder_changes_reach_the_server_once_and_timeouts_follow_the_settings(
    tmp_path: Path,
) -> None:
    workspace = workspace_at(tmp_path / "project")
    (tmp_path / "lib").mkdir()
    log = tmp_path / "fake.log"
    command = fake_command("hang", log=log, folders=True)
    options = proxied(command)
    options["upstream"]["python"]["requestTimeoutS"] = 0.3
    async with proxy_session(workspace, options) as (client, _):
        uri = open_document(client, workspace / "main.py", MAIN)
        added = types.WorkspaceFolder((tmp_path / "lib").as_uri(), "lib")
        client.workspace_did_change_workspace_folders(
            types.DidChangeWorkspaceFoldersParams(types.WorkspaceFoldersChangeEvent([added], []))
        )
        began = time.monotonic()
        with pytest.raises(JsonRpcException) as late:  # the fake hangs: answered after 0.3 s
            await hover(client, uri)
        assert late.value.code == REQUEST_FAILED
        assert time.monotonic() - began < 2
        # The manager alone passes folder changes on: the proxy does not forward them too.
        changes = [
            m["params"]["event"]
            for m in read_log(log)
            if m.get("method") == types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS
        ]
        assert changes == [{"added": [{"uri": added.uri, "name": "lib"}], "removed": []}]

        longer = {"aiLsp": {"upstream": {"python": {"request_timeout_s": 1.5}}}}
        client.workspace_did_change_configuration(types.DidChangeConfigurationParams(longer))
        await asyncio.sleep(0.2)  # a notification: give it time to be applied
        began = time.monotonic()
        with pytest.raises(JsonRpcException):
            await hover(client, uri)
        assert time.monotonic() - began > 1.2


@needs_jedi
async def test_code_actions_of_both_servers_are_merged_and_resolved_by_their_owner(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    workspace = workspace_at(tmp_path / "project")
    source = MAIN.replace('print("é"', '# ai: print the total with two decimals\nprint("é"')
    fake_openai.set_default(
        CHAT, Text('```python\nprint("é", f"{compute_total([Order()]):.2f}")\n```')
    )
    options = proxied(JEDI, **fake_settings(fake_openai.base_url, completion={}))
    async with proxy_session(workspace, options) as (client, result):
        provider = result.capabilities.code_action_provider
        assert isinstance(provider, types.CodeActionOptions)
        assert provider.resolve_provider
        uri = open_document(client, workspace / "main.py", source)
        call = "compute_total([Order()])"
        line = source.splitlines()[3]
        start = len(line[: line.index(call)].encode())
        params = types.CodeActionParams(
            types.TextDocumentIdentifier(uri),
            types.Range(types.Position(2, 0), types.Position(3, start + len(call.encode()))),
            types.CodeActionContext(diagnostics=[]),
        )
        found: list[types.CodeAction] = []
        for _ in range(50):  # jedi may still be starting
            found = [
                a
                for a in await client.text_document_code_action_async(params) or []
                if isinstance(a, types.CodeAction)
            ]
            if len(found) > 1:
                break
            await asyncio.sleep(0.1)
        titles = [a.title for a in found]
        ours = next(a for a in found if a.title == "AI: print the total with two decimals")
        jedis = next(a for a in found if a.title.startswith("Extract expression"))
        assert titles.index(jedis.title) < titles.index(ours.title), "upstream's come first"
        assert isinstance(ours.data, dict)
        assert list(ours.data) == ["ai-lsp"]

        mine = await client.code_action_resolve_async(ours)
        assert mine.edit is not None
        assert mine.edit.changes is not None
        [edit] = mine.edit.changes[uri]
        assert (edit.range.start.line, edit.range.end.line) == (2, 4)
        assert edit.new_text == 'print("é", f"{compute_total([Order()]):.2f}")\n'
        assert fake_openai.requests(CHAT), "ai-lsp drafted its own action"
        theirs = await client.code_action_resolve_async(jedis)
        assert theirs.edit is not None or theirs.command is not None
