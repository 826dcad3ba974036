"""Proxy mode: the editor talks only to ai-lsp, which forwards what it does not answer itself
to the upstream server as raw JSON and routes what the server sends back to the editor.

Position encoding: both sides must count characters alike, because forwarded positions are
not converted. ai-lsp negotiates with the editor as usual, offers the upstream server that
encoding first, and if a server does not take it, tells the editor UTF-16 instead (every
server and editor supports it). The upstream servers run under the manager, so sidecar
context queries use the same process.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeVar

from lsprotocol import types

from ai_lsp.upstream.client import UpstreamClient
from ai_lsp.upstream.known import ResolvedServer
from ai_lsp.upstream.manager import ProxyConnection, UpstreamManager
from ai_lsp.upstream.merge import is_marked, merge_capabilities
from ai_lsp.upstream.transport import ResponseError, UpstreamError

__all__ = [
    "MERGE_TIMEOUT_S",
    "REQUEST_FAILED",
    "EditorPeer",
    "Proxy",
    "Route",
]

log = logging.getLogger(__name__)
T = TypeVar("T")

MERGE_TIMEOUT_S = 3.0
"""Seconds ai-lsp's own answers (completions, code actions) wait for upstream's to merge
with: eglot blocks Emacs while it waits for completions. How long other forwarded requests
and the start may take is set per language (`request_timeout_s`, `start_timeout_s`)."""
REQUEST_FAILED = -32803
UTF16 = types.PositionEncodingKind.Utf16.value

Route = Literal["local", "ours", "forward", "both", "echo"]
"""What becomes of a message from the editor: ai-lsp handles it (`local`; `ours` after
unwrapping the mark of one of its items), the upstream server does (`forward`), both do
(`both`, notifications), or it is answered with its own params (`echo`: resolving an item
of ai-lsp's that needs no resolving)."""

# Lifecycle belongs to ai-lsp (it starts and ends the upstream servers itself), and the
# manager mirrors the documents to them as full texts, and the workspace folders to those
# that follow them.
_LOCAL_ONLY = frozenset(
    {
        types.INITIALIZE,
        types.INITIALIZED,
        types.SHUTDOWN,
        types.EXIT,
        types.CANCEL_REQUEST,
        types.TEXT_DOCUMENT_DID_OPEN,
        types.TEXT_DOCUMENT_DID_CHANGE,
        types.TEXT_DOCUMENT_DID_CLOSE,
        types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS,
    }
)
_RESOLVES = frozenset({types.COMPLETION_ITEM_RESOLVE, types.CODE_ACTION_RESOLVE})


class EditorPeer(Protocol):
    """The editor end, spoken to in raw JSON (the pygls protocol provides it)."""

    async def send_raw_request(self, method: str, params: Any) -> Any:
        """Send a request to the editor and return its result; raise `ResponseError`."""
        ...

    def send_raw_notification(self, method: str, params: Any) -> None:
        """Send a notification to the editor."""


class Proxy:
    """Fronts the proxy-mode upstream servers of a workspace for one editor."""

    def __init__(
        self,
        manager: UpstreamManager,
        editor: EditorPeer,
        languages: Sequence[str],
        client_capabilities: Mapping[str, Any],
        *,
        encoding: str,
        on_encoding: Callable[[str], None] | None = None,
    ) -> None:
        self.languages = tuple(languages)
        self.encoding = encoding
        """The position encoding the editor and the upstream servers share."""
        self._on_encoding = on_encoding
        self._manager = manager
        self._editor = editor
        self._client_capabilities = dict(client_capabilities)
        self.problems: list[str] = []
        """What went wrong at `start`, for the user (told once the editor listens)."""
        self._started: list[UpstreamClient] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closing = False
        manager.proxy = self

    @property
    def capabilities(self) -> dict[str, Any]:
        """The editor's client capabilities, offering the shared encoding first."""
        general = dict(self._client_capabilities.get("general") or {})
        general["positionEncodings"] = list(dict.fromkeys([self.encoding, UTF16]))
        return {**self._client_capabilities, "general": general}

    def connect(self, server: ResolvedServer) -> ProxyConnection | None:
        """The manager starts a process of `server`: connect it to the editor if proxied."""
        return _Connection(self, server.name) if server.mode == "proxy" else None

    async def start(self) -> None:
        """Start every proxied server and settle the position encoding (`on_encoding` is
        told the result).

        A server that does not start within its `start_timeout_s` is left out (the user is
        told); it keeps starting, and requests reach it once it runs.
        """
        starts = {
            language: self._spawn(self._manager.client_for_language(language))
            for language in self.languages
        }
        timeouts = {
            language: self._manager.config_for(language).start_timeout_s
            for language in self.languages
        }
        await asyncio.gather(
            *(
                asyncio.wait([start], timeout=timeouts[language])
                for language, start in starts.items()
            )
        )
        for language, start in starts.items():
            if not start.done():
                self._tell(language, f"did not start within {timeouts[language]:g} s")
                start.add_done_callback(self._started_late)
            elif start.cancelled():
                self._tell(language, "was stopped while starting")
            elif (error := start.exception()) is not None:
                self._tell(language, f"could not be started: {error}")
            elif start.result() not in self._started:
                self._started.append(start.result())
        encodings = {client.encoding.value for client in self._started}
        if encodings - {self.encoding}:
            self.encoding = UTF16
        for client in self._started:
            if client.encoding.value != self.encoding:
                self.problems.append(
                    f"{client.name} insists on {client.encoding.value} positions while the "
                    f"editor uses {self.encoding}: its positions will be off on non-ASCII lines."
                )
        if self._on_encoding is not None:
            self._on_encoding(self.encoding)

    def initialize_result(self, ours: Mapping[str, Any]) -> dict[str, Any]:
        """ai-lsp's `initialize` result (raw) with the upstream servers' capabilities merged."""
        capabilities = merge_capabilities(
            ours.get("capabilities") or {},
            [client.raw_capabilities for client in self._started],
            self.encoding,
        )
        return {**ours, "capabilities": capabilities}

    def route(
        self, method: str, params: Any, *, local: bool, commands: Collection[str], request: bool
    ) -> Route:
        """Where a message from the editor goes; `local` tells whether ai-lsp handles `method`."""
        if method in _LOCAL_ONLY:
            return "local"
        if method in _RESOLVES:
            if not is_marked(params):
                # ai-lsp's resolve support is advertised for every item: an upstream server
                # without it gets no request it never offered to answer.
                return "forward" if self._resolves(method) else "echo"
            return "ours" if local else "echo"
        if method == types.WORKSPACE_EXECUTE_COMMAND:
            command = params.get("command") if isinstance(params, Mapping) else None
            return "local" if command in commands else "forward"
        if not local:
            return "forward"
        return "local" if request else "both"

    def _resolves(self, method: str) -> bool:
        """Whether a running upstream server said it resolves items of `method`."""
        provider = (
            "codeActionProvider" if method == types.CODE_ACTION_RESOLVE else "completionProvider"
        )
        for client in self._started:
            options = client.raw_capabilities.get(provider)
            if isinstance(options, Mapping) and options.get("resolveProvider"):
                return True
        return False

    def covers(self, uri: str) -> bool:
        """Whether requests about `uri` have an upstream server to merge with."""
        return self._language_for(uri) is not None

    # The deadline belongs to the forwarded request (see `Transport.request`).
    async def request(self, method: str, params: Any, *, timeout: float | None = None) -> Any:  # noqa: ASYNC109
        """Forward a request; upstream's error answers are raised unchanged, other failures
        (crash, no server, no answer within the language's `request_timeout_s`, or within
        `timeout` seconds when that is shorter) as `ResponseError` with code RequestFailed."""
        loop = asyncio.get_running_loop()
        language = self._route_language(method, params)
        limit = self._manager.config_for(language).request_timeout_s
        deadline = loop.time() + (limit if timeout is None else min(timeout, limit))
        try:
            async with asyncio.timeout_at(deadline):
                client = await self._manager.client_for_language(language)
        except TimeoutError:
            raise ResponseError(
                REQUEST_FAILED, f"the {language} language server is not running yet"
            ) from None
        except UpstreamError as error:
            raise ResponseError(REQUEST_FAILED, str(error)) from error
        try:
            left = max(deadline - loop.time(), 0.0)
            return await client.transport.request(method, params, timeout=left)
        except ResponseError:
            raise
        except UpstreamError as error:
            raise ResponseError(REQUEST_FAILED, str(error)) from error

    def notify(self, method: str, params: Any) -> None:
        """Forward a notification to the running server it concerns (each server, for
        workspace-wide ones); a server that is restarting misses it."""
        uri = _uri_in(params)
        if uri is None:
            languages = self.languages
        elif (language := self._language_for(uri)) is not None:
            languages = (language,)
        else:
            return  # about a document of a language no proxied server serves
        for name in languages:
            client = self._manager.running_client(name)
            if client is None:
                continue
            try:
                client.transport.notify(method, params)
            except UpstreamError as error:
                log.debug("%s not forwarded to %s: %s", method, client.name, error)

    async def aclose(self) -> None:
        """Stop relaying (before the manager stops the servers)."""
        self._closing = True
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _route_language(self, method: str, params: Any) -> str:
        if method == types.WORKSPACE_EXECUTE_COMMAND and isinstance(params, Mapping):
            for client in self._started:
                if params.get("command") in _commands(client):
                    return self._language_of_client(client)
        return self._language_of(params) or self.languages[0]

    def _language_of(self, params: Any) -> str | None:
        uri = _uri_in(params)
        return self._language_for(uri) if uri is not None else None

    def _language_for(self, uri: str) -> str | None:
        """The proxied language of a document: its own, or the first one for a document
        whose language is unknown; None for a document of another language."""
        language = self._manager.language_of(uri)
        if language is None:
            return self.languages[0] if self.languages else None
        return language if language in self.languages else None

    def _language_of_client(self, client: UpstreamClient) -> str:
        for language in self.languages:
            if self._manager.running_client(language) is client:
                return language
        return self.languages[0]

    def _tell(self, language: str, problem: str) -> None:
        self.problems.append(
            f"The {language} language server (`[upstream.{language}]`, mode proxy) {problem}; "
            "ai-lsp answers without it until it runs."
        )

    def _started_late(self, start: asyncio.Task[UpstreamClient]) -> None:
        """A server that missed `initialize` runs now: route its commands too."""
        if (
            not start.cancelled()
            and start.exception() is None
            and start.result() not in self._started
        ):
            self._started.append(start.result())

    def _spawn(self, coroutine: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            log.debug("proxy task ended with %r", error)  # start errors are told in `start`


@dataclass(eq=False)
class _Connection:
    """One upstream process as seen by the editor: what it asks and says goes to the editor."""

    proxy: Proxy
    name: str
    registrations: dict[str, str] = field(default_factory=dict)
    """Dynamic registrations it made with the editor: id -> method."""

    @property
    def capabilities(self) -> Mapping[str, Any]:
        return self.proxy.capabilities

    async def on_server_request(self, method: str, params: Any) -> Any:
        result = await self.proxy._editor.send_raw_request(method, params)
        if not isinstance(params, Mapping):
            return result
        if method == types.CLIENT_REGISTER_CAPABILITY:
            for registration in params.get("registrations") or []:
                self.registrations[registration["id"]] = registration["method"]
        elif method == types.CLIENT_UNREGISTER_CAPABILITY:
            for registration in params.get("unregisterations") or []:
                self.registrations.pop(registration["id"], None)
        return result

    def on_notification(self, method: str, params: Any) -> None:
        self.proxy._editor.send_raw_notification(method, params)

    def stopped(self, client: UpstreamClient) -> None:
        """Withdraw its registrations: the restarted process registers anew."""
        if self.proxy._closing or not self.registrations:
            return
        params = {
            "unregisterations": [{"id": i, "method": m} for i, m in self.registrations.items()]
        }
        self.registrations = {}
        self.proxy._spawn(self._unregister(params))

    async def _unregister(self, params: dict[str, Any]) -> None:
        try:
            await self.proxy._editor.send_raw_request(types.CLIENT_UNREGISTER_CAPABILITY, params)
        except ResponseError as error:
            log.debug("editor refused to drop %s's registrations: %s", self.name, error)


def _uri_in(params: Any) -> str | None:
    """The document a request is about: `textDocument.uri`, or an item's `uri`
    (call and type hierarchies), or a top-level `uri`."""
    if not isinstance(params, Mapping):
        return None
    for holder in (params.get("textDocument"), params.get("item"), params):
        if isinstance(holder, Mapping) and isinstance(uri := holder.get("uri"), str):
            return uri
    return None


def _commands(client: UpstreamClient) -> list[str]:
    provider = client.raw_capabilities.get("executeCommandProvider")
    return list(provider.get("commands") or []) if isinstance(provider, Mapping) else []
