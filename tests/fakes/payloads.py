"""JSON bodies the fake server sends: chat and text completion chunks, full answers, embeddings.

Shapes follow the OpenAI API closely enough for the `openai` client and other
OpenAI-compatible clients to parse them.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
import struct
import time
from collections.abc import Sequence
from typing import Any

from tests.fakes.replies import Text, Usage

Json = dict[str, Any]


def estimate_tokens(text: str) -> int:
    """A stable, rough token count (about four characters per token)."""
    return len(text) // 4 + 1


def prompt_text(body: Json) -> str:
    """The prompt of a chat or completion request as one string (for usage estimates)."""
    if "messages" in body:
        return "\n".join(str(m.get("content", "")) for m in body["messages"])
    prompt = body.get("prompt", "")
    return prompt if isinstance(prompt, str) else "\n".join(map(str, prompt))


def usage_json(reply: Text, body: Json, texts: Sequence[str]) -> Json | None:
    if reply.usage is None:
        return None
    if isinstance(reply.usage, Usage):
        usage = reply.usage
    else:
        usage = Usage(estimate_tokens(prompt_text(body)), sum(estimate_tokens(t) for t in texts))
    total = usage.prompt_tokens + usage.completion_tokens
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": total,
    }


def chunks(text: str, size: int) -> list[str]:
    size = max(1, size)
    return [text[i : i + size] for i in range(0, len(text), size)]


def chat_chunk(model: str, choices: list[Json], usage: Json | None = None) -> Json:
    chunk: Json = {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": choices,
    }
    if usage is not None:
        chunk["usage"] = usage
    return chunk


def chat_delta(index: int, content: str | None, finish_reason: str | None = None) -> Json:
    delta: Json = {} if content is None else {"content": content}
    if content == "":
        delta["role"] = "assistant"
    return {"index": index, "delta": delta, "finish_reason": finish_reason, "logprobs": None}


def completion_chunk(model: str, choices: list[Json], usage: Json | None = None) -> Json:
    chunk: Json = {
        "id": "cmpl-fake",
        "object": "text_completion",
        "created": int(time.time()),
        "model": model,
        "choices": choices,
    }
    if usage is not None:
        chunk["usage"] = usage
    return chunk


def completion_choice(index: int, text: str, finish_reason: str | None = None) -> Json:
    return {"index": index, "text": text, "finish_reason": finish_reason, "logprobs": None}


def chat_answer(model: str, texts: Sequence[str], finish: str, usage: Json | None) -> Json:
    choices = [
        {
            "index": i,
            "message": {"role": "assistant", "content": text},
            "finish_reason": finish,
            "logprobs": None,
        }
        for i, text in enumerate(texts)
    ]
    answer = chat_chunk(model, choices, usage)
    answer["object"] = "chat.completion"
    return answer


def completion_answer(model: str, texts: Sequence[str], finish: str, usage: Json | None) -> Json:
    choices = [completion_choice(i, text, finish) for i, text in enumerate(texts)]
    return completion_chunk(model, choices, usage)


def error_body(status: int) -> Json:
    kinds = {
        400: ("Invalid request", "invalid_request_error"),
        401: ("Incorrect API key provided", "invalid_api_key"),
        403: ("You are not allowed to use this model", "permission_denied"),
        404: ("Not found", "not_found"),
        429: ("Rate limit reached", "rate_limit_exceeded"),
    }
    message, code = kinds.get(status, ("The server had an error", "server_error"))
    return {"error": {"message": message, "type": code, "code": code}}


def embedding(text: str, dim: int) -> list[float]:
    """A deterministic unit vector from the words of `text`: shared words mean similar vectors."""
    vector = [0.0] * dim
    for word in re.findall(r"\w+", text.lower()):
        digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
        value = int.from_bytes(digest, "little")
        vector[value % dim] += 1.0 if value >> 63 else -1.0
    norm = math.sqrt(sum(x * x for x in vector))
    if norm == 0.0:
        vector[0] = 1.0
        return vector
    return [x / norm for x in vector]


def embeddings_answer(body: Json, default_dim: int) -> Json:
    inputs = body.get("input", "")
    texts = [inputs] if isinstance(inputs, str) else [str(i) for i in inputs]
    dim = int(body.get("dimensions") or default_dim)
    data: list[Json] = []
    for index, text in enumerate(texts):
        vector: list[float] | str = embedding(text, dim)
        if body.get("encoding_format") == "base64":
            vector = base64.b64encode(struct.pack(f"<{dim}f", *vector)).decode()
        data.append({"object": "embedding", "index": index, "embedding": vector})
    tokens = sum(estimate_tokens(t) for t in texts)
    return {
        "object": "list",
        "data": data,
        "model": body.get("model", ""),
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


def models_answer(models: Sequence[str]) -> Json:
    return {
        "object": "list",
        "data": [{"id": m, "object": "model", "created": 0, "owned_by": "fake"} for m in models],
    }
