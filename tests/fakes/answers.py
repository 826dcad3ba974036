"""How the fake server acts out one scripted reply on the wire (SSE streams, errors, faults)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tests.fakes import payloads as p
from tests.fakes.http11 import ClientGone, Responder
from tests.fakes.replies import Drop, Error, Garbage, Reply, Stall, Text

CHAT = "/v1/chat/completions"
COMPLETIONS = "/v1/completions"
EMBEDDINGS = "/v1/embeddings"
MODELS = "/v1/models"
_SSE_HEADERS = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: Any
    """Parsed JSON body, or None."""


@dataclass(frozen=True)
class Catalog:
    """What the server serves besides scripted text."""

    models: Sequence[str]
    embedding_dim: int


def _frame(payload: Any) -> bytes:
    return b"data: " + json.dumps(payload).encode() + b"\n\n"


async def answer(reply: Reply | None, request: Request, catalog: Catalog, r: Responder) -> bool:
    """Send `reply` for `request`; False when the connection must be closed afterwards."""
    body: dict[str, Any] = request.body if isinstance(request.body, dict) else {}
    path = request.path
    streamed = bool(body.get("stream")) and path in (CHAT, COMPLETIONS)
    if reply is None:
        await r.json(404, p.error_body(404))
        return True
    if request.body is None and request.method == "POST":
        await r.json(400, {"error": {"message": "body is not JSON", "code": None}})
        return True
    match reply:
        case Error(status, err_body, headers):
            if isinstance(err_body, str):
                await r.full(status, err_body.encode(), {"Content-Type": "text/plain", **headers})
            else:
                await r.json(status, err_body or p.error_body(status), dict(headers))
            return True
        case Text():
            await r.pause(reply.first_byte_delay_s)
            return await _text(reply, path, body, catalog, r, streamed)
        case Stall(text, chunk_chars, hang_s):
            if streamed:
                await r.start(200, _SSE_HEADERS, chunked=True)
                await _stream(r, path, body, text, chunk_chars, 0.0)
            if await r.wait_gone(hang_s):
                raise ClientGone
            return False
        case Garbage(frames, text_before):
            if not streamed:
                junk = "".join(frames).encode()
                await r.full(200, junk, {"Content-Type": "application/json"})
                return True
            await r.start(200, _SSE_HEADERS, chunked=True)
            await _stream(r, path, body, text_before, 8, 0.0)
            for frame in frames:
                await r.send(frame.encode())
            await r.finish()
            return True
        case Drop(text_before, before_headers):
            if not before_headers:
                await r.start(200, _SSE_HEADERS, chunked=True)
                if streamed:
                    await _stream(r, path, body, text_before, 8, 0.0)
            return False


async def _text(
    reply: Text, path: str, body: dict[str, Any], catalog: Catalog, r: Responder, streamed: bool
) -> bool:
    if path == MODELS:
        await r.json(200, p.models_answer(catalog.models))
        return True
    if path == EMBEDDINGS:
        await r.json(200, p.embeddings_answer(body, catalog.embedding_dim))
        return True
    n = int(body.get("n") or 1)
    texts = [reply.candidate(i) for i in range(n)]
    model = str(body.get("model", "fake"))
    usage = p.usage_json(reply, body, texts)
    if not streamed:
        build = p.chat_answer if path == CHAT else p.completion_answer
        await r.json(200, build(model, texts, reply.finish_reason, usage))
        return True
    await r.start(200, _SSE_HEADERS, chunked=True)
    await _stream(r, path, body, texts, reply.chunk_chars, reply.chunk_delay_s)
    if path == CHAT:
        ends = [p.chat_delta(i, None, reply.finish_reason) for i in range(n)]
        await r.send(_frame(p.chat_chunk(model, ends)))
    else:
        ends = [p.completion_choice(i, "", reply.finish_reason) for i in range(n)]
        await r.send(_frame(p.completion_chunk(model, ends)))
    if usage is not None and (body.get("stream_options") or {}).get("include_usage"):
        wrap = p.chat_chunk if path == CHAT else p.completion_chunk
        await r.send(_frame(wrap(model, [], usage)))
    await r.send(b"data: [DONE]\n\n")
    await r.finish()
    return True


async def _stream(
    r: Responder,
    path: str,
    body: dict[str, Any],
    text: str | Sequence[str],
    chunk_chars: int,
    delay_s: float,
) -> None:
    """Stream the candidates' texts as chunks interleaved by index (one text for all if str)."""
    n = int(body.get("n") or 1)
    texts = [text] * n if isinstance(text, str) else list(text)
    model = str(body.get("model", "fake"))
    chat = path == CHAT
    if chat:
        await r.send(_frame(p.chat_chunk(model, [p.chat_delta(i, "") for i in range(n)])))
    pieces = [p.chunks(t, chunk_chars) for t in texts]
    for step in range(max((len(x) for x in pieces), default=0)):
        if step:
            await r.pause(delay_s)
        for index, parts in enumerate(pieces):
            if step < len(parts):
                if chat:
                    frame = p.chat_chunk(model, [p.chat_delta(index, parts[step])])
                else:
                    frame = p.completion_chunk(model, [p.completion_choice(index, parts[step])])
                await r.send(_frame(frame))
