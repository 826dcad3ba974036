"""The manager against the fake: lazy start, document mirroring, restarts, giving up, settings."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types

from ai_lsp.config import Settings, UpstreamConfig
from ai_lsp.notices import Notices
from ai_lsp.upstream.context import definitions_near_cursor
from ai_lsp.upstream.manager import Backoff, UpstreamManager, UpstreamUnavailable
from ai_lsp.upstream.transport import UpstreamCrashed
from tests.unit.upstream.conftest import Said, alive, eventually, fake_command, read_log

MakeManager = Callable[..., UpstreamManager]
DID_CHANGE_FOLDERS = types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS


def received(log: Path, method: str) -> list[Any]:
    return [m.get("params") for m in read_log(log) if m.get("method") == method]


def running_pid(manager: UpstreamManager) -> int | None:
    [status] = manager.status()
    return status.pid if status.state == "running" else None


async def test_starts_lazily_and_mirrors_documents(
    make_manager: MakeManager, workspace: Path, tmp_path: Path
) -> None:
    log = tmp_path / "log"
    manager = make_manager(fake_command(log=log))
    uri = (workspace / "main.py").as_uri()
    manager.open((workspace / "notes.md").as_uri(), "markdown", 1, "# notes")
    assert manager.status() == []  # no server for markdown, and nothing asked for python yet
    manager.open(uri, "python", 1, "x = 1\n")
    await eventually(lambda: bool(received(log, "textDocument/didOpen")))
    manager.change(uri, 2, "x = 2\n")
    manager.close(uri)
    await eventually(lambda: bool(received(log, "textDocument/didClose")))
    [opened] = received(log, "textDocument/didOpen")
    assert opened["textDocument"] == {
        "uri": uri,
        "languageId": "python",
        "version": 1,
        "text": "x = 1\n",
    }
    [changed] = received(log, "textDocument/didChange")
    assert changed["textDocument"]["version"] == 2
    assert changed["contentChanges"] == [{"text": "x = 2\n"}]
    [initialize] = received(log, "initialize")
    assert initialize["rootUri"] == workspace.as_uri()
    with pytest.raises(UpstreamUnavailable, match="markdown"):
        await manager.client_for((workspace / "notes.md").as_uri())


async def test_crash_restarts_with_backoff_and_reopens_documents(
    make_manager: MakeManager, workspace: Path, tmp_path: Path, said: Said
) -> None:
    log = tmp_path / "log"
    manager = make_manager(fake_command("crash", log=log))
    uri = (workspace / "main.py").as_uri()
    manager.open(uri, "python", 1, "x = 1\n")
    client = await manager.client_for(uri)
    first_pid = client.transport.pid
    manager.change(uri, 2, "x = 2\n")
    with pytest.raises(UpstreamCrashed, match="exited with code 3"):
        await client.hover(uri, types.Position(0, 0))
    await eventually(lambda: running_pid(manager) not in (None, first_pid))
    restarted = await manager.client_for(uri)
    assert await restarted.definition(uri, types.Position(0, 0))  # the next request works
    reopened = received(log, "textDocument/didOpen")[-1]["textDocument"]
    assert (reopened["version"], reopened["text"]) == (2, "x = 2\n")
    [(level, message)] = said.messages
    assert level == "warning"
    assert "python language server" in message
    assert "exited with code 3" in message


async def test_gives_up_after_repeated_crashes(
    make_manager: MakeManager, workspace: Path, said: Said
) -> None:
    manager = make_manager(fake_command("crash"))
    uri = (workspace / "main.py").as_uri()
    manager.open(uri, "python", 1, "x = 1\n")
    for _ in range(3):
        client = await manager.client_for(uri)
        with pytest.raises(UpstreamCrashed):
            await client.hover(uri, types.Position(0, 0))
        await eventually(lambda: manager.status()[0].state != "running")
    [status] = manager.status()
    assert status.state == "failed"
    assert status.recent_crashes == 3
    with pytest.raises(UpstreamUnavailable, match="crashed 3 times"):
        await manager.client_for(uri)
    assert [level for level, _ in said.messages] == ["warning", "error"]
    assert "[upstream.python] command" in said.messages[-1][1]


async def test_garbage_on_stdout_restarts_the_server(
    make_manager: MakeManager, workspace: Path
) -> None:
    manager = make_manager(fake_command("garbage"))
    uri = (workspace / "main.py").as_uri()
    manager.open(uri, "python", 1, "x = 1\n")
    client = await manager.client_for(uri)
    with pytest.raises(UpstreamCrashed, match="non-protocol output"):
        await client.hover(uri, types.Position(0, 0))
    await eventually(lambda: not alive(client.transport.pid))
    await eventually(lambda: running_pid(manager) not in (None, client.transport.pid))
    restarted = await manager.client_for(uri)
    assert await restarted.definition(uri, types.Position(0, 0))


async def test_missing_program_gives_up_at_once(
    make_manager: MakeManager, workspace: Path, tmp_path: Path, said: Said
) -> None:
    manager = make_manager([str(tmp_path / "no-such-server")])
    uri = (workspace / "main.py").as_uri()
    manager.open(uri, "python", 1, "x = 1\n")
    await eventually(lambda: manager.status()[0].state == "failed")
    with pytest.raises(UpstreamUnavailable, match="Cannot start"):
        await manager.client_for(uri)
    [(level, message)] = said.messages
    assert level == "error"
    assert "no-such-server" in message


async def test_changed_settings_stop_the_old_server_and_start_the_new(
    workspace: Path, tmp_path: Path
) -> None:
    old_log, new_log = tmp_path / "old", tmp_path / "new"
    settings = Settings(upstream={"python": UpstreamConfig(command=fake_command(log=old_log))})
    manager = UpstreamManager(lambda: settings, workspace, Notices(), backoff=Backoff())
    try:
        uri = (workspace / "main.py").as_uri()
        manager.open(uri, "python", 1, "x = 1\n")
        old = await manager.client_for(uri)
        manager.update(settings)  # unchanged: nothing happens
        assert await manager.client_for(uri) is old
        settings = Settings(upstream={"python": UpstreamConfig(command=fake_command(log=new_log))})
        manager.update(settings)
        new = await manager.client_for(uri)
        assert new is not old
        await eventually(lambda: not alive(old.transport.pid))
        assert received(old_log, "shutdown")  # stopped politely, not counted as a crash
        await eventually(lambda: bool(received(new_log, "textDocument/didOpen")))
        assert received(new_log, "textDocument/didOpen")[0]["textDocument"]["uri"] == uri
        assert [status.state for status in manager.status()] == ["running"]
    finally:
        await manager.aclose()
    assert not alive(new.transport.pid)


async def test_context_from_a_hung_server_stays_within_its_budget(
    make_manager: MakeManager, workspace: Path
) -> None:
    manager = make_manager(fake_command("hang"))
    uri = (workspace / "main.py").as_uri()
    text = "total = compute_total(orders, "
    manager.open(uri, "python", 1, text)
    await manager.client_for(uri)
    began = time.monotonic()
    assert (
        await definitions_near_cursor(manager, uri, text, len(text), "python", budget_ms=200) == []
    )
    assert time.monotonic() - began < 0.5


async def test_waiting_callers_learn_when_a_start_is_abandoned(
    make_manager: MakeManager, workspace: Path
) -> None:
    manager = make_manager(fake_command("mute"))
    uri = (workspace / "main.py").as_uri()
    manager.open(uri, "python", 1, "x = 1\n")
    waiting = asyncio.create_task(manager.client_for(uri))
    await asyncio.sleep(0.2)
    assert not waiting.done()  # `initialize` is never answered
    manager.update(Settings(upstream={"python": UpstreamConfig(command=fake_command())}))
    with pytest.raises(UpstreamUnavailable, match="was stopped"):
        await waiting
    assert await manager.client_for(uri) is not None


async def test_turning_a_language_off_stops_its_server_and_on_starts_it_again(
    workspace: Path, tmp_path: Path
) -> None:
    log = tmp_path / "log"
    command = fake_command(log=log)
    settings = Settings(upstream={"python": UpstreamConfig(command=command)})
    manager = UpstreamManager(lambda: settings, workspace, Notices(), backoff=Backoff())
    try:
        uri = (workspace / "main.py").as_uri()
        manager.open(uri, "python", 1, "x = 1\n")
        first = await manager.client_for(uri)
        off = UpstreamConfig(enabled=False)
        settings = Settings(upstream={"python": UpstreamConfig(command=command), "*": off})
        manager.update(settings)
        await eventually(lambda: not alive(first.transport.pid))
        assert received(log, "shutdown")
        assert manager.status() == []
        manager.change(uri, 2, "x = 2\n")  # mirrored nowhere
        with pytest.raises(UpstreamUnavailable, match="turned off"):
            await manager.client_for(uri)
        on = UpstreamConfig(command=command, enabled=True)  # the language's own key wins
        settings = Settings(upstream={"python": on, "*": off})
        manager.update(settings)
        second = await manager.client_for(uri)
        assert second is not first
        await eventually(lambda: len(received(log, "textDocument/didOpen")) == 2)
        assert received(log, "textDocument/didOpen")[-1]["textDocument"]["text"] == "x = 2\n"
    finally:
        await manager.aclose()


async def test_the_editors_workspace_folders_reach_the_servers_that_follow_them(
    workspace: Path, tmp_path: Path
) -> None:
    other, third, crate = tmp_path / "other", tmp_path / "third", workspace / "crate"
    for folder in (other, third, crate):
        folder.mkdir()
    (crate / "Cargo.toml").write_text("")
    logs = {name: tmp_path / f"{name}.log" for name in ("python", "go", "c", "rust")}

    def folder_of(path: Path) -> types.WorkspaceFolder:
        return types.WorkspaceFolder(path.as_uri(), path.name)

    def uris(folders: list[types.WorkspaceFolder] | list[dict[str, str]]) -> list[str]:
        return [f.uri if isinstance(f, types.WorkspaceFolder) else f["uri"] for f in folders]

    settings = Settings(
        upstream={
            "python": UpstreamConfig(command=fake_command(log=logs["python"], folders=True)),
            "go": UpstreamConfig(command=fake_command(log=logs["go"])),
            "c": UpstreamConfig(command=fake_command(log=logs["c"], folders=True)),
            "rust": UpstreamConfig(
                command=fake_command(log=logs["rust"], folders=True), root_markers=["Cargo.toml"]
            ),
        }
    )
    manager = UpstreamManager(
        lambda: settings,
        workspace,
        Notices(),
        backoff=Backoff(),
        workspace_folders=[folder_of(workspace), folder_of(other)],
    )
    try:
        main = (workspace / "main.py").as_uri()
        python = await manager.client_for(main, "python")
        go = await manager.client_for(main, "go")
        rust = await manager.client_for((crate / "lib.rs").as_uri(), "rust")
        [initialize] = received(logs["python"], "initialize")
        assert uris(initialize["workspaceFolders"]) == [workspace.as_uri(), other.as_uri()]
        [initialize] = received(logs["rust"], "initialize")  # a project below the root
        assert uris(initialize["workspaceFolders"]) == [crate.as_uri()]

        manager.folders_changed([folder_of(third)], [folder_of(other)])
        await eventually(lambda: bool(received(logs["python"], DID_CHANGE_FOLDERS)))
        [changed] = received(logs["python"], DID_CHANGE_FOLDERS)
        assert changed["event"] == {
            "added": [{"uri": third.as_uri(), "name": "third"}],
            "removed": [{"uri": other.as_uri(), "name": "other"}],
        }
        now = [workspace.as_uri(), third.as_uri()]
        assert uris(python.workspace_folders) == now
        assert uris(go.workspace_folders) == now  # what it is told if it asks
        await go.definition(main, types.Position(0, 0))  # answered after any notification
        await rust.definition(main, types.Position(0, 0))
        assert received(logs["go"], DID_CHANGE_FOLDERS) == []  # it does not follow them
        assert received(logs["rust"], DID_CHANGE_FOLDERS) == []  # its folder is its project
        await manager.client_for(main, "c")  # started later: told in `initialize`
        [initialize] = received(logs["c"], "initialize")
        assert uris(initialize["workspaceFolders"]) == now
    finally:
        await manager.aclose()


@pytest.mark.parametrize("versioned", [True, False])
async def test_published_problems_of_an_older_version_are_left_out(
    make_manager: MakeManager, workspace: Path, versioned: bool
) -> None:
    manager = make_manager(fake_command(*(["versioned"] if versioned else [])))
    uri = (workspace / "main.py").as_uri()
    assert manager.published_diagnostics(uri) == []  # never starts a server
    manager.open(uri, "python", 1, "x = 1\n")
    await eventually(lambda: bool(manager.published_diagnostics(uri)))
    [problem] = manager.published_diagnostics(uri)
    assert problem.message == "fake problem"
    manager.change(uri, 2, "y = 1\nx = 1\n")
    # The fake publishes only on open: for version 1 when it says so, else for no version.
    assert bool(manager.published_diagnostics(uri)) is not versioned
