"""The language server object and its state: documents, configuration and services.

Services that need heavy imports (openai, lancedb, tiktoken) are created on first use so
that `initialize` is answered fast.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.protocol import lsp_method

from ai_lsp import __version__
from ai_lsp.config_manager import ConfigManager
from ai_lsp.documents import DocumentStore
from ai_lsp.notices import Level, Notices
from ai_lsp.upstream.forwarding import ForwardingProtocol

if TYPE_CHECKING:
    from ai_lsp.index.service import IndexService
    from ai_lsp.providers.ledger import Ledger
    from ai_lsp.providers.registry import ProviderRegistry
    from ai_lsp.upstream.manager import UpstreamManager

log = logging.getLogger(__name__)

_MESSAGE_TYPES = {
    "error": types.MessageType.Error,
    "warning": types.MessageType.Warning,
    "info": types.MessageType.Info,
}


SHUTDOWN_GRACE_S = 2.0


async def _settle(pending: list[Any], grace_s: float) -> None:
    """Wait (a bounded time) for requests in flight to be answered."""
    waiting = [
        asyncio.wrap_future(f) if isinstance(f, concurrent.futures.Future) else f for f in pending
    ]
    await asyncio.wait(waiting, timeout=grace_s)


class AiLspProtocol(ForwardingProtocol):
    """pygls's protocol with document sync routed to ai-lsp's own store (and mirrored to the
    upstream servers), and in proxy mode what ai-lsp does not handle forwarded upstream.

    pygls's workspace splits lines with `str.splitlines` (wrong for LSP on form feeds and
    U+2028) and rebuilds every line on each keystroke; `DocumentStore` does neither.
    """

    _server: AiLanguageServer

    @lsp_method(types.TEXT_DOCUMENT_DID_OPEN)
    def lsp_text_document__did_open(
        self, params: types.DidOpenTextDocumentParams
    ) -> Generator[Any, Any, None]:
        doc = params.text_document
        self._server.documents.open(doc.uri, doc.language_id, doc.version, doc.text)
        if (upstream := self._server.upstream) is not None:
            upstream.open(doc.uri, doc.language_id, doc.version, doc.text)
        if (handler := self.fm.features.get(types.TEXT_DOCUMENT_DID_OPEN)) is not None:
            yield handler, (params,), None

    @lsp_method(types.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(
        self, params: types.DidChangeTextDocumentParams
    ) -> Generator[Any, Any, None]:
        doc = params.text_document
        changed = self._server.documents.change(doc.uri, doc.version, params.content_changes)
        if changed is not None and (upstream := self._server.upstream) is not None:
            upstream.change(doc.uri, doc.version, changed.text)  # servers take whole texts
        if (handler := self.fm.features.get(types.TEXT_DOCUMENT_DID_CHANGE)) is not None:
            yield handler, (params,), None

    @lsp_method(types.TEXT_DOCUMENT_DID_CLOSE)
    def lsp_text_document__did_close(
        self, params: types.DidCloseTextDocumentParams
    ) -> Generator[Any, Any, None]:
        self._server.documents.close(params.text_document.uri)
        if (upstream := self._server.upstream) is not None:
            upstream.close(params.text_document.uri)
        if (handler := self.fm.features.get(types.TEXT_DOCUMENT_DID_CLOSE)) is not None:
            yield handler, (params,), None

    @lsp_method(types.SHUTDOWN)
    def lsp_shutdown(self, *args: Any) -> Generator[Any, Any, None]:
        # Requests that arrived before `shutdown` still get their answers (pygls 2.1 cancels
        # them, and iterates its live dict of futures while doing so, which can raise).
        current = self.msg_id
        pending = [
            f for i, f in list(self._request_futures.items()) if i != current and not f.done()
        ]
        if pending:
            yield _settle, (pending, SHUTDOWN_GRACE_S), None
        if (handler := self.fm.features.get(types.SHUTDOWN)) is not None:
            yield handler, args, None
        for msg_id, future in list(self._request_futures.items()):
            if msg_id != current and not future.done():
                future.cancel()
        self._shutdown = True
        return None

    @lsp_method(types.WORKSPACE_EXECUTE_COMMAND)
    def lsp_workspace__execute_command(
        self, params: types.ExecuteCommandParams
    ) -> Generator[Any, Any, Any]:
        # With lsp-mode a command of another server can reach ai-lsp too: ignore it quietly.
        if params.command not in self.fm.commands:
            log.debug("ignoring command %r: not an ai-lsp command", params.command)
            return None
        result = yield from super().lsp_workspace__execute_command(params)
        return result


class AiLanguageServer(LanguageServer):
    """ai-lsp's server: the protocol plus the state every handler reads."""

    protocol: AiLspProtocol

    def __init__(self, *, user_config: Path | None = None) -> None:
        super().__init__(
            "ai-lsp",
            __version__,
            protocol_cls=AiLspProtocol,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
        )
        self.documents = DocumentStore()
        self.notices = Notices()
        self.config = ConfigManager(self.notices, user_config)
        self._ledger: Ledger | None = None
        self._providers: ProviderRegistry | None = None
        self.index: IndexService | None = None
        self.upstream: UpstreamManager | None = None
        """Upstream language servers, once the workspace root is known (`handlers.upstream`)."""
        self._background: set[asyncio.Task[Any]] = set()
        self.config.subscribe(self._on_settings)

    @property
    def root(self) -> Path | None:
        """The workspace root (first workspace folder)."""
        return self.config.root

    @property
    def ledger(self) -> Ledger:
        """The spend ledger (opened on first use)."""
        if self._ledger is None:
            from ai_lsp import paths
            from ai_lsp.providers.ledger import Ledger

            self._ledger = Ledger(
                paths.state_dir() / "ledger.sqlite3",
                self.config.settings.budget,
                notices=self.notices,
            )
        return self._ledger

    @property
    def providers(self) -> ProviderRegistry:
        """Model endpoints routed by feature (created on first use)."""
        if self._providers is None:
            from ai_lsp.prompting.tokens import count_for_model
            from ai_lsp.providers.registry import ProviderRegistry

            self._providers = ProviderRegistry(
                self.config.settings,
                ledger=self.ledger,
                notices=self.notices,
                token_counter=count_for_model,
            )
        return self._providers

    def show(self, level: Level, message: str) -> None:
        """Tell the user (window/showMessage); the sink behind `Notices`."""
        try:
            self.window_show_message(
                types.ShowMessageParams(type=_MESSAGE_TYPES[level], message=message)
            )
        except Exception:  # the transport may be gone during shutdown
            log.debug("could not send window/showMessage", exc_info=True)

    def spawn(self, coro: Any, name: str) -> asyncio.Task[Any]:
        """Run a background coroutine, keep a reference, log (never raise) its failure."""
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        task.set_name(name)
        self._background.add(task)
        task.add_done_callback(self._background_done)
        return task

    def _background_done(self, task: asyncio.Task[Any]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task %s failed", task.get_name(), exc_info=task.exception())

    def _on_settings(self, settings: Any) -> None:
        from ai_lsp.log import set_level

        set_level(settings.log.level)
        if self._ledger is not None:
            self._ledger.update_budget(settings.budget)
        if self._providers is not None:
            self._providers.update(settings)

    async def aclose(self) -> None:
        """Stop background work and close network clients."""
        for task in list(self._background):
            task.cancel()
        if self.index is not None:
            await self.index.aclose()
        if self._providers is not None:
            await self._providers.aclose()
        if self.protocol.proxy is not None:
            await self.protocol.proxy.aclose()
        if self.upstream is not None:
            # In the background: editors close the connection (or kill ai-lsp) right after
            # `shutdown`/`exit`; servers still running then die with ai-lsp's process groups.
            self.spawn(self.upstream.aclose(), "upstream-shutdown")
