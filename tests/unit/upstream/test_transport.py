"""The JSON-RPC transport against the scripted fake: framing, timeouts, crashes, no orphans."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from ai_lsp.upstream.transport import (
    ResponseError,
    Transport,
    UpstreamCrashed,
    UpstreamStartFailed,
    UpstreamTimeout,
    _read_message,
)
from tests.unit.upstream.conftest import FAKE, alive, eventually, fake_command, read_log, wait_dead

HOVER = {"textDocument": {"uri": "file:///x.py"}, "position": {"line": 0, "character": 0}}


async def started(*modes: str, log: Path | None = None) -> Transport:
    transport = await Transport.spawn(fake_command(*modes, log=log), cwd=Path.cwd(), name="fake")
    requests: list[tuple[str, Any]] = []

    async def on_request(method: str, params: Any) -> Any:
        requests.append((method, params))
        if method == "custom/unknown":
            raise ResponseError(-32601, "unknown")
        return {"applied": False} if method == "workspace/applyEdit" else None

    transport.listen(on_request, lambda method, params: None)
    await transport.request("initialize", {"capabilities": {}}, timeout=10)
    transport.notify("initialized", {})
    return transport


def frames(data: bytes) -> asyncio.StreamReader:
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    return reader


async def test_reads_frames_with_optional_content_type() -> None:
    body = b'{"jsonrpc":"2.0","id":1,"result":null}'
    data = (
        b"Content-Length: %d\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n%s"
        % (len(body), body)
    )
    reader = frames(data * 2)
    assert await _read_message(reader) == {"jsonrpc": "2.0", "id": 1, "result": None}
    assert await _read_message(reader) == {"jsonrpc": "2.0", "id": 1, "result": None}
    assert await _read_message(reader) is None


@pytest.mark.parametrize(
    "data",
    [
        b"hello world\r\n\r\n",
        b"Content-Length: 5\n\n{}   ",
        b"Content-Type: x\r\n\r\n{}",
        b"Content-Length: 2\r\n\r\nno",
        b"Content-Length: 10\r\nContent",
    ],
)
async def test_anything_else_on_stdout_is_a_protocol_violation(data: bytes) -> None:
    with pytest.raises(Exception, match=r"output|header|Content-Length|JSON") as caught:
        await _read_message(frames(data))
    assert type(caught.value).__name__ == "_ProtocolViolation"


async def test_request_answered_and_server_requests_answered(tmp_path: Path) -> None:
    log = tmp_path / "log"
    transport = await started("ask", log=log)
    result = await transport.request("textDocument/hover", HOVER, timeout=5)
    assert result["contents"]["kind"] == "markdown"
    with pytest.raises(ResponseError) as caught:
        await transport.request("textDocument/rename", HOVER, timeout=5)
    assert caught.value.code == -32601

    def answers() -> dict[int, dict[str, Any]]:
        return {m["id"]: m for m in read_log(log) if "id" in m and "method" not in m}

    await eventually(lambda: len(answers()) == 4)
    assert answers()[1002]["result"] == {"applied": False}
    assert answers()[1004]["error"]["code"] == -32601
    await transport.aclose()
    assert not transport.crashed


async def test_hung_server_times_out_quickly_and_cancels_upstream(tmp_path: Path) -> None:
    log = tmp_path / "log"
    transport = await started("hang", log=log)
    began = time.monotonic()
    with pytest.raises(UpstreamTimeout, match="did not answer textDocument/hover"):
        await transport.request("textDocument/hover", HOVER, timeout=0.3)
    assert time.monotonic() - began < 1.0
    hover_id = next(m["id"] for m in read_log(log) if m.get("method") == "textDocument/hover")
    await eventually(
        lambda: (
            {"method": "$/cancelRequest", "params": {"id": hover_id}, "jsonrpc": "2.0"}
            in read_log(log)
        )
    )
    assert transport.running
    await transport.aclose()


async def test_cancelling_the_caller_cancels_upstream(tmp_path: Path) -> None:
    log = tmp_path / "log"
    transport = await started("hang", log=log)
    task = asyncio.create_task(transport.request("textDocument/hover", HOVER, timeout=30))
    await eventually(lambda: any(m.get("method") == "textDocument/hover" for m in read_log(log)))
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await eventually(lambda: any(m.get("method") == "$/cancelRequest" for m in read_log(log)))
    await transport.aclose()


async def test_garbage_on_stdout_is_a_crash() -> None:
    transport = await started("garbage")
    with pytest.raises(UpstreamCrashed, match="non-protocol output"):
        await transport.request("textDocument/hover", HOVER, timeout=5)
    await asyncio.wait_for(transport.wait_closed(), 5)
    assert transport.crashed
    assert not alive(transport.pid)
    with pytest.raises(UpstreamCrashed):
        transport.notify("textDocument/didClose", {})


async def test_exit_mid_request_fails_the_request_with_the_exit_code() -> None:
    transport = await started("crash")
    with pytest.raises(UpstreamCrashed, match="exited with code 3"):
        await transport.request("textDocument/hover", HOVER, timeout=5)
    assert transport.crashed


async def test_stderr_flood_is_drained_without_deadlock() -> None:
    transport = await started("flood")
    for _ in range(3):  # 4 MiB of stderr per answer: a pipe nobody reads holds 64 KiB
        assert await transport.request("textDocument/hover", HOVER, timeout=10) is not None
    assert transport.stderr_tail()[-1].startswith("xxxx")
    await transport.aclose()


async def test_close_escalates_to_sigkill_and_ends_the_whole_group(tmp_path: Path) -> None:
    log = tmp_path / "log"
    transport = await started("slow-exit", "linger", "grandchild", log=log)
    await eventually(lambda: any("grandchild" in m for m in read_log(log)))
    grandchild = next(m["grandchild"] for m in read_log(log) if "grandchild" in m)
    began = time.monotonic()
    await transport.aclose(grace=0.2)
    assert time.monotonic() - began < 3
    assert not alive(transport.pid)
    assert wait_dead(grandchild)
    assert not transport.crashed


async def test_exit_is_noticed_while_a_child_still_holds_the_pipes(tmp_path: Path) -> None:
    log = tmp_path / "log"
    transport = await started("crash", "grandchild", log=log)
    await eventually(lambda: any("grandchild" in m for m in read_log(log)))
    grandchild = next(m["grandchild"] for m in read_log(log) if "grandchild" in m)
    with pytest.raises(UpstreamCrashed, match="exited with code 3"):
        await asyncio.wait_for(transport.request("textDocument/hover", HOVER, timeout=30), 5)
    assert wait_dead(grandchild)


async def test_a_missing_program_is_a_start_failure(tmp_path: Path) -> None:
    with pytest.raises(UpstreamStartFailed, match="cannot run"):
        await Transport.spawn([str(tmp_path / "nope")], cwd=tmp_path, name="nope")


def run_parent(body: str, log: Path) -> subprocess.Popen[str]:
    """A Python process (ai-lsp's stand-in) that starts the fake via the transport, then `body`."""
    code = textwrap.dedent(
        f"""
        import asyncio, sys, time
        from pathlib import Path
        from ai_lsp.upstream.transport import Transport

        async def main():
            transport = await Transport.spawn(
                [sys.executable, {str(FAKE)!r}, "linger", "grandchild", "--log", {str(log)!r}],
                cwd=Path.cwd(),
                name="fake",
            )
            transport.listen(lambda method, params: None, lambda method, params: None)
            await transport.request("initialize", {{}}, timeout=10)
            transport.notify("initialized", {{}})
            print(transport.pid, flush=True)
            {body}

        asyncio.run(main())
        """
    )
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)


