"""A typed LSP client for one upstream server: lifecycle, document sync and the queries ai-lsp uses.

Results are lsprotocol types; what the server asks of its client is answered as a sidecar
would, unless a hook (a proxy routing it to the editor) takes over.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, cast

from lsprotocol import types
from lsprotocol.converters import get_converter

from ai_lsp import __version__
from ai_lsp.upstream.transport import (
    NotificationHandler,
    RequestHandler,
    ResponseError,
    Transport,
    UpstreamError,
)

__all__ = ["DEFAULT_TIMEOUT", "INITIALIZE_TIMEOUT", "UpstreamClient", "default_capabilities"]

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 5.0
"""Seconds a query may take."""
INITIALIZE_TIMEOUT = 30.0
"""Seconds `initialize` may take (servers index the project first)."""
METHOD_NOT_FOUND = -32601
_converter = get_converter()
_PROVIDERS = {
    types.TEXT_DOCUMENT_DEFINITION: "definition_provider",
    types.TEXT_DOCUMENT_TYPE_DEFINITION: "type_definition_provider",
    types.TEXT_DOCUMENT_HOVER: "hover_provider",
    types.TEXT_DOCUMENT_SIGNATURE_HELP: "signature_help_provider",
    types.TEXT_DOCUMENT_DOCUMENT_SYMBOL: "document_symbol_provider",
    types.WORKSPACE_SYMBOL: "workspace_symbol_provider",
    types.TEXT_DOCUMENT_REFERENCES: "references_provider",
    types.TEXT_DOCUMENT_DIAGNOSTIC: "diagnostic_provider",
}
_ACKNOWLEDGED = frozenset(
    {
        types.CLIENT_REGISTER_CAPABILITY,
        types.CLIENT_UNREGISTER_CAPABILITY,
        types.WINDOW_WORK_DONE_PROGRESS_CREATE,
        types.WINDOW_SHOW_MESSAGE_REQUEST,
        types.WORKSPACE_CODE_LENS_REFRESH,
        types.WORKSPACE_DIAGNOSTIC_REFRESH,
        types.WORKSPACE_INLAY_HINT_REFRESH,
        types.WORKSPACE_INLINE_VALUE_REFRESH,
        types.WORKSPACE_SEMANTIC_TOKENS_REFRESH,
        types.WORKSPACE_FOLDING_RANGE_REFRESH,
    }
)

Definitions = list[types.Location | types.LocationLink]


def default_capabilities() -> types.ClientCapabilities:
    """What a sidecar client supports: read-only queries, pushed and pulled diagnostics."""
    markdown = [types.MarkupKind.Markdown, types.MarkupKind.PlainText]
    return types.ClientCapabilities(
        general=types.GeneralClientCapabilities(
            position_encodings=[types.PositionEncodingKind.Utf32, types.PositionEncodingKind.Utf16]
        ),
        workspace=types.WorkspaceClientCapabilities(
            apply_edit=False,
            configuration=True,
            workspace_folders=True,
            symbol=types.WorkspaceSymbolClientCapabilities(),
        ),
        window=types.WindowClientCapabilities(work_done_progress=False),
        text_document=types.TextDocumentClientCapabilities(
            synchronization=types.TextDocumentSyncClientCapabilities(did_save=False),
            hover=types.HoverClientCapabilities(content_format=markdown),
            definition=types.DefinitionClientCapabilities(link_support=True),
            type_definition=types.TypeDefinitionClientCapabilities(link_support=True),
            signature_help=types.SignatureHelpClientCapabilities(
                signature_information=types.ClientSignatureInformationOptions(
                    documentation_format=markdown,
                    parameter_information=types.ClientSignatureParameterInformationOptions(
                        label_offset_support=True
                    ),
                )
            ),
            document_symbol=types.DocumentSymbolClientCapabilities(
                hierarchical_document_symbol_support=True
            ),
            references=types.ReferenceClientCapabilities(),
            publish_diagnostics=types.PublishDiagnosticsClientCapabilities(version_support=True),
            diagnostic=types.DiagnosticClientCapabilities(),
        ),
    )


class UpstreamClient:
    """One running upstream server. Create with `start`, then `initialize`."""

    def __init__(
        self,
        transport: Transport,
        *,
        settings: Mapping[str, Any] | None = None,
        request_timeout: float = DEFAULT_TIMEOUT,
        initialize_timeout: float = INITIALIZE_TIMEOUT,
        on_server_request: RequestHandler | None = None,
        on_notification: NotificationHandler | None = None,
    ) -> None:
        self.transport = transport
        self.request_timeout = request_timeout
        self.initialize_timeout = initialize_timeout
        self.capabilities = types.ServerCapabilities()
        self.raw_capabilities: dict[str, Any] = {}
        """The server's capabilities as it sent them (a proxy merges these for the editor)."""
        self.encoding = types.PositionEncodingKind.Utf16
        self.workspace_folders: list[types.WorkspaceFolder] = []
        self._settings = dict(settings or {})
        self._server_request_hook = on_server_request
        self._notification_hook = on_notification
        self._registered: dict[str, str] = {}  # registration id -> method
        self._pushed: dict[str, list[types.Diagnostic]] = {}
        self._pushed_versions: dict[str, int | None] = {}
        transport.listen(self._on_request, self._on_notification)

    @classmethod
    async def start(
        cls,
        command: Sequence[str],
        *,
        cwd: Path,
        name: str,
        settings: Mapping[str, Any] | None = None,
        request_timeout: float = DEFAULT_TIMEOUT,
        initialize_timeout: float = INITIALIZE_TIMEOUT,
        on_server_request: RequestHandler | None = None,
        on_notification: NotificationHandler | None = None,
    ) -> UpstreamClient:
        """Start the server process (not yet initialized); `settings` answer `workspace/configuration`."""
        transport = await Transport.spawn(command, cwd=cwd, name=name)
        return cls(
            transport,
            settings=settings,
            request_timeout=request_timeout,
            initialize_timeout=initialize_timeout,
            on_server_request=on_server_request,
            on_notification=on_notification,
        )

    @property
    def name(self) -> str:
        """The server's name, for messages."""
        return self.transport.name

    async def initialize(
        self,
        root_uri: str,
        initialization_options: Mapping[str, Any] | None = None,
        capabilities: types.ClientCapabilities | Mapping[str, Any] | None = None,
        workspace_folders: Sequence[types.WorkspaceFolder] | None = None,
    ) -> types.InitializeResult:
        """The `initialize` handshake (then `initialized`); remembers capabilities and encoding.

        `capabilities` may be raw JSON (a proxy passes the editor's on unchanged);
        `workspace_folders` default to the root alone.
        """
        self.workspace_folders = list(workspace_folders or [_folder(root_uri)])
        params = types.InitializeParams(
            capabilities=types.ClientCapabilities(),
            process_id=os.getpid(),
            client_info=types.ClientInfo("ai-lsp", __version__),
            root_uri=root_uri,
            initialization_options=dict(initialization_options or {}),
            workspace_folders=self.workspace_folders,
        )
        raw_params = _converter.unstructure(params)
        raw_params["capabilities"] = (
            dict(capabilities)
            if isinstance(capabilities, Mapping)
            else _converter.unstructure(capabilities or default_capabilities())
        )
        raw = await self.transport.request(
            types.INITIALIZE, raw_params, timeout=self.initialize_timeout
        )
        result = cast(types.InitializeResult, self._structure(types.INITIALIZE, raw))
        self.capabilities = result.capabilities
        self.raw_capabilities = dict(raw.get("capabilities") or {})
        self.encoding = types.PositionEncodingKind(
            result.capabilities.position_encoding or types.PositionEncodingKind.Utf16
        )
        self.transport.notify(types.INITIALIZED, {})
        return result

    async def aclose(self, grace: float = 2.0) -> None:
        """Shut the server down, allowing `grace` seconds per step (see `Transport.aclose`)."""
        await self.transport.aclose(grace)

    def supports(self, method: str) -> bool:
        """Whether the server offers `method` (statically or by dynamic registration)."""
        if method in self._registered.values():
            return True
        attribute = _PROVIDERS.get(method)
        return attribute is not None and bool(getattr(self.capabilities, attribute, None))

    @property
    def follows_workspace_folders(self) -> bool:
        """Whether the server takes `workspace/didChangeWorkspaceFolders` (statically or by
        dynamic registration)."""
        if types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS in self._registered.values():
            return True
        workspace = self.capabilities.workspace
        folders = workspace.workspace_folders if workspace is not None else None
        return folders is not None and bool(folders.change_notifications)

    def did_change_workspace_folders(
        self, added: Sequence[types.WorkspaceFolder], removed: Sequence[types.WorkspaceFolder]
    ) -> None:
        """The editor's workspace folders changed: remember them (`workspace/workspaceFolders`
        answers with them) and tell the server if it follows them."""
        gone = {folder.uri for folder in removed}
        kept = [folder for folder in self.workspace_folders if folder.uri not in gone]
        known = {folder.uri for folder in kept}
        self.workspace_folders = kept + [folder for folder in added if folder.uri not in known]
        if self.follows_workspace_folders:
            event = types.WorkspaceFoldersChangeEvent(added=list(added), removed=list(removed))
            self._notify(
                types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS,
                types.DidChangeWorkspaceFoldersParams(event),
            )

    def did_open(self, uri: str, language_id: str, version: int, text: str) -> None:
        """`textDocument/didOpen`."""
        item = types.TextDocumentItem(uri, language_id, version, text)
        self._notify(types.TEXT_DOCUMENT_DID_OPEN, types.DidOpenTextDocumentParams(item))

    def did_change(self, uri: str, version: int, text: str) -> None:
        """`textDocument/didChange` with the whole new text (every server accepts that form)."""
        params = types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(version, uri),
            [types.TextDocumentContentChangeWholeDocument(text)],
        )
        self._notify(types.TEXT_DOCUMENT_DID_CHANGE, params)

    def did_close(self, uri: str) -> None:
        """`textDocument/didClose`; forgets the document's pushed diagnostics."""
        self._pushed.pop(uri, None)
        self._pushed_versions.pop(uri, None)
        params = types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri))
        self._notify(types.TEXT_DOCUMENT_DID_CLOSE, params)

    async def definition(self, uri: str, position: types.Position) -> Definitions:
        """Where the symbol at `position` is defined."""
        params = types.DefinitionParams(types.TextDocumentIdentifier(uri), position)
        return _locations(await self._query(types.TEXT_DOCUMENT_DEFINITION, params))

    async def type_definition(self, uri: str, position: types.Position) -> Definitions:
        """Where the type of the symbol at `position` is defined."""
        params = types.TypeDefinitionParams(types.TextDocumentIdentifier(uri), position)
        return _locations(await self._query(types.TEXT_DOCUMENT_TYPE_DEFINITION, params))

    async def hover(self, uri: str, position: types.Position) -> types.Hover | None:
        """The hover (signature, type, documentation) at `position`."""
        params = types.HoverParams(types.TextDocumentIdentifier(uri), position)
        return cast(types.Hover | None, await self._query(types.TEXT_DOCUMENT_HOVER, params))

    async def signature_help(
        self, uri: str, position: types.Position
    ) -> types.SignatureHelp | None:
        """Signatures of the call around `position`."""
        params = types.SignatureHelpParams(types.TextDocumentIdentifier(uri), position)
        result = await self._query(types.TEXT_DOCUMENT_SIGNATURE_HELP, params)
        return cast(types.SignatureHelp | None, result)

    async def document_symbols(
        self, uri: str
    ) -> list[types.DocumentSymbol] | list[types.SymbolInformation]:
        """The document's symbols (a tree of `DocumentSymbol` when the server supports it)."""
        params = types.DocumentSymbolParams(types.TextDocumentIdentifier(uri))
        return list(await self._query(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL, params) or [])

    async def workspace_symbols(
        self, query: str
    ) -> list[types.SymbolInformation] | list[types.WorkspaceSymbol]:
        """Symbols of the workspace matching `query`."""
        params = types.WorkspaceSymbolParams(query)
        return list(await self._query(types.WORKSPACE_SYMBOL, params) or [])

    async def references(
        self, uri: str, position: types.Position, *, include_declaration: bool = True
    ) -> list[types.Location]:
        """Places that refer to the symbol at `position`."""
        params = types.ReferenceParams(
            types.ReferenceContext(include_declaration),
            types.TextDocumentIdentifier(uri),
            position,
        )
        return list(await self._query(types.TEXT_DOCUMENT_REFERENCES, params) or [])

    def published_diagnostics(self, uri: str) -> list[types.Diagnostic]:
        """The diagnostics the server last pushed for `uri` (no request)."""
        return list(self._pushed.get(uri, []))

    def published_version(self, uri: str) -> int | None:
        """The document version the last pushed diagnostics of `uri` were for, when the
        server said (it may not)."""
        return self._pushed_versions.get(uri)

    async def diagnostics(self, uri: str) -> list[types.Diagnostic]:
        """Diagnostics of a document: pulled when the server supports it, else the last pushed."""
        if self.supports(types.TEXT_DOCUMENT_DIAGNOSTIC):
            params = types.DocumentDiagnosticParams(types.TextDocumentIdentifier(uri))
            report = await self._query(types.TEXT_DOCUMENT_DIAGNOSTIC, params)
            if isinstance(report, types.RelatedFullDocumentDiagnosticReport):
                return list(report.items)
        return self.published_diagnostics(uri)

    async def _query(self, method: str, params: object) -> Any:
        """A request the server may not offer: None (an empty result) without asking then."""
        if not self.supports(method):
            return None
        return await self._call(method, params)

    async def _call(self, method: str, params: object) -> Any:
        raw = await self.transport.request(
            method, _converter.unstructure(params), timeout=self.request_timeout
        )
        return self._structure(method, raw)

    def _structure(self, method: str, raw: Any) -> Any:
        """A raw `result` as the lsprotocol type the method answers with."""
        response_type: Any = types.METHOD_TO_TYPES[method][1]
        try:
            response = _converter.structure(
                {"jsonrpc": "2.0", "id": 0, "result": raw}, response_type
            )
        except Exception as error:
            raise UpstreamError(f"{self.name} answered {method} with an invalid result") from error
        return response.result

    def _notify(self, method: str, params: object) -> None:
        self.transport.notify(method, _converter.unstructure(params))

    async def _on_request(self, method: str, params: Any) -> Any:
        if method == types.CLIENT_REGISTER_CAPABILITY and isinstance(params, dict):
            for registration in params.get("registrations", []):
                self._registered[registration["id"]] = registration["method"]
        elif method == types.CLIENT_UNREGISTER_CAPABILITY and isinstance(params, dict):
            for registration in params.get("unregisterations", []):
                self._registered.pop(registration["id"], None)
        if self._server_request_hook is not None:
            return await self._server_request_hook(method, params)
        return self._answer_as_sidecar(method, params)

    def _answer_as_sidecar(self, method: str, params: Any) -> Any:
        if method == types.WORKSPACE_CONFIGURATION:
            items = params.get("items", []) if isinstance(params, dict) else []
            return [self._setting(item.get("section")) for item in items]
        if method == types.WORKSPACE_APPLY_EDIT:
            reason = "ai-lsp runs this server as a sidecar and does not apply its edits"
            return {"applied": False, "failureReason": reason}
        if method == types.WORKSPACE_WORKSPACE_FOLDERS:
            return _converter.unstructure(self.workspace_folders)
        if method == types.WINDOW_SHOW_DOCUMENT:
            return {"success": False}
        if method in _ACKNOWLEDGED:
            return None
        raise ResponseError(METHOD_NOT_FOUND, f"ai-lsp does not handle {method}")

    def _setting(self, section: Any) -> Any:
        """A section (`python.analysis`) of the configured settings, or None."""
        value: Any = self._settings
        for part in section.split(".") if isinstance(section, str) and section else ():
            value = value.get(part) if isinstance(value, dict) else None
        return value

    def _on_notification(self, method: str, params: Any) -> None:
        if method == types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS:
            published = _converter.structure(params, types.PublishDiagnosticsParams)
            self._pushed[published.uri] = list(published.diagnostics)
            self._pushed_versions[published.uri] = published.version
        elif method in (types.WINDOW_LOG_MESSAGE, types.WINDOW_SHOW_MESSAGE):
            log.debug("%s says: %s", self.name, params.get("message") if params else params)
        if self._notification_hook is not None:
            self._notification_hook(method, params)


def _folder(uri: str) -> types.WorkspaceFolder:
    """A workspace folder named after the last part of its path."""
    return types.WorkspaceFolder(uri, Path(uri).name or uri)


def _locations(result: Any) -> Definitions:
    """A definition-like result as a list (the protocol allows one, a list, or null)."""
    if result is None:
        return []
    if isinstance(result, types.Location):
        return [result]
    return list(result)
