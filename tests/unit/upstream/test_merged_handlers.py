"""ai-lsp's completion and code action handlers wrapped for proxy mode: both sides asked
together, either side's failure leaves the other, cancellation reaches both."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any, cast

import pytest
from lsprotocol import types

from ai_lsp.handlers.upstream import merged_code_action, merged_completion
from ai_lsp.server import AiLanguageServer
from ai_lsp.upstream.transport import ResponseError

URI = "file:///project/main.py"
ACTION_PARAMS = types.CodeActionParams(
    types.TextDocumentIdentifier(URI),
    types.Range(types.Position(0, 0), types.Position(0, 1)),
    types.CodeActionContext(diagnostics=[]),
)
COMPLETION_PARAMS = types.CompletionParams(types.TextDocumentIdentifier(URI), types.Position(0, 1))


class FakeProxy:
    """Answers forwarded requests with `answer`, or raises `error`, after `delay` seconds."""

    def __init__(self, answer: Any = None, error: Exception | None = None, delay: float = 0):
        self.answer, self.error, self.delay = answer, error, delay
        self.asked: list[tuple[str, Any]] = []
        self.cancelled = False

    def covers(self, uri: str) -> bool:
        return uri == URI

    async def request(
        self,
        method: str,
        params: Any,
        *,
        timeout: float | None = None,  # noqa: ASYNC109  (as `Proxy.request`)
    ) -> Any:
        self.asked.append((method, params))
        try:
            await asyncio.sleep(self.delay)
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        if self.error is not None:
            raise self.error
        return self.answer


def server(proxy: FakeProxy | None) -> AiLanguageServer:
    return cast(AiLanguageServer, SimpleNamespace(protocol=SimpleNamespace(proxy=proxy)))


async def ai_actions(ls: AiLanguageServer, params: types.CodeActionParams) -> Any:
    return [types.CodeAction(title="AI: add docstring", data={"id": 1})]


async def test_code_actions_list_upstream_first_then_marked_ai_actions() -> None:
    proxy = FakeProxy(answer=[{"title": "Inline variable", "kind": "refactor.inline"}])
    actions = await merged_code_action(ai_actions)(server(proxy), ACTION_PARAMS)
    assert actions == [
        {"title": "Inline variable", "kind": "refactor.inline"},
        {"title": "AI: add docstring", "data": {"ai-lsp": {"id": 1}}},
    ]
    [(method, params)] = proxy.asked
    assert method == types.TEXT_DOCUMENT_CODE_ACTION
    assert params["textDocument"] == {"uri": URI}  # raw JSON goes upstream


async def test_without_a_proxy_the_handler_answers_alone() -> None:
    [action] = await merged_code_action(ai_actions)(server(None), ACTION_PARAMS) or []
    assert isinstance(action, types.CodeAction)


async def test_a_failing_side_leaves_the_other() -> None:
    refused = FakeProxy(error=ResponseError(-32601, "no code actions here"))
    actions = await merged_code_action(ai_actions)(server(refused), ACTION_PARAMS)
    assert actions == [{"title": "AI: add docstring", "data": {"ai-lsp": {"id": 1}}}]

    async def broken(ls: AiLanguageServer, params: types.CodeActionParams) -> Any:
        raise RuntimeError("model exploded")

    proxy = FakeProxy(answer=[{"title": "Inline variable"}])
    assert await merged_code_action(broken)(server(proxy), ACTION_PARAMS) == [
        {"title": "Inline variable"}
    ]


async def test_completion_missing_upstream_part_asks_again() -> None:
    async def ai_items(ls: AiLanguageServer, params: types.CompletionParams) -> Any:
        return types.CompletionList(is_incomplete=False, items=[types.CompletionItem("total")])

    late = FakeProxy(error=ResponseError(-32803, "did not answer within 3 s"))
    merged = await merged_completion(ai_items)(server(late), COMPLETION_PARAMS)
    assert merged == {
        "isIncomplete": True,
        "items": [{"label": "total", "data": {"ai-lsp": None}}],
    }


async def test_cancelling_the_request_cancels_both_sides() -> None:
    started = asyncio.Event()
    ai_cancelled = False

    async def slow(ls: AiLanguageServer, params: types.CompletionParams) -> Any:
        nonlocal ai_cancelled
        started.set()
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            ai_cancelled = True
            raise

    proxy = FakeProxy(delay=10)
    task = asyncio.ensure_future(merged_completion(slow)(server(proxy), COMPLETION_PARAMS))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert ai_cancelled
    assert proxy.cancelled
