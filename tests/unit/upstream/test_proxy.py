"""The proxy against the fake upstream: routing, forwarding with timeouts and crashes, what
the server sends reaching the editor, start problems and the position encoding."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from lsprotocol import types

from ai_lsp.config import Settings, UpstreamConfig
from ai_lsp.notices import Notices
from ai_lsp.upstream.known import ResolvedServer
from ai_lsp.upstream.manager import Backoff, UpstreamManager
from ai_lsp.upstream.proxy import REQUEST_FAILED, Proxy
from ai_lsp.upstream.transport import ResponseError
from tests.unit.upstream.conftest import Said, eventually, fake_command, read_log

HOVER = {
    "textDocument": {"uri": "file:///project/main.py"},
    "position": {"line": 0, "character": 1},
}


class Editor:
    """A scripted editor end: records what it is sent and answers requests."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, Any]] = []
        self.notifications: list[tuple[str, Any]] = []

    async def send_raw_request(self, method: str, params: Any) -> Any:
        self.requests.append((method, params))
        if method == types.WORKSPACE_CONFIGURATION:
            return [{"answer": 42}, None]
        if method == types.WORKSPACE_APPLY_EDIT:
            return {"applied": True}
        if method == "custom/unknown":
            raise ResponseError(-32601, "no such method")
        return None

    def send_raw_notification(self, method: str, params: Any) -> None:
        self.notifications.append((method, params))


MakeProxy = Callable[..., tuple[Proxy, Editor, UpstreamManager]]


@pytest.fixture
async def make_proxy(workspace: Path, said: Said) -> AsyncIterator[MakeProxy]:
    """`make_proxy(command, **upstream)`: a proxy for `workspace` whose python server is
    `command` (`upstream`: more keys of its `[upstream.python]`)."""
    made: list[UpstreamManager] = []

    def make(
        command: list[str], *, encoding: str = "utf-16", **upstream: Any
    ) -> tuple[Proxy, Editor, UpstreamManager]:
        python = UpstreamConfig(command=command, mode="proxy", **upstream)
        settings = Settings(upstream={"python": python})
        manager = UpstreamManager(
            lambda: settings,
            workspace,
            Notices(said),
            backoff=Backoff(first_s=0.05, max_s=0.2, max_crashes=3),
            shutdown_grace=0.5,
        )
        made.append(manager)
        editor = Editor()
        capabilities = {"general": {"positionEncodings": ["utf-8", "utf-16"]}, "window": {}}
        proxy = Proxy(manager, editor, ["python"], capabilities, encoding=encoding)
        return proxy, editor, manager

    yield make
    for manager in made:
        await manager.aclose()


def test_routes() -> None:
    route = Proxy.route
    proxy: Any = object.__new__(Proxy)
    resolving = SimpleNamespace(raw_capabilities={"completionProvider": {"resolveProvider": True}})
    proxy._started = [resolving]
    commands = {"ai-lsp.usage"}

    def where(method: str, params: Any = None, *, local: bool = False, request: bool = True) -> str:
        return route(proxy, method, params, local=local, commands=commands, request=request)

    assert where(types.TEXT_DOCUMENT_HOVER) == "forward"
    assert where(types.TEXT_DOCUMENT_COMPLETION, local=True) == "local"
    assert where(types.TEXT_DOCUMENT_DID_SAVE, local=True, request=False) == "both"
    assert where(types.TEXT_DOCUMENT_WILL_SAVE, request=False) == "forward"
    assert where(types.TEXT_DOCUMENT_DID_CHANGE, local=True, request=False) == "local"
    assert where(types.SHUTDOWN, local=True) == "local"
    assert (
        where(types.WORKSPACE_EXECUTE_COMMAND, {"command": "ai-lsp.usage"}, local=True) == "local"
    )
    assert where(types.WORKSPACE_EXECUTE_COMMAND, {"command": "jedi.x"}, local=True) == "forward"
    marked = {"label": "x", "data": {"ai-lsp": None}}
    assert where(types.COMPLETION_ITEM_RESOLVE, marked) == "echo"
    assert where(types.COMPLETION_ITEM_RESOLVE, marked, local=True) == "ours"
    assert where(types.COMPLETION_ITEM_RESOLVE, {"label": "x", "data": 1}, local=True) == "forward"
    # The upstream server resolves completion items but not code actions: ai-lsp's
    # capabilities claim both, so its code actions come back as they are.
    assert where(types.CODE_ACTION_RESOLVE, {"title": "t"}) == "echo"
    resolving.raw_capabilities["codeActionProvider"] = {"resolveProvider": True}
    assert where(types.CODE_ACTION_RESOLVE, {"title": "t"}) == "forward"


