"""Asking an endpoint for candidates and reading only as much of the stream as is needed:
single-line requests stop at the first newline, multi-line ones once the block has ended.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from ai_lsp.completion.prompt import Prompt
from ai_lsp.prompting.fim import parse_chat_fim_answer
from ai_lsp.prompting.postprocess import clean_completion, truncate_to_block
from ai_lsp.providers.stream import ModelStream


class Endpoints(Protocol):
    """The part of `ProviderRegistry` that completions use."""

    async def warm(self) -> None:
        """Load the HTTP client ahead of the first request."""
        ...

    def complete(
        self,
        feature: str,
        prompt: str,
        *,
        suffix: str | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
        stop: list[str] | None = None,
        n: int = 1,
    ) -> ModelStream: ...

    def chat(
        self,
        feature: str,
        messages: list[dict[str, str]],
        *,
        max_tokens: int | None = None,
        temperature: float | None = None,
        stop: list[str] | None = None,
        n: int = 1,
    ) -> ModelStream: ...


@dataclass(frozen=True, slots=True)
class Cursor:
    """What post-processing needs about the place being completed."""

    prefix: str
    suffix: str
    multiline: bool
    indent_unit: str | None


@dataclass
class Reading:
    """One streamed answer as it arrives: raw text per candidate, and timings in seconds
    since the request was sent."""

    texts: dict[int, str] = field(default_factory=dict)
    first_token_s: float | None = None
    done_s: float | None = None


async def ask(
    endpoints: Endpoints,
    prompt: Prompt,
    cursor: Cursor,
    *,
    n: int,
    clock: Callable[[], float],
    reading: Reading,
) -> tuple[str, ...]:
    """Cleaned, distinct candidates from the model (ProviderError propagates)."""
    started = clock()
    if prompt.fim is not None:
        stop = list(prompt.fim.stop)
        if not cursor.multiline and "\n" not in stop:
            stop.append("\n")  # the endpoint ends the answer itself and keeps the connection
        stream = endpoints.complete(
            "completion",
            prompt.fim.prompt,
            suffix=prompt.fim.suffix,
            max_tokens=prompt.max_output,
            stop=stop or None,
            n=n,
        )
        chat = False
    else:
        assert prompt.messages is not None
        stream = endpoints.chat("completion", prompt.messages, max_tokens=prompt.max_output, n=n)
        chat = True
    texts = reading.texts
    finished: set[int] = set()
    async with stream:
        async for delta in stream:
            if reading.first_token_s is None:
                reading.first_token_s = clock() - started
            if delta.index in finished:
                continue
            text = texts[delta.index] = texts.get(delta.index, "") + delta.text
            if not chat and "\n" in delta.text and _complete(text, cursor):
                finished.add(delta.index)
                if len(finished) >= n:
                    break  # leaving the `async with` closes the HTTP stream
    reading.done_s = clock() - started
    candidates = (clean(texts[i], cursor, chat=chat) for i in sorted(texts))
    return tuple(dict.fromkeys(c for c in candidates if c))


def _complete(text: str, cursor: Cursor) -> bool:
    """Whether the rest of the stream cannot change what will be shown."""
    if not cursor.multiline:
        return True
    kept = truncate_to_block(text, cursor.prefix, multiline=True, indent_unit=cursor.indent_unit)
    return bool(text[len(kept) :].strip())


def clean(text: str, cursor: Cursor, *, chat: bool) -> str | None:
    """A raw answer as it should be shown, or None."""
    if chat:
        parsed = parse_chat_fim_answer(text, cursor.prefix, cursor.suffix)
        if parsed is None:
            return None
        text = parsed
    return clean_completion(
        text,
        cursor.prefix,
        cursor.suffix,
        multiline=cursor.multiline,
        indent_unit=cursor.indent_unit,
    )
