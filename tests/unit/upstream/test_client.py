"""The typed client against the fake: handshake, capabilities, diagnostics, server requests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lsprotocol import types

from ai_lsp.upstream.client import UpstreamClient
from tests.unit.upstream.conftest import eventually, fake_command, read_log

URI = "file:///project/x.py"


def answers(log: Path) -> dict[int, dict[str, Any]]:
    """The fake's server-to-client requests (ids from 1001) and what the client answered."""
    return {m["id"]: m for m in read_log(log) if m.get("id", 0) > 1000 and "method" not in m}


async def test_handshake_queries_and_pushed_diagnostics(tmp_path: Path) -> None:
    client = await UpstreamClient.start(fake_command(), cwd=tmp_path, name="fake")
    try:
        result = await client.initialize(tmp_path.as_uri(), {"fake": 1})
        assert result.server_info is not None
        assert client.encoding == types.PositionEncodingKind.Utf16  # the fake offers nothing else
        assert client.supports(types.TEXT_DOCUMENT_HOVER)
        assert not client.supports(types.TEXT_DOCUMENT_REFERENCES)
        client.did_open(URI, "python", 1, "def fake(x): ...")
        hover = await client.hover(URI, types.Position(0, 5))
        assert hover is not None
        assert isinstance(hover.contents, types.MarkupContent)
        assert "def fake(x: int) -> str" in hover.contents.value
        [location] = await client.definition(URI, types.Position(0, 5))
        assert isinstance(location, types.Location)
        assert location.range.start == types.Position(0, 4)
        assert await client.references(URI, types.Position(0, 5)) == []  # not offered: not asked
        await eventually(lambda: bool(client.published_diagnostics(URI)))
        [diagnostic] = await client.diagnostics(URI)
        assert diagnostic.message == "fake problem"
        client.did_close(URI)
        assert await client.diagnostics(URI) == []
    finally:
        await client.aclose()


async def test_server_requests_answered_as_a_sidecar(tmp_path: Path) -> None:
    log = tmp_path / "log"
    client = await UpstreamClient.start(
        fake_command("ask", log=log),
        cwd=tmp_path,
        name="fake",
        settings={"fake": {"option": {"depth": 2}}},
    )
    try:
        await client.initialize(tmp_path.as_uri())
        await eventually(lambda: len(answers(log)) == 4)
        got = answers(log)
        assert got[1001]["result"] == [{"depth": 2}, {"fake": {"option": {"depth": 2}}}]
        assert got[1002]["result"]["applied"] is False
        assert got[1003]["result"] is None
        assert got[1004]["error"]["code"] == -32601
    finally:
        await client.aclose()


async def test_a_proxy_hook_answers_server_requests(tmp_path: Path) -> None:
    log = tmp_path / "log"
    routed: list[str] = []

    async def to_editor(method: str, params: Any) -> Any:
        routed.append(method)
        return {"applied": True} if method == "workspace/applyEdit" else None

    client = await UpstreamClient.start(
        fake_command("ask", log=log), cwd=tmp_path, name="fake", on_server_request=to_editor
    )
    try:
        await client.initialize(tmp_path.as_uri())
        await eventually(lambda: len(answers(log)) == 4)
        assert answers(log)[1002]["result"] == {"applied": True}
        assert routed == [
            "workspace/configuration",
            "workspace/applyEdit",
            "window/workDoneProgress/create",
            "custom/unknown",
        ]
    finally:
        await client.aclose()