async def test_forwards_raw_and_relays_errors_unchanged(
    make_proxy: MakeProxy, tmp_path: Path
) -> None:
    log = tmp_path / "log"
    proxy, _, _ = make_proxy(fake_command(log=log))
    await proxy.start()
    assert await proxy.request(types.TEXT_DOCUMENT_HOVER, HOVER) == {
        "contents": {"kind": "markdown", "value": "```python\ndef fake(x: int) -> str\n```"}
    }
    with pytest.raises(ResponseError) as refused:
        await proxy.request("custom/thing", {"odd": [1, None]})
    assert (refused.value.code, refused.value.message) == (-32601, "no custom/thing")
    assert [m["params"] for m in read_log(log) if m.get("method") == "custom/thing"] == [
        {"odd": [1, None]}
    ]


async def test_a_hung_server_times_out_and_a_crash_fails_the_request(make_proxy: MakeProxy) -> None:
    proxy, _, _ = make_proxy(fake_command("hang"), request_timeout_s=0.3)
    await proxy.start()
    began = time.monotonic()
    with pytest.raises(ResponseError) as late:
        await proxy.request(types.TEXT_DOCUMENT_HOVER, HOVER)
    assert late.value.code == REQUEST_FAILED
    assert "within 0.3 s" in late.value.message
    assert time.monotonic() - began < 1.5
    began = time.monotonic()
    with pytest.raises(ResponseError, match="did not answer"):  # a shorter deadline wins
        await proxy.request(types.TEXT_DOCUMENT_HOVER, HOVER, timeout=0.05)
    assert time.monotonic() - began < 0.25

    crashing, _, manager = make_proxy(fake_command("crash"))
    await crashing.start()
    with pytest.raises(ResponseError) as crashed:
        await crashing.request(types.TEXT_DOCUMENT_HOVER, HOVER)
    assert crashed.value.code == REQUEST_FAILED
    assert "exited with code 3" in crashed.value.message
    await eventually(lambda: manager.running_client("python") is not None)  # restarted


async def test_what_the_server_sends_reaches_the_editor(
    make_proxy: MakeProxy, tmp_path: Path
) -> None:
    log = tmp_path / "log"
    proxy, editor, manager = make_proxy(fake_command("ask", log=log))
    await proxy.start()
    uri = "file:///project/main.py"
    manager.open(uri, "python", 1, "x = 1\n")
    await eventually(lambda: len(editor.requests) == 4)
    assert [method for method, _ in editor.requests] == [
        types.WORKSPACE_CONFIGURATION,
        types.WORKSPACE_APPLY_EDIT,
        types.WINDOW_WORK_DONE_PROGRESS_CREATE,
        "custom/unknown",
    ]
    await eventually(lambda: bool(editor.notifications))
    method, params = editor.notifications[0]
    assert method == types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS
    assert params["diagnostics"][0]["message"] == "fake problem"

    def answered() -> list[Any]:
        return [m for m in read_log(log) if "id" in m and "method" not in m]

    await eventually(lambda: len(answered()) == 4)
    assert answered()[0]["result"] == [{"answer": 42}, None]
    assert answered()[3]["error"] == {"code": -32601, "message": "no such method"}


async def test_registrations_are_withdrawn_when_the_server_goes(make_proxy: MakeProxy) -> None:
    proxy, editor, manager = make_proxy(fake_command())
    await proxy.start()
    connection = proxy.connect(ResolvedServer("fake", ("fake",), {}, root_markers=(), mode="proxy"))
    assert connection is not None
    assert proxy.connect(ResolvedServer("side", ("side",), {}, root_markers=())) is None
    registration = {"registrations": [{"id": "r1", "method": "workspace/didChangeWatchedFiles"}]}
    await connection.on_server_request(types.CLIENT_REGISTER_CAPABILITY, registration)
    client = manager.running_client("python")
    assert client is not None
    connection.stopped(client)
    await eventually(lambda: editor.requests[-1][0] == types.CLIENT_UNREGISTER_CAPABILITY)
    assert editor.requests[-1][1] == {
        "unregisterations": [{"id": "r1", "method": "workspace/didChangeWatchedFiles"}]
    }


async def test_start_problems_are_kept_and_utf16_is_the_fallback(make_proxy: MakeProxy) -> None:
    proxy, _, _ = make_proxy(fake_command(), encoding="utf-8")
    assert proxy.capabilities["general"]["positionEncodings"] == ["utf-8", "utf-16"]
    await proxy.start()
    assert proxy.encoding == "utf-16"  # the fake does not take utf-8
    assert proxy.capabilities["general"]["positionEncodings"] == ["utf-16"]
    assert proxy.problems == []

    mute, _, _ = make_proxy(fake_command("mute"), start_timeout_s=0.3)
    began = time.monotonic()
    await mute.start()
    assert time.monotonic() - began < 1.5
    [problem] = mute.problems
    assert "did not start within 0.3 s" in problem
    assert "[upstream.python]" in problem
