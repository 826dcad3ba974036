"""A scripted stand-in for the provider registry: streams given texts, records requests
and whether each stream was closed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass, field
from typing import Any

from lsprotocol import types

from ai_lsp.config import Settings
from ai_lsp.documents import DocumentSnapshot, DocumentStore
from ai_lsp.providers.errors import ProviderError
from ai_lsp.providers.stream import Delta, ModelStream, StreamResult
from tests.fakes.fixtures import fake_settings


@dataclass
class Call:
    api: str
    prompt: str
    suffix: str | None
    messages: list[dict[str, str]]
    n: int
    max_tokens: int | None
    closed: bool = False
    chunks_sent: int = 0


@dataclass
class ScriptedEndpoints:
    """Answers every request with `texts` (one per candidate) in `chunk` sized pieces."""

    texts: Sequence[str] = ("return a + b\n",)
    chunk: int = 4
    delay_s: float = 0.0
    error: ProviderError | None = None
    calls: list[Call] = field(default_factory=list)

    async def warm(self) -> None:
        pass

    def complete(self, feature: str, prompt: str, **kw: Any) -> ModelStream:
        call = Call(
            "completion", prompt, kw.get("suffix"), [], kw.get("n", 1), kw.get("max_tokens")
        )
        return self._stream(call)

    def chat(self, feature: str, messages: list[dict[str, str]], **kw: Any) -> ModelStream:
        call = Call("chat", "", None, messages, kw.get("n", 1), kw.get("max_tokens"))
        return self._stream(call)

    def _stream(self, call: Call) -> ModelStream:
        self.calls.append(call)

        async def produce(result: StreamResult) -> AsyncGenerator[Delta, None]:
            try:
                if self.error is not None:
                    raise self.error
                longest = max(len(t) for t in self.texts)
                for start in range(0, longest, self.chunk):
                    await asyncio.sleep(self.delay_s)
                    for index in range(call.n):
                        piece = self.texts[index % len(self.texts)][start : start + self.chunk]
                        if piece:
                            call.chunks_sent += 1
                            yield Delta(index, piece)
            finally:
                call.closed = True

        return ModelStream(produce)


def settings(**completion: Any) -> Settings:
    tree = fake_settings(
        "http://127.0.0.1:9/v1", completion={"model": "fim", "debounce_ms": 0, **completion}
    )
    return Settings.model_validate(tree)


def snapshot_at(store: DocumentStore, uri: str, text: str, marker: str = "|") -> DocumentSnapshot:
    """Open (or replace) `uri` with `text` minus the marker; snapshot at the marker."""
    offset = text.index(marker)
    text = text.replace(marker, "", 1)
    document = store.get(uri)
    if document is None:
        document = store.open(uri, "python", 1, text)
    else:
        store.change(
            uri, document.version + 1, [types.TextDocumentContentChangeWholeDocument(text=text)]
        )
    found = store.snapshot(uri, document.position_at(offset))
    assert found is not None
    return found
