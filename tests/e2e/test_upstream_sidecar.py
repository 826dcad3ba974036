"""Sidecar mode against the real server: ai-lsp runs jedi-language-server privately, and what
it resolves reaches the completion prompt (the editor sees no upstream feature)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcMethodNotFound
from pytest_lsp import LanguageClient, client_capabilities
from pytest_lsp.client import make_test_lsp_client

from tests.e2e.session import lsp_session, open_document
from tests.fakes.fixtures import fake_settings
from tests.fakes.openai_server import COMPLETIONS, FakeOpenAI
from tests.fakes.replies import Text
from tests.unit.upstream.conftest import (
    MAIN,
    UTIL,
    eventually,
    fake_command,
    needs_jedi,
    read_log,
)

DEFINITION = "def compute_total(items, discount=0.1):"
TYPED = MAIN + "total = compute_total("


def edit(client: LanguageClient, uri: str, version: int, text: str) -> None:
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "util.py").write_text(UTIL)
    (root / "main.py").write_text(MAIN)
    return root


@needs_jedi
async def test_resolved_definitions_reach_the_completion_prompt(
    workspace: Path, fake_openai: FakeOpenAI
) -> None:
    fake_openai.set_default(COMPLETIONS, Text("orders)\n"))
    options = fake_settings(
        fake_openai.base_url,
        completion={"model": "fim", "debounce_ms": 0},
        upstream={"python": {"command": ["jedi-language-server"]}},
    )
    async with lsp_session(workspace, init_options=options) as client:
        uri = open_document(client, workspace / "main.py", MAIN)
        edit(client, uri, 2, TYPED)  # typing the call schedules the definitions prefetch
        end = types.Position(len(TYPED.splitlines()) - 1, len(TYPED.splitlines()[-1]))
        prompt = ""
        for attempt in range(100):
            # A new first line each time, so that no cached answer stands in for the model.
            edit(client, uri, 3 + attempt, f"# attempt {attempt}\n{TYPED}")
            await client.text_document_completion_async(
                types.CompletionParams(
                    types.TextDocumentIdentifier(uri), types.Position(end.line + 1, end.character)
                )
            )
            requests = fake_openai.requests(COMPLETIONS)
            prompt = requests[-1].body["prompt"] if requests else ""
            if DEFINITION in prompt:
                break
            await asyncio.sleep(0.1)
        # util.py is not open in the editor: only the upstream server can have shown it.
        assert DEFINITION in prompt
        assert "return total * (1 - discount)" in prompt
        with pytest.raises(JsonRpcMethodNotFound):  # a sidecar serves ai-lsp, not the editor
            await client.text_document_hover_async(
                types.HoverParams(types.TextDocumentIdentifier(uri), types.Position(3, 8))
            )


async def test_documents_are_mirrored_and_a_settings_change_restarts_the_server(
    workspace: Path, tmp_path: Path
) -> None:
    first, second = tmp_path / "first.log", tmp_path / "second.log"
    options = {"upstream": {"python": {"command": fake_command(log=first)}}}
    async with lsp_session(workspace, init_options=options) as client:
        uri = open_document(client, workspace / "main.py", MAIN)
        await eventually(lambda: types.TEXT_DOCUMENT_DID_OPEN in _methods(first))
        edit(client, uri, 2, TYPED)
        await eventually(lambda: _methods(first)[-1:] == [types.TEXT_DOCUMENT_DID_CHANGE])
        [changed] = [
            m["params"] for m in read_log(first) if m.get("method") == "textDocument/didChange"
        ]
        assert changed["contentChanges"] == [{"text": TYPED}]
        assert client.diagnostics == {}  # a sidecar's diagnostics stay in ai-lsp

        new = {"aiLsp": {"upstream": {"python": {"command": fake_command(log=second)}}}}
        client.workspace_did_change_configuration(types.DidChangeConfigurationParams(new))
        await eventually(lambda: types.TEXT_DOCUMENT_DID_OPEN in _methods(second))
        await eventually(lambda: _methods(first)[-2:] == [types.SHUTDOWN, types.EXIT])
        [reopened] = [
            m["params"] for m in read_log(second) if m.get("method") == "textDocument/didOpen"
        ]
        assert reopened["textDocument"]["text"] == TYPED


def _methods(log: Path) -> list[str]:
    return [m["method"] for m in read_log(log) if "method" in m]


async def test_every_workspace_folder_reaches_the_server_and_turning_it_off_stops_it(
    tmp_path: Path,
) -> None:
    folders = [tmp_path / name for name in ("app", "lib", "docs")]
    for folder in folders:
        folder.mkdir()
    (folders[0] / "main.py").write_text(MAIN)
    log = tmp_path / "fake.log"
    options = {"upstream": {"python": {"command": fake_command(log=log, folders=True)}}}
    app, lib, docs = (types.WorkspaceFolder(f.as_uri(), f.name) for f in folders)
    client = make_test_lsp_client()
    await client.start_io(sys.executable, "-m", "ai_lsp")
    try:
        await client.initialize_session(
            types.InitializeParams(
                capabilities=client_capabilities("neovim"),
                root_uri=app.uri,
                workspace_folders=[app, lib],
                initialization_options=options,
            )
        )
        open_document(client, folders[0] / "main.py", MAIN)
        await eventually(lambda: types.TEXT_DOCUMENT_DID_OPEN in _methods(log))
        [initialize] = [m["params"] for m in read_log(log) if m.get("method") == "initialize"]
        assert initialize["workspaceFolders"] == [
            {"uri": app.uri, "name": "app"},
            {"uri": lib.uri, "name": "lib"},
        ]

        client.workspace_did_change_workspace_folders(
            types.DidChangeWorkspaceFoldersParams(types.WorkspaceFoldersChangeEvent([docs], [lib]))
        )
        await eventually(lambda: types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS in _methods(log))
        [changed] = [
            m["params"]["event"]
            for m in read_log(log)
            if m.get("method") == types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS
        ]
        assert changed == {
            "added": [{"uri": docs.uri, "name": "docs"}],
            "removed": [{"uri": lib.uri, "name": "lib"}],
        }

        off = {"aiLsp": {"upstream": {"*": {"enabled": False}}}}  # python does not override it
        client.workspace_did_change_configuration(types.DidChangeConfigurationParams(off))
        await eventually(lambda: _methods(log)[-2:] == [types.SHUTDOWN, types.EXIT])
        assert not [m for m in client.messages if m.type == types.MessageType.Error]
        await client.shutdown_session()
    finally:
        if client._server is not None and client._server.returncode is None:
            client._server.kill()
        await client.stop()
