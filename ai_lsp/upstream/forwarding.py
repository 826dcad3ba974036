"""The pygls protocol's half of proxy mode: messages the `Proxy` routes upstream stay raw
JSON (pygls would turn unknown ones into named tuples), and raw messages go to the editor.

pygls structures each message in `structure_message` and dispatches it in `handle_message`;
those two are the only places overridden, so everything ai-lsp handles keeps pygls's path.
Workspace folder changes are also passed on (`workspace_folders_changed`), in both modes.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Generator
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from lsprotocol import types
from pygls.protocol import LanguageServerProtocol, lsp_method

from ai_lsp.upstream.merge import unmark
from ai_lsp.upstream.transport import INTERNAL_ERROR, REQUEST_CANCELLED, ResponseError, deliver

if TYPE_CHECKING:  # the proxy (and the manager behind it) is imported only when used
    from ai_lsp.upstream.proxy import Proxy, Route

__all__ = ["ForwardingProtocol"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Relayed:
    """A message from the editor kept raw, with the proxy's decision about it."""

    data: dict[str, Any]
    route: Route


@dataclass(frozen=True, slots=True)
class _EditorAnswer:
    """The editor's raw answer to a request relayed from an upstream server."""

    data: dict[str, Any]


class ForwardingProtocol(LanguageServerProtocol):
    """A language server protocol that can front upstream servers (set `proxy` to do so)."""

    proxy: Proxy | None = None
    """Set at `initialize` when some upstream server runs in proxy mode."""
    initialize_params: Any = None
    """The editor's `initialize` params as sent (its capabilities go upstream unchanged)."""
    workspace_folders_changed: Callable[[types.WorkspaceFoldersChangeEvent], None] | None = None
    """Told each change of the editor's workspace folders, after pygls's workspace took it
    (the upstream manager passes it on to its servers)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._editor_requests: dict[str, asyncio.Future[Any]] = {}
        self._held: list[dict[str, Any]] | None = []
        """What upstream servers send before the editor is ready for it (None once it is)."""

    # -- from the editor -----------------------------------------------------------------------

    def structure_message(self, data: dict[str, Any]) -> Any:
        if "jsonrpc" not in data:  # json.loads calls this for nested objects too
            return data
        method = data.get("method")
        if method == types.INITIALIZE:
            self.initialize_params = data.get("params")
        if isinstance(method, str) and self.proxy is not None and not self._shutdown:
            local = method in self.fm.builtin_features or method in self.fm.features
            route = self.proxy.route(
                method,
                data.get("params"),
                local=local,
                commands=self.fm.commands,
                request="id" in data,
            )
            if route == "ours":
                data = {**data, "params": unmark(data["params"])}
            elif route != "local":
                return _Relayed(data, route)
        elif method is None and data.get("id") in self._editor_requests:
            return _EditorAnswer(data)
        return super().structure_message(data)

    def handle_message(self, message: Any) -> None:
        if isinstance(message, _Relayed):
            self._relay(message)
        elif isinstance(message, _EditorAnswer):
            self._answered(message.data)
        else:
            super().handle_message(message)

    def _relay(self, message: _Relayed) -> None:
        data, proxy = message.data, self.proxy
        assert proxy is not None
        method, params = data["method"], data.get("params")
        if "id" not in data:
            proxy.notify(method, params)
            if message.route == "both":
                super().handle_message(super().structure_message(data))
        elif message.route == "echo":
            self._send_data({"jsonrpc": "2.0", "id": data["id"], "result": params})
        else:
            msg_id = data["id"]
            task = asyncio.ensure_future(self._forward(proxy, msg_id, method, params))
            # Registered like pygls's own handlers: `$/cancelRequest` and `shutdown` cancel it.
            self._request_futures[msg_id] = cast("Future[Any]", task)

    async def _forward(self, proxy: Proxy, msg_id: Any, method: str, params: Any) -> None:
        reply: dict[str, Any] = {"jsonrpc": "2.0", "id": msg_id}
        try:
            reply["result"] = await proxy.request(method, params)
        except asyncio.CancelledError:
            reply["error"] = {"code": REQUEST_CANCELLED, "message": f"{method} was cancelled"}
            self._send_data(reply)
            raise
        except ResponseError as error:
            reply["error"] = error.to_json()
        except Exception as error:
            log.exception("forwarding %s failed", method)
            reply["error"] = {"code": INTERNAL_ERROR, "message": f"ai-lsp: {error}"}
        finally:
            self._request_futures.pop(msg_id, None)
        self._send_data(reply)

    @lsp_method(types.INITIALIZE)
    def lsp_initialize(self, params: types.InitializeParams) -> Generator[Any, Any, Any]:
        result = yield from super().lsp_initialize(params)
        if self.proxy is None:
            return result
        yield self.proxy.start, (), None  # the upstream servers' capabilities are needed now
        return self.proxy.initialize_result(self._converter.unstructure(result))

    @lsp_method(types.INITIALIZED)
    def lsp_initialized(self, *args: Any) -> Generator[Any, Any, None]:
        # The editor may be sent requests and most notifications only from now on, while the
        # upstream servers start talking as soon as ai-lsp has initialized them.
        held, self._held = self._held or [], None
        for message in held:
            self._send_data(message)
        if (handler := self.fm.features.get(types.INITIALIZED)) is not None:
            yield handler, args, None

    @lsp_method(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
    def lsp_workspace__did_change_workspace_folders(
        self, params: types.DidChangeWorkspaceFoldersParams
    ) -> Generator[Any, Any, None]:
        yield from super().lsp_workspace__did_change_workspace_folders(params)
        if self.workspace_folders_changed is not None:
            self.workspace_folders_changed(params.event)

    # -- to the editor -------------------------------------------------------------------------

    async def send_raw_request(self, method: str, params: Any) -> Any:
        """Send a request to the editor and return its result; raise `ResponseError` for an
        error answer. Cancelling the caller cancels the request in the editor too."""
        msg_id = f"ai-lsp-{uuid.uuid4()}"
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._editor_requests[msg_id] = future
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": msg_id, "method": method}
        if params is not None:
            message["params"] = params
        try:
            self._send_to_editor(message)
            return await future
        except asyncio.CancelledError:
            if self._held is not None and message in self._held:
                self._held.remove(message)
            else:
                self.send_raw_notification(types.CANCEL_REQUEST, {"id": msg_id})
            raise
        finally:
            self._editor_requests.pop(msg_id, None)

    def send_raw_notification(self, method: str, params: Any) -> None:
        """Send a notification to the editor."""
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        self._send_to_editor(message)

    def _send_to_editor(self, message: dict[str, Any]) -> None:
        if self._held is not None:
            self._held.append(message)
        else:
            self._send_data(message)

    def _answered(self, data: dict[str, Any]) -> None:
        future = self._editor_requests.pop(data["id"], None)
        if future is not None and not future.done():
            deliver(future, data)