def spawned(parent: subprocess.Popen[str], log: Path) -> tuple[int, int]:
    """Pids of the upstream server and of its own child, once both run."""
    assert parent.stdout is not None
    upstream = int(parent.stdout.readline())
    deadline = time.monotonic() + 5
    while not any("grandchild" in m for m in read_log(log)) and time.monotonic() < deadline:
        time.sleep(0.02)
    grandchild = next(m["grandchild"] for m in read_log(log) if "grandchild" in m)
    return upstream, grandchild


@pytest.mark.parametrize("ending", ["killed", "exits"])
def test_no_orphans_when_ai_lsp_dies(tmp_path: Path, ending: str) -> None:
    log = tmp_path / "log"
    body = "await asyncio.sleep(60)" if ending == "killed" else "time.sleep(0.3)"
    pids: tuple[int, ...] = ()
    with run_parent(body, log) as parent:
        try:
            pids = spawned(parent, log)
            assert all(alive(pid) for pid in pids)
            if ending == "killed":
                os.kill(parent.pid, signal.SIGKILL)
            parent.wait(5)
            upstream, grandchild = pids
            assert wait_dead(upstream, 2.0), "the upstream server outlived ai-lsp"
            if ending == "exits":  # the group is killed at exit: the server's children too
                assert wait_dead(grandchild, 2.0), "the server's child outlived ai-lsp"
        finally:
            parent.kill()
            for pid in pids:
                if alive(pid):
                    os.kill(pid, signal.SIGKILL)
