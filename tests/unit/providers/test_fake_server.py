"""The fake OpenAI server itself: scripting, SSE framing, logs, process mode, clean shutdown."""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.openai_server import (
    CHAT,
    COMPLETIONS,
    EMBEDDINGS,
    MODELS,
    FakeOpenAI,
    refused_port,
)
from tests.fakes.payloads import embedding
from tests.fakes.replies import Error, Stall, Text, Usage

REPO = Path(__file__).resolve().parents[3]


def post(server: FakeOpenAI, path: str, body: dict[str, Any]) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def sse_payloads(raw: bytes) -> list[str]:
    return [line[6:] for line in raw.decode().split("\n") if line.startswith("data: ")]


def test_queue_then_default_and_request_log(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(CHAT, Error(503), Text("scripted"))
    chat = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    assert post(fake_openai, CHAT, chat)[0] == 503
    status, body = post(fake_openai, CHAT, chat)
    assert status == 200
    assert json.loads(body)["choices"][0]["message"]["content"] == "scripted"
    assert fake_openai.pending(CHAT) == 0
    _, body = post(fake_openai, CHAT, chat)
    assert json.loads(body)["choices"][0]["message"]["content"] == "Hello from the fake model."
    requests = fake_openai.requests(CHAT)
    assert [r.body["model"] for r in requests] == ["m", "m", "m"]
    assert requests[0].headers["content-type"] == "application/json"
    assert all(r.finished_at is not None and r.finished_at >= r.received_at for r in requests)


def test_streamed_chat_frames_usage_only_when_asked(fake_openai: FakeOpenAI) -> None:
    fake_openai.set_default(CHAT, Text(["ab", "cd"], chunk_chars=1, usage=Usage(3, 4)))
    body = {"model": "m", "messages": [], "stream": True, "n": 2}
    _, raw = post(fake_openai, CHAT, body)
    frames = sse_payloads(raw)
    assert frames[-1] == "[DONE]"
    chunks = [json.loads(f) for f in frames[:-1]]
    pieces = {0: "", 1: ""}
    for chunk in chunks:
        for choice in chunk["choices"]:
            pieces[choice["index"]] += choice["delta"].get("content", "")
    assert pieces == {0: "ab", 1: "cd"}
    assert not any("usage" in c for c in chunks)

    _, raw = post(fake_openai, CHAT, {**body, "stream_options": {"include_usage": True}})
    last = json.loads(sse_payloads(raw)[-2])
    assert last["choices"] == []
    assert last["usage"]["prompt_tokens"] == 3
    assert last["usage"]["completion_tokens"] == 4


def test_completions_embeddings_and_models(fake_openai: FakeOpenAI) -> None:
    _, raw = post(fake_openai, COMPLETIONS, {"model": "f", "prompt": "x", "suffix": "y"})
    assert json.loads(raw)["choices"][0]["text"] == "return a + b\n"
    assert fake_openai.requests(COMPLETIONS)[0].body["suffix"] == "y"
    _, raw = post(
        fake_openai, EMBEDDINGS, {"model": "e", "input": ["parse the file", "parse a file"]}
    )
    vectors = [d["embedding"] for d in json.loads(raw)["data"]]
    assert len(vectors[0]) == 64
    assert vectors[0] == embedding("parse the file", 64)
    unrelated = embedding("network socket timeout", 64)
    similarity = sum(a * b for a, b in zip(vectors[0], vectors[1], strict=True))
    assert similarity > sum(a * b for a, b in zip(vectors[0], unrelated, strict=True))
    conn = http.client.HTTPConnection("127.0.0.1", fake_openai.port, timeout=5)
    conn.request("GET", MODELS)
    ids = [m["id"] for m in json.loads(conn.getresponse().read())["data"]]
    conn.close()
    assert ids == ["fake-chat", "fake-fim", "fake-embed"]


def test_client_leaving_a_stall_is_logged(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(CHAT, Stall("partial", hang_s=10))
    body = json.dumps({"model": "m", "messages": [], "stream": True}).encode()
    head = f"POST {CHAT} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n"
    with socket.create_connection(("127.0.0.1", fake_openai.port), timeout=5) as sock:
        sock.sendall(head.encode() + body)
        received = b""
        while b"partial" not in received:
            received += sock.recv(65536)
        assert fake_openai.in_flight == 1
    assert fake_openai.wait_until(lambda: len(fake_openai.disconnects()) == 1, 1.0)
    gone = fake_openai.disconnects()[0]
    assert gone.path == CHAT
    assert gone.chunks_sent >= 2
    assert fake_openai.wait_until(lambda: fake_openai.in_flight == 0, 1.0)


def test_refused_port_refuses() -> None:
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", refused_port()), timeout=2).close()


def test_stop_leaves_no_thread_behind() -> None:
    before = threading.active_count()
    with socket.socket() as sock:
        with FakeOpenAI() as server:
            server.script(CHAT, Stall(hang_s=30))
            sock.connect(("127.0.0.1", server.port))
            sock.sendall(f"POST {CHAT} HTTP/1.1\r\nContent-Length: 2\r\n\r\n{{}}".encode())
            assert server.wait_until(lambda: server.in_flight == 1)
            started = time.monotonic()
        assert time.monotonic() - started < 2
        assert sock.recv(100) == b""
    assert threading.active_count() == before


async def test_async_context_manager() -> None:
    async with FakeOpenAI(embedding_dim=8) as server:
        assert server.port > 0
        assert len(embedding("x", server.embedding_dim)) == 8


def test_process_mode_with_script_and_log(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text(
        json.dumps(
            {
                "models": ["only-model"],
                "queue": {
                    CHAT: [{"kind": "error", "status": 429, "headers": {"Retry-After": "1"}}]
                },
                "defaults": {CHAT: {"kind": "text", "text": "from script", "usage": None}},
            }
        )
    )
    log = tmp_path / "requests.jsonl"
    command = [sys.executable, "-m", "tests.fakes.openai_server", "--port", "0"]
    with subprocess.Popen(
        [*command, "--script", str(script), "--log", str(log)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    ) as proc:
        try:
            assert proc.stdout is not None
            url = proc.stdout.readline().strip()
            port = int(url.rsplit(":", 1)[1].split("/")[0])
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            chat = json.dumps({"model": "m", "messages": []})
            conn.request("POST", CHAT, chat)
            first = conn.getresponse()
            first.read()
            conn.request("POST", CHAT, chat)
            answer = json.loads(conn.getresponse().read())
            conn.request("GET", MODELS)
            models = json.loads(conn.getresponse().read())
            conn.close()
        finally:
            proc.terminate()
        assert proc.wait(10) == 0
    assert url.endswith("/v1")
    assert (first.status, first.getheader("Retry-After")) == (429, "1")
    assert answer["choices"][0]["message"]["content"] == "from script"
    assert [m["id"] for m in models["data"]] == ["only-model"]
    logged = [json.loads(line) for line in log.read_text().splitlines()]
    assert [entry["path"] for entry in logged] == [CHAT, CHAT, MODELS]
    assert "headers" not in logged[0]
