"""Property: random incremental edits with non-ASCII text leave the server's copy equal to the
client's, under each position encoding, over the real stdio protocol."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ALPHABET = st.sampled_from(
    [
        "a",
        "b",
        " ",
        "\t",
        "é",
        "e\u0301",
        "漢",
        "字",
        "👍",
        "👍🏽",
        "👨‍👩‍👧",
        "\n",
        "\r\n",
        "\r",
        "\x0c",
        "\u2028",
    ]
)
LINE_END = re.compile(r"\r\n|\r|\n")


class RawClient:
    """A synchronous LSP client on the server's stdio: enough for sync tests."""

    def __init__(self, encoding: str, root: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ai_lsp"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self.ids = itertools.count(1)
        caps = {"general": {"positionEncodings": [encoding]}}
        result = self.request("initialize", {"capabilities": caps, "rootUri": root.as_uri()})
        assert result["capabilities"]["positionEncoding"] == encoding
        self.notify("initialized", {})

    def send(self, payload: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **payload}).encode()
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def notify(self, method: str, params: Any) -> None:
        self.send({"method": method, "params": params})

    def request(self, method: str, params: Any) -> Any:
        msg_id = next(self.ids)
        self.send({"id": msg_id, "method": method, "params": params})
        while True:
            message = self.read()
            if message.get("id") == msg_id and "method" not in message:
                assert "error" not in message, message
                return message.get("result")
            if "method" in message and "id" in message:  # a server-to-client request
                self.send({"id": message["id"], "result": None})

    def read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        length = 0
        while (line := self.proc.stdout.readline()) not in (b"\r\n", b""):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        return json.loads(self.proc.stdout.read(length))  # type: ignore[no-any-return]

    def close(self) -> None:
        self.request("shutdown", None)
        self.notify("exit", None)
        self.proc.wait(timeout=10)
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                pipe.close()


def units(text: str, encoding: str) -> int:
    if encoding == "utf-8":
        return len(text.encode("utf-8"))
    if encoding == "utf-16":
        return len(text.encode("utf-16-le")) // 2
    return len(text)


def position(text: str, offset: int, encoding: str) -> dict[str, int]:
    """The client's Position of a code-point offset: written independently of ai_lsp.text."""
    before = text[:offset]
    starts = [m.end() for m in LINE_END.finditer(before)]
    # A "\r" right before the offset followed by "\n" after it is not a line end yet.
    if before.endswith("\r") and text[offset : offset + 1] == "\n":
        starts = starts[:-1]
    line_start = starts[-1] if starts else 0
    return {"line": len(starts), "character": units(text[line_start:offset], encoding)}


@pytest.fixture(scope="module", params=["utf-8", "utf-16", "utf-32"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RawClient]:
    client = RawClient(request.param, tmp_path_factory.mktemp("ws"))
    client.encoding = request.param  # type: ignore[attr-defined]
    yield client
    client.close()


counter = itertools.count()


def boundaries(text: str) -> list[int]:
    """Offsets a client can address: not inside a CRLF pair."""
    return [
        i
        for i in range(len(text) + 1)
        if not (0 < i < len(text) and text[i - 1] == "\r" and text[i] == "\n")
    ]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data(), initial=st.lists(ALPHABET, max_size=30).map("".join))
def test_random_edits_keep_server_text_equal(
    server: RawClient, data: st.DataObject, initial: str
) -> None:
    encoding: str = server.encoding  # type: ignore[attr-defined]
    uri = f"file:///sync/doc{next(counter)}.txt"
    server.notify(
        "textDocument/didOpen",
        {"textDocument": {"uri": uri, "languageId": "plaintext", "version": 1, "text": initial}},
    )
    text = initial
    for version in range(2, 2 + data.draw(st.integers(1, 8))):
        points = boundaries(text)
        a, b = sorted((data.draw(st.sampled_from(points)), data.draw(st.sampled_from(points))))
        new = data.draw(st.lists(ALPHABET, max_size=6).map("".join))
        change = {
            "range": {"start": position(text, a, encoding), "end": position(text, b, encoding)},
            "text": new,
        }
        server.notify(
            "textDocument/didChange",
            {"textDocument": {"uri": uri, "version": version}, "contentChanges": [change]},
        )
        text = text[:a] + new + text[b:]
    seen = server.request("ai-lsp/viewFileText", {"uri": uri})
    assert seen["text"] == text
    server.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
