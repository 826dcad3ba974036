"""Upstream language servers in the server: the manager (sidecar context), proxy mode set up
at `initialize`, and ai-lsp's completions and code actions merged with upstream's."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Awaitable, Callable
from typing import Any

from lsprotocol import types
from lsprotocol.converters import get_converter

from ai_lsp.config import ALL_LANGUAGES
from ai_lsp.handlers.completion import completions
from ai_lsp.server import AiLanguageServer
from ai_lsp.upstream import process
from ai_lsp.upstream.manager import UpstreamManager
from ai_lsp.upstream.merge import merge_code_actions, merge_completions
from ai_lsp.upstream.provider import UpstreamContextProvider
from ai_lsp.upstream.proxy import MERGE_TIMEOUT_S, Proxy
from ai_lsp.upstream.transport import ResponseError

log = logging.getLogger(__name__)

SHUTDOWN_GRACE_S = 0.5
"""Seconds an upstream server gets per step of its shutdown (answer `shutdown`, exit after
`exit`, exit after SIGTERM); editors give ai-lsp little more (eglot kills it after `exit`)."""
TERMINATE_GRACE_S = 3.0
"""Seconds a SIGTERM leaves the upstream servers to shut down politely."""
_converter = get_converter()
_terminating: set[asyncio.Task[None]] = set()
_ASK_AGAIN = {"isIncomplete": True, "items": []}
"""Upstream's part of a completion it did not give in time: typing asks again."""

CompletionResult = types.CompletionList | list[types.CompletionItem] | None
CodeActionResult = list[types.Command | types.CodeAction] | None


def manager(ls: AiLanguageServer) -> UpstreamManager | None:
    """The server's upstream manager, created on first use once the workspace root is known.

    It follows the settings and the editor's workspace folders, gets the documents opened so
    far, and feeds completions with the definitions it prefetches.
    """
    root = ls.root
    if ls.upstream is None and root is not None:
        created = ls.upstream = UpstreamManager(
            lambda: ls.config.settings,
            root,
            ls.notices,
            shutdown_grace=SHUTDOWN_GRACE_S,
            workspace_folders=list(ls.workspace.folders.values()),
        )
        for document in ls.documents:
            created.open(document.uri, document.language_id, document.version, document.text)
        ls.config.subscribe(created.update)
        ls.protocol.workspace_folders_changed = lambda event: created.folders_changed(
            event.added, event.removed
        )
        completions(ls).add_context_provider(UpstreamContextProvider(lambda: ls.upstream))
    return ls.upstream


def prepare_proxy(ls: AiLanguageServer) -> None:
    """At `initialize`: front the servers configured with `mode = "proxy"` (the protocol
    starts them before it answers, see `ForwardingProtocol.lsp_initialize`)."""
    settings = ls.config.settings
    languages = [
        name
        for name in settings.upstream
        if name != ALL_LANGUAGES
        and (config := settings.upstream_for(name)).enabled
        and config.mode == "proxy"
    ]
    upstream = manager(ls) if languages else None
    if upstream is None:
        if languages:
            log.warning("proxy mode needs a workspace folder; running without upstream")
        return
    sent = ls.protocol.initialize_params
    capabilities = sent.get("capabilities") if isinstance(sent, dict) else None

    def settled(encoding: str) -> None:  # ai-lsp's positions follow what the proxy settled
        ls.documents.encoding = encoding

    ls.protocol.proxy = Proxy(
        upstream,
        ls.protocol,
        languages,
        capabilities or {},
        encoding=ls.documents.encoding.value,
        on_encoding=settled,
    )


def initialized(ls: AiLanguageServer) -> None:
    """Once the editor listens: run the sidecar manager, tell what went wrong in `initialize`."""
    manager(ls)
    if ls.protocol.proxy is not None:
        for problem in ls.protocol.proxy.problems:
            ls.notices.once(f"proxy:{problem}", "error", problem)


def exit_on_sigterm(ls: AiLanguageServer) -> None:
    """Make SIGTERM end the upstream servers politely before ai-lsp exits."""
    try:
        asyncio.get_running_loop().add_signal_handler(
            signal.SIGTERM, lambda: _terminating.add(asyncio.ensure_future(_terminate(ls)))
        )
    except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or Windows
        log.debug("SIGTERM stays the default action here")


async def _terminate(ls: AiLanguageServer) -> None:
    try:
        async with asyncio.timeout(TERMINATE_GRACE_S):
            if ls.protocol.proxy is not None:
                await ls.protocol.proxy.aclose()
            if ls.upstream is not None:
                await ls.upstream.aclose()
            await ls.aclose()
    finally:
        process.kill_all()
        logging.shutdown()
        # pygls reads stdin in a worker thread that a normal exit would wait for until the
        # editor closes the pipe, which after a SIGTERM it may never do.
        os._exit(0)


def merged_completion(
    handler: Callable[[AiLanguageServer, types.CompletionParams], Awaitable[CompletionResult]],
) -> Callable[
    [AiLanguageServer, types.CompletionParams], Awaitable[CompletionResult | dict[str, Any]]
]:
    """`handler` (ai-lsp's completion) that, in proxy mode, asks the upstream server at the
    same time and answers with both: upstream's items unchanged, then ai-lsp's."""

    async def completion(
        ls: AiLanguageServer, params: types.CompletionParams
    ) -> CompletionResult | dict[str, Any]:
        proxy = ls.protocol.proxy
        if proxy is None or not proxy.covers(params.text_document.uri):
            return await handler(ls, params)
        ours, upstream = await _both(
            handler(ls, params), proxy, types.TEXT_DOCUMENT_COMPLETION, params, _ASK_AGAIN
        )
        return merge_completions(upstream, _converter.unstructure(ours))

    return completion


def merged_code_action(
    handler: Callable[[AiLanguageServer, types.CodeActionParams], Awaitable[CodeActionResult]],
) -> Callable[[AiLanguageServer, types.CodeActionParams], Awaitable[CodeActionResult | list[Any]]]:
    """`handler` (ai-lsp's code actions) that, in proxy mode, lists upstream's actions first."""

    async def code_action(
        ls: AiLanguageServer, params: types.CodeActionParams
    ) -> CodeActionResult | list[Any]:
        proxy = ls.protocol.proxy
        if proxy is None or not proxy.covers(params.text_document.uri):
            return await handler(ls, params)
        ours, upstream = await _both(
            handler(ls, params), proxy, types.TEXT_DOCUMENT_CODE_ACTION, params, None
        )
        return merge_code_actions(upstream, _converter.unstructure(ours))

    return code_action


async def _both(
    ours: Awaitable[Any], proxy: Proxy, method: str, params: Any, failed: Any
) -> tuple[Any, Any]:
    """ai-lsp's answer and upstream's raw one (`failed` when it has none), asked together;
    a failure of either side leaves only the other (a cancellation cancels both)."""

    async def from_ai() -> Any:
        try:
            return await ours
        except Exception:
            log.exception("ai-lsp's %s failed; answering with upstream's alone", method)
            return None

    async def from_upstream() -> Any:
        try:
            raw = _converter.unstructure(params)
            return await proxy.request(method, raw, timeout=MERGE_TIMEOUT_S)
        except ResponseError as error:
            log.debug("upstream %s failed: %s", method, error)
            return failed

    async with asyncio.TaskGroup() as group:
        ai, upstream = group.create_task(from_ai()), group.create_task(from_upstream())
    return ai.result(), upstream.result()
