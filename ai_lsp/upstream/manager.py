"""Upstream servers on demand: one per server and project root, started on first need,
restarted with backoff after a crash, with the open documents (and, for a server at the
workspace root, the editor's workspace folders) mirrored to it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import time
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.uris import to_fs_path

from ai_lsp.config import Settings, UpstreamConfig
from ai_lsp.index.ignore import WorkspaceFilter
from ai_lsp.index.languages import language_for_path
from ai_lsp.notices import Notices
from ai_lsp.upstream.client import DEFAULT_TIMEOUT, INITIALIZE_TIMEOUT, UpstreamClient
from ai_lsp.upstream.context import ContextCache
from ai_lsp.upstream.known import ResolvedServer, Which, project_root, resolve
from ai_lsp.upstream.slots import (
    Backoff,
    MirroredDocument,
    ProxyConnection,
    ProxyLink,
    Slot,
    UpstreamStatus,
    UpstreamUnavailable,
)
from ai_lsp.upstream.transport import UpstreamError, UpstreamStartFailed

__all__ = [
    "Backoff",
    "MirroredDocument",
    "ProxyConnection",
    "ProxyLink",
    "UpstreamManager",
    "UpstreamStatus",
    "UpstreamUnavailable",
]

log = logging.getLogger(__name__)


class UpstreamManager:
    """Runs the upstream servers ai-lsp needs and keeps them fed with the open documents."""

    def __init__(
        self,
        settings_getter: Callable[[], Settings],
        root: Path,
        notices: Notices,
        *,
        request_timeout: float = DEFAULT_TIMEOUT,
        initialize_timeout: float = INITIALIZE_TIMEOUT,
        shutdown_grace: float = 2.0,
        backoff: Backoff | None = None,
        which: Which = shutil.which,
        workspace_folders: Sequence[types.WorkspaceFolder] = (),
    ) -> None:
        self.root = Path(os.path.abspath(root))
        self.request_timeout = request_timeout
        self.initialize_timeout = initialize_timeout
        self.shutdown_grace = shutdown_grace
        self.backoff = backoff or Backoff()
        self.context = ContextCache(self)
        self._settings_getter = settings_getter
        self._notices = notices
        self._which = which
        self._files: WorkspaceFilter | None = None
        self._documents: dict[str, MirroredDocument] = {}
        self._attached: dict[str, Slot] = {}  # uri -> the slot its document is mirrored to
        self._slots: dict[tuple[str, Path], Slot] = {}
        self._resolved: dict[str, ResolvedServer | None] = {}
        self._roots: dict[tuple[str, tuple[str, ...]], Path] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False
        self._folders = list(workspace_folders)
        self.proxy: ProxyLink | None = None
        """Set by a proxy before any server starts: its servers are run connected to it."""

    @property
    def files(self) -> WorkspaceFilter:
        """Which files' text may be sent to a model (the index's rules)."""
        if self._files is None:
            max_bytes = self._settings_getter().index.max_file_bytes
            self._files = WorkspaceFilter(self.root, max_file_bytes=max_bytes)
        return self._files

    def open(self, uri: str, language_id: str, version: int, text: str) -> None:
        """A document was opened: mirror it, starting its language's server if needed."""
        self._documents[uri] = MirroredDocument(uri, language_id, version, text)
        self._attach(uri)

    def change(self, uri: str, version: int, text: str) -> None:
        """A document changed to `text`: forward it and schedule a context prefetch."""
        document = self._documents.get(uri)
        if document is None:
            return
        old, document.version, document.text = document.text, version, text
        slot = self._attached.get(uri)
        if slot is None:
            return
        if slot.client is not None:
            self._forward(slot.client, lambda c: c.did_change(uri, version, text))
        self.context.edited(uri, document.language_id, old, text)

    def close(self, uri: str) -> None:
        """A document was closed."""
        self._documents.pop(uri, None)
        self.context.forget(uri)
        slot = self._attached.pop(uri, None)
        if slot is not None and slot.client is not None:
            self._forward(slot.client, lambda c: c.did_close(uri))

    def folders_changed(
        self, added: Sequence[types.WorkspaceFolder], removed: Sequence[types.WorkspaceFolder]
    ) -> None:
        """The editor's workspace folders changed: tell the running servers at the workspace
        root (servers started later get the new folders in `initialize`)."""
        gone = {folder.uri for folder in removed}
        kept = [folder for folder in self._folders if folder.uri not in gone]
        known = {folder.uri for folder in kept}
        self._folders = kept + [folder for folder in added if folder.uri not in known]
        for slot in self._slots.values():
            if slot.root == self.root and slot.client is not None:
                self._forward(slot.client, lambda c: self._sync_folders(c, self.root))

    def config_for(self, language: str) -> UpstreamConfig:
        """The effective settings of `language`'s server now."""
        return self._settings_getter().upstream_for(language)

    def document_text(self, uri: str) -> str | None:
        """The mirrored text of an open document."""
        document = self._documents.get(uri)
        return None if document is None else document.text

    async def client_for(self, uri: str, language_id: str | None = None) -> UpstreamClient:
        """The running server for `uri`, started (or its restart awaited) if needed.

        Raises `UpstreamUnavailable` when there is none, or an `UpstreamError` from starting it.
        """
        if self._closed:
            raise UpstreamUnavailable("ai-lsp is shutting down")
        slot = self._attached.get(uri)
        if slot is None:
            document = self._documents.get(uri)
            language = language_id or (document.language_id if document else _guess_language(uri))
            slot = self._slot_for(uri, language) if language else None
            if slot is None:
                raise UpstreamUnavailable(self._none_for(language or uri))
        return await self._running(slot)

    async def client_for_language(self, language: str) -> UpstreamClient:
        """The running server of `language` for the workspace root (a proxy's server).

        Raises like `client_for`.
        """
        if self._closed:
            raise UpstreamUnavailable("ai-lsp is shutting down")
        slot = self._slot_for(self.root.as_uri(), language)
        if slot is None:
            raise UpstreamUnavailable(self._none_for(language))
        return await self._running(slot)

    def running_client(self, language: str) -> UpstreamClient | None:
        """The server of `language` for the workspace root if it is running now (never starts one)."""
        server = self._resolve(language)
        slot = self._slots.get((server.key, self.root)) if server is not None else None
        return slot.client if slot is not None else None

    def published_diagnostics(self, uri: str) -> list[types.Diagnostic]:
        """What the running sidecar server of an open document last published for it (ranges
        in that server's encoding; empty when none runs: this never starts one). Diagnostics
        the server marked as being for an older version of the document are left out: their
        lines may have moved."""
        slot = self._attached.get(uri)
        client = slot.client if slot is not None else None
        if client is None:
            return []
        version = client.published_version(uri)
        document = self._documents.get(uri)
        if version is not None and document is not None and version != document.version:
            return []
        return client.published_diagnostics(uri)

    def language_of(self, uri: str) -> str | None:
        """The language of an open document, else guessed from the file name."""
        document = self._documents.get(uri)
        return document.language_id if document is not None else _guess_language(uri)

    async def _running(self, slot: Slot) -> UpstreamClient:
        if slot.failure is not None:
            raise UpstreamUnavailable(slot.failure)
        if slot.client is not None:
            return slot.client
        starting = self._start_soon(slot)
        await asyncio.wait([starting])  # a caller giving up must not cancel the start
        if starting.cancelled():
            raise UpstreamUnavailable(f"the {slot.label} was stopped")
        return starting.result()

    def update(self, settings: Settings) -> None:
        """New settings: stop servers whose resolution changed (or that gave up), restart as needed."""
        self._resolved.clear()
        self._files = None
        for key, slot in list(self._slots.items()):
            changed = any(self._resolve(lang, settings) != slot.server for lang in slot.languages)
            if changed or slot.failure is not None:
                del self._slots[key]
                self._stop(slot)
        for uri in list(self._documents):
            if uri not in self._attached:
                self._attach(uri)

    def status(self) -> list[UpstreamStatus]:
        """The servers started so far, with their state."""
        return [
            UpstreamStatus(
                name=slot.server.name,
                languages=tuple(sorted(slot.languages)),
                root=slot.root,
                state="failed" if slot.failure else "running" if slot.client else "starting",
                pid=slot.client.transport.pid if slot.client else None,
                recent_crashes=len(slot.crashes),
                error=slot.failure,
            )
            for slot in self._slots.values()
        ]

    async def aclose(self) -> None:
        """Stop every server and background task; nothing starts afterwards."""
        self._closed = True
        await self.context.aclose()
        slots = list(self._slots.values())
        self._slots.clear()
        self._attached.clear()
        for slot in slots:
            if slot.starting is not None:
                slot.starting.cancel()
        clients = [slot.client for slot in slots if slot.client is not None]
        for slot in slots:
            slot.client = None
        await asyncio.gather(
            *(client.aclose(self.shutdown_grace) for client in clients), return_exceptions=True
        )
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _resolve(self, language: str, settings: Settings | None = None) -> ResolvedServer | None:
        if language not in self._resolved:
            found = resolve(language, settings or self._settings_getter(), which=self._which)
            if found is None:
                log.info("%s", self._none_for(language, settings))
            self._resolved[language] = found
        return self._resolved[language]

    def _none_for(self, language: str, settings: Settings | None = None) -> str:
        """Why `language` (or a document with no known language) has no server."""
        config = (settings or self._settings_getter()).upstream_for(language)
        if not config.enabled:
            return (
                f"the {language} language server is turned off "
                f'(`enabled = false` in `[upstream.{language}]` or `[upstream."*"]`)'
            )
        return f"no upstream language server installed or configured for {language}"

    def _folders_for(self, root: Path) -> list[types.WorkspaceFolder]:
        """The workspace folders of a server: the editor's for one at the workspace root (its
        root first), else its own project root alone."""
        own = types.WorkspaceFolder(root.as_uri(), root.name)
        if root != self.root:
            return [own]
        if any(_path_of(folder.uri) == root for folder in self._folders):
            return list(self._folders)
        return [own, *self._folders]

    def _sync_folders(self, client: UpstreamClient, root: Path) -> None:
        """Tell `client` how its folders differ from those it was last told."""
        wanted = self._folders_for(root)
        told = {folder.uri for folder in client.workspace_folders}
        added = [folder for folder in wanted if folder.uri not in told]
        wanted_uris = {folder.uri for folder in wanted}
        removed = [folder for folder in client.workspace_folders if folder.uri not in wanted_uris]
        if added or removed:
            client.did_change_workspace_folders(added, removed)

    def _slot_for(self, uri: str, language: str) -> Slot | None:
        server = self._resolve(language)
        if server is None:
            return None
        # A proxy's server answers for the editor's whole workspace, as the editor expects.
        root = self.root if server.mode == "proxy" else self._root_for(uri, server.root_markers)
        slot = self._slots.get((server.key, root))
        if slot is None:
            slot = self._slots[(server.key, root)] = Slot(server, root)
        slot.languages.add(language)
        return slot

    def _root_for(self, uri: str, markers: tuple[str, ...]) -> Path:
        path = to_fs_path(uri) if uri.startswith("file:") else None
        if path is None or not markers:
            return self.root
        folder = os.path.dirname(path)
        key = (folder, markers)
        if key not in self._roots:
            self._roots[key] = project_root(Path(path), markers, self.root)
        return self._roots[key]

    def _attach(self, uri: str) -> None:
        document = self._documents[uri]
        slot = self._slot_for(uri, document.language_id)
        if slot is None:
            return
        self._attached[uri] = slot
        if slot.client is not None:
            self._forward(
                slot.client,
                lambda c: c.did_open(uri, document.language_id, document.version, document.text),
            )
        elif slot.failure is None and not self._closed:
            self._start_soon(slot)

    def _forward(self, client: UpstreamClient, send: Callable[[UpstreamClient], None]) -> None:
        try:
            send(client)
        except UpstreamError as error:  # it crashed: the restart re-opens the documents
            log.debug("not forwarded to %s: %s", client.name, error)

    def _start_soon(self, slot: Slot, delay: float = 0.0) -> asyncio.Task[UpstreamClient]:
        if slot.starting is None or slot.starting.done():
            slot.starting = self._spawn(self._start(slot, delay))
            slot.starting.add_done_callback(lambda task: self._started(slot, task))
        return slot.starting

    async def _start(self, slot: Slot, delay: float) -> UpstreamClient:
        await asyncio.sleep(delay)
        proxied = self.proxy.connect(slot.server) if self.proxy is not None else None
        client = await UpstreamClient.start(
            slot.server.command,
            cwd=slot.root,
            name=slot.server.name,
            settings=slot.server.initialization_options,
            request_timeout=self.request_timeout,
            initialize_timeout=self.initialize_timeout,
            on_server_request=proxied.on_server_request if proxied else None,
            on_notification=proxied.on_notification if proxied else None,
        )
        try:
            await client.initialize(
                slot.root.as_uri(),
                slot.server.initialization_options,
                proxied.capabilities if proxied else None,
                self._folders_for(slot.root),
            )
        except BaseException:
            client.transport.kill(f"{client.name} failed to initialize")
            await client.transport.wait_closed()  # its pipes are closed before `aclose` returns
            raise
        self._sync_folders(client, slot.root)  # folders changed while it initialized
        for uri, attached in self._attached.items():
            if attached is slot:
                document = self._documents[uri]
                client.did_open(uri, document.language_id, document.version, document.text)
        slot.client = client
        self._spawn(self._supervise(slot, client, proxied))
        log.info("started %s (pid %d) in %s", slot.label, client.transport.pid, slot.root)
        return client

    def _started(self, slot: Slot, task: asyncio.Task[UpstreamClient]) -> None:
        if task.cancelled():
            return
        error = task.exception()
        if isinstance(error, UpstreamStartFailed):
            self._give_up(slot, f"Cannot start the {slot.label}: {error}")
        elif error is not None:
            self._crashed(slot, str(error))

    async def _supervise(
        self, slot: Slot, client: UpstreamClient, proxied: ProxyConnection | None
    ) -> None:
        await client.transport.wait_closed()
        if proxied is not None:
            proxied.stopped(client)
        if slot.client is client:
            slot.client = None
            if client.transport.crashed:
                self._crashed(slot, str(client.transport.failure))

    def _crashed(self, slot: Slot, reason: str) -> None:
        if self._slots.get((slot.server.key, slot.root)) is not slot:
            return  # stopped meanwhile
        now = time.monotonic()
        slot.crashes.append(now)
        while slot.crashes and slot.crashes[0] < now - self.backoff.window_s:
            slot.crashes.popleft()
        count = len(slot.crashes)
        if count >= self.backoff.max_crashes:
            self._give_up(
                slot,
                f"The {slot.label} crashed {count} times in {self.backoff.window_s:.0f} s; "
                f"ai-lsp stopped restarting it (last error: {reason}).",
            )
            return
        delay = self.backoff.delay(count)
        log.warning("%s stopped (%s); restarting in %.1f s", slot.label, reason, delay)
        self._notices.once(
            slot.notice_key("crashed"),
            "warning",
            f"The {slot.label} stopped ({reason}); ai-lsp restarts it in {delay:g} s.",
        )
        self._start_soon(slot, delay)

    def _give_up(self, slot: Slot, message: str) -> None:
        slot.failure = message
        language = sorted(slot.languages)[0] if slot.languages else "<language>"
        self._notices.once(
            slot.notice_key("failed"),
            "error",
            f"{message} Install or fix it, or set `[upstream.{language}] command`; "
            "changing the settings retries.",
        )

    def _stop(self, slot: Slot) -> None:
        for uri in [uri for uri, attached in self._attached.items() if attached is slot]:
            del self._attached[uri]
        if slot.starting is not None:
            slot.starting.cancel()
        if slot.client is not None:
            self._spawn(slot.client.aclose(self.shutdown_grace))
            slot.client = None
        self._notices.clear(slot.notice_key("crashed"))
        self._notices.clear(slot.notice_key("failed"))

    def _spawn(self, coroutine: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            log.debug("upstream task ended with %r", error)  # start errors: see `_started`


def _path_of(uri: str) -> Path | None:
    path = to_fs_path(uri) if uri.startswith("file:") else None
    return Path(os.path.abspath(path)) if path else None


def _guess_language(uri: str) -> str | None:
    path = to_fs_path(uri) if uri.startswith("file:") else None
    return language_for_path(path) if path else None
