"""The real server over stdio: initialize, encodings, configuration errors and live changes."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient, client_capabilities
from pytest_lsp.client import make_test_lsp_client

from tests.e2e.session import lsp_session


async def usage(client: LanguageClient) -> dict[str, Any]:
    answer = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="ai-lsp.usage", arguments=[])
    )
    assert isinstance(answer, dict)
    return answer


def cap(report: dict[str, Any], setting: str) -> Any:
    return next(c["limit"] for c in report["caps"] if c["setting"] == setting)


async def wait_for_message(client: LanguageClient, needle: str) -> str:
    for _ in range(100):
        for message in client.messages:
            if needle in message.message:
                return message.message
        await asyncio.sleep(0.05)
    raise AssertionError(
        f"no message containing {needle!r}; got {[m.message for m in client.messages]}"
    )


@pytest.mark.parametrize(
    ("offered", "expected"),
    [(["utf-8", "utf-16"], "utf-8"), (["utf-32", "utf-16"], "utf-32"), (None, "utf-16")],
)
async def test_initialize_negotiates_encoding_and_advertises(
    tmp_path: Path, offered: list[str] | None, expected: str
) -> None:
    client = make_test_lsp_client()
    await client.start_io(sys.executable, "-m", "ai_lsp")
    try:
        caps = client_capabilities("neovim")
        caps.general = types.GeneralClientCapabilities(position_encodings=offered)
        result = await client.initialize_session(
            types.InitializeParams(capabilities=caps, root_uri=tmp_path.as_uri())
        )
        assert result.server_info is not None
        assert result.server_info.name == "ai-lsp"
        assert result.capabilities.position_encoding == expected
        sync = result.capabilities.text_document_sync
        assert isinstance(sync, types.TextDocumentSyncOptions)
        assert sync.change == types.TextDocumentSyncKind.Incremental
        assert result.capabilities.execute_command_provider is not None
        assert "ai-lsp.usage" in result.capabilities.execute_command_provider.commands
        await client.shutdown_session()
    finally:
        await client.stop()


async def test_bad_workspace_config_is_named_and_server_keeps_answering(tmp_path: Path) -> None:
    (tmp_path / ".ai-lsp.toml").write_text(
        "[budget]\ndaily_usd = -3\nfrobnicate = true\n[completion]\ncandidates = 2\n"
    )
    async with lsp_session(tmp_path) as client:
        await wait_for_message(client, "`budget.daily_usd`")
        await wait_for_message(client, "`budget.frobnicate`")
        assert cap(await usage(client), "budget.daily_usd") is None


async def test_garbage_initialization_options_do_not_kill_the_server(tmp_path: Path) -> None:
    async with lsp_session(tmp_path, init_options=["nonsense", 3]) as client:
        await wait_for_message(client, "expected an object")
        assert "caps" in await usage(client)


async def test_configuration_changes_apply_without_restart(tmp_path: Path) -> None:
    async with lsp_session(tmp_path, init_options={"budget": {"dailyUsd": 1.5}}) as client:
        assert cap(await usage(client), "budget.daily_usd") == 1.5
        client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings={"aiLsp": {"budget": {"dailyUsd": 4}}})
        )
        assert cap(await usage(client), "budget.daily_usd") == 4
        (tmp_path / ".ai-lsp.toml").write_text("[budget]\nmonthly_usd = 9.0\n")
        client.workspace_did_change_watched_files(
            types.DidChangeWatchedFilesParams(
                changes=[
                    types.FileEvent(
                        uri=(tmp_path / ".ai-lsp.toml").as_uri(), type=types.FileChangeType.Created
                    )
                ]
            )
        )
        report = await usage(client)
        assert cap(report, "budget.monthly_usd") == 9.0
        assert cap(report, "budget.daily_usd") == 4


async def test_settings_are_pulled_with_workspace_configuration(tmp_path: Path) -> None:
    async with lsp_session(
        tmp_path, configuration={"aiLsp": {"budget": {"dailyTokens": 1234}}}
    ) as client:
        for _ in range(50):
            if cap(await usage(client), "budget.daily_tokens") == 1234:
                break
            await asyncio.sleep(0.05)
        assert cap(await usage(client), "budget.daily_tokens") == 1234


async def test_commands_of_other_servers_are_ignored(tmp_path: Path) -> None:
    async with lsp_session(tmp_path) as client:
        answer = await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="pyright.organizeimports", arguments=["x"])
        )
        assert answer is None
        assert "caps" in await usage(client)


def _frame(payload: dict[str, Any] | bytes) -> bytes:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return f"Content-Length: {len(body)}\r\n\r\n".encode() + body


def test_malformed_messages_on_the_wire_leave_the_server_answering(tmp_path: Path) -> None:
    init = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"capabilities": {}, "rootUri": tmp_path.as_uri()},
    }
    garbage = [
        b"{not json",
        json.dumps(
            {"jsonrpc": "2.0", "id": 2, "method": "textDocument/didOpen", "params": {"bogus": 1}}
        ).encode(),
        json.dumps(
            {
                "jsonrpc": "2.0",
                "method": "textDocument/didChange",
                "params": {
                    "textDocument": {"uri": "file:///nope", "version": 3},
                    "contentChanges": [
                        {
                            "range": {
                                "start": {"line": 99, "character": 0},
                                "end": {"line": 0, "character": 0},
                            },
                            "text": "x",
                        }
                    ],
                },
            }
        ).encode(),
        json.dumps(
            {
                "jsonrpc": "2.0",
                "id": 3,
                "method": "workspace/executeCommand",
                "params": {"command": "ai-lsp.usage", "arguments": "not-a-list"},
            }
        ).encode(),
    ]
    probe = {
        "jsonrpc": "2.0",
        "id": 4,
        "method": "workspace/executeCommand",
        "params": {"command": "ai-lsp.usage"},
    }
    stream = _frame(init) + b"".join(_frame(g) for g in garbage) + _frame(probe)
    stream += _frame({"jsonrpc": "2.0", "id": 5, "method": "shutdown"})
    # Like an editor, keep stdin open until the shutdown answer: at EOF the server just stops.
    proc = subprocess.Popen(
        [sys.executable, "-m", "ai_lsp"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdin is not None
    assert proc.stdout is not None
    proc.stdin.write(stream)
    proc.stdin.flush()
    replies = []
    while not any(r.get("id") == 5 for r in replies):
        header = b""
        while not header.endswith(b"\r\n\r\n"):
            byte = proc.stdout.read(1)
            assert byte, f"server closed stdout early; got {replies}"
            header += byte
        fields = dict(line.split(b": ", 1) for line in header.strip().split(b"\r\n"))
        replies.append(json.loads(proc.stdout.read(int(fields[b"Content-Length"]))))
    proc.stdin.write(_frame({"jsonrpc": "2.0", "method": "exit"}))
    proc.stdin.close()
    proc.wait(timeout=30)
    proc.stdout.close()
    by_id = {r.get("id"): r for r in replies if "id" in r}
    assert "result" in by_id[1]
    assert "result" in by_id[4]
    assert "caps" in by_id[4]["result"]
    assert "result" in by_id[5]
    assert proc.returncode == 0


def test_tcp_mode_answers_initialize(tmp_path: Path) -> None:
    import socket
    import time

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "ai_lsp", "serve", "--tcp", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                conn = socket.create_connection(("127.0.0.1", port), timeout=5)
                break
            except OSError:
                assert time.monotonic() < deadline, "server never listened"
                time.sleep(0.1)
        with conn:
            init = {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "initialize",
                "params": {"capabilities": {}},
            }
            conn.sendall(_frame(init))
            data = b""
            while b'"id": 1' not in data and b'"id":1' not in data:
                chunk = conn.recv(65536)
                assert chunk, "connection closed before the initialize answer"
                data += chunk
            assert b'"serverInfo"' in data
    finally:
        proc.terminate()
        proc.wait(timeout=10)
