"""A model's answer as it arrives: text deltas per candidate, then the token usage.

`ModelStream` is an async iterator of `Delta`; use it as `async with stream:` (or
`contextlib.aclosing`) so that leaving early closes the HTTP stream at once.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from types import TracebackType


@dataclass(frozen=True, slots=True)
class Delta:
    """A piece of text for candidate `index` (0 unless `n` > 1)."""

    index: int
    text: str


@dataclass(frozen=True, slots=True)
class Usage:
    """Tokens of one request, as reported by the server (or estimated by the registry)."""

    prompt_tokens: int
    completion_tokens: int


class StreamResult:
    """What the producer reports besides the deltas; kept apart from `ModelStream` so the
    producing generator holds no reference back to it (no cycle: dropping the stream closes it).
    """

    def __init__(self) -> None:
        self.usage: Usage | None = None


class ModelStream:
    """Iterate for deltas; afterwards `usage` holds the usage (None when the server sent none)."""

    def __init__(self, produce: Callable[[StreamResult], AsyncGenerator[Delta, None]]) -> None:
        self._result = StreamResult()
        self._gen = produce(self._result)
        self._parts: dict[int, list[str]] = {}

    @property
    def usage(self) -> Usage | None:
        return self._result.usage

    def text(self, index: int = 0) -> str:
        """Text received so far for candidate `index`."""
        return "".join(self._parts.get(index, ()))

    def texts(self) -> list[str]:
        """Text received so far for every candidate, by index."""
        return [self.text(i) for i in range(max(self._parts, default=-1) + 1)]

    def __aiter__(self) -> ModelStream:
        return self

    async def __anext__(self) -> Delta:
        delta = await self._gen.__anext__()
        self._parts.setdefault(delta.index, []).append(delta.text)
        return delta

    async def collect(self) -> list[str]:
        """Read the whole answer; the texts of all candidates."""
        async with self:
            async for _ in self:
                pass
        return self.texts()

    async def aclose(self) -> None:
        """Stop early: closes the HTTP stream (idempotent)."""
        await self._gen.aclose()

    async def __aenter__(self) -> ModelStream:
        return self

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
