"""Scripted replies of the fake OpenAI-compatible server: what it answers and how it fails.

Each reply is a small frozen dataclass; `reply_from_json` reads the same kinds from a script file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True)
class Usage:
    """Token counts reported by the server (`usage` object)."""

    prompt_tokens: int
    completion_tokens: int


@dataclass(frozen=True)
class Text:
    """A normal answer. On `/models` and `/embeddings` it means "answer normally after the delay"."""

    text: str | Sequence[str] = "Hello from the fake model."
    """One text for every candidate, or one text per candidate index (cycled when `n` is larger)."""
    chunk_chars: int = 8
    """Characters per streamed chunk."""
    first_byte_delay_s: float = 0.0
    """Silence before the status line (time to first byte)."""
    chunk_delay_s: float = 0.0
    """Pause between streamed chunks."""
    usage: Usage | Literal["auto"] | None = "auto"
    """Usage to report (`auto`: estimated from the sizes); None never reports usage."""
    finish_reason: str = "stop"

    def candidate(self, index: int) -> str:
        if isinstance(self.text, str):
            return self.text
        return self.text[index % len(self.text)]


@dataclass(frozen=True)
class Error:
    """An HTTP error status with a JSON (or raw text) body and extra headers."""

    status: int
    body: Mapping[str, Any] | str | None = None
    """None builds an OpenAI-style `{"error": {...}}` body from the status."""
    headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def rate_limited(cls, retry_after: float | str | None = None) -> Error:
        headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
        body = {"error": {"message": "Rate limit reached", "type": "requests", "code": None}}
        return cls(429, body, headers)

    @classmethod
    def quota(cls, code: str = "insufficient_quota") -> Error:
        message = "You exceeded your current quota, please check your plan and billing details."
        return cls(429, {"error": {"message": message, "type": code, "code": code}})

    @classmethod
    def bad_request(cls, message: str, code: str | None = None) -> Error:
        return cls(
            400, {"error": {"message": message, "type": "invalid_request_error", "code": code}}
        )


@dataclass(frozen=True)
class Stall:
    """Streamed: send `text` in chunks, then hang. Not streamed: hang before the status line.

    The hang ends when the client disconnects or after `hang_s`; then the connection is closed.
    """

    text: str = ""
    chunk_chars: int = 8
    hang_s: float = 30.0


@dataclass(frozen=True)
class Garbage:
    """Streamed: valid chunks for `text_before`, then raw `frames`, then a normal end of body.

    Not streamed: a 200 `application/json` answer whose body is the frames joined.
    """

    frames: Sequence[str] = ("data: {this is not json\n\n",)
    text_before: str = ""


@dataclass(frozen=True)
class Drop:
    """Abrupt close: before any byte of the answer, or after streaming `text_before`."""

    text_before: str = ""
    before_headers: bool = False


Reply = Text | Error | Stall | Garbage | Drop

_KINDS: dict[str, type[Reply]] = {
    "text": Text,
    "error": Error,
    "stall": Stall,
    "garbage": Garbage,
    "drop": Drop,
}


def reply_from_json(data: Mapping[str, Any]) -> Reply:
    """A reply from a script entry such as `{"kind": "error", "status": 429, "headers": {...}}`."""
    fields = dict(data)
    kind = fields.pop("kind", "text")
    if kind not in _KINDS:
        raise ValueError(f"unknown reply kind {kind!r}; expected one of {sorted(_KINDS)}")
    if isinstance(fields.get("usage"), Mapping):
        fields["usage"] = Usage(**fields["usage"])
    for key in ("text", "frames"):
        if isinstance(fields.get(key), list):
            fields[key] = tuple(fields[key])
    reply: Reply = _KINDS[kind](**fields)
    return reply
