"""initialize / initialized / shutdown and configuration changes."""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path

from lsprotocol import types
from pygls.uris import to_fs_path

from ai_lsp.handlers import index, upstream
from ai_lsp.server import AiLanguageServer

log = logging.getLogger(__name__)

CONFIG_WATCH_ID = "ai-lsp.config-files"
_GLOB_SPECIAL = frozenset("*?[]{},")
"""Characters with a meaning in LSP globs (eglot 1.9 also refuses a `,` outside braces)."""


def _root_of(params: types.InitializeParams) -> Path | None:
    uri = None
    if params.workspace_folders:
        uri = params.workspace_folders[0].uri
    elif params.root_uri:
        uri = params.root_uri
    elif params.root_path:
        return Path(params.root_path)
    path = to_fs_path(uri) if uri else None
    return Path(path) if path else None


def initialize(ls: AiLanguageServer, params: types.InitializeParams) -> None:
    """Read the workspace root and initializationOptions; build the configuration; set up
    the upstream servers the editor reaches through ai-lsp (proxy mode)."""
    ls.documents.encoding = ls.workspace.position_encoding or types.PositionEncodingKind.Utf16
    ls.config.set_root(_root_of(params))
    ls.config.set_init_options(params.initialization_options)
    ls.config.reload()
    upstream.exit_on_sigterm(ls)
    upstream.prepare_proxy(ls)


def _supports(ls: AiLanguageServer, dotted: str) -> bool:
    node: object = ls.client_capabilities
    for part in dotted.split("."):
        node = getattr(node, part, None)
        if node is None:
            return False
    return bool(node)


async def initialized(ls: AiLanguageServer, params: types.InitializedParams) -> None:
    """Connect user messages, warm the tokenizer, watch config files, pull client settings."""
    ls.notices.set_sink(ls.show)
    for problem in ls.config.loaded.problems:  # said before the client could listen
        ls.show("warning", str(problem))
    threading.Thread(target=_warm_tokenizer, name="tokenizer-warmup", daemon=True).start()
    ls.spawn(index.start_indexing(ls), "indexing")
    upstream.initialized(ls)
    if _supports(ls, "workspace.did_change_watched_files.dynamic_registration"):
        ls.spawn(_watch_files(ls), "watch-files")  # a slow client must not delay the settings
    if _supports(ls, "workspace.configuration"):
        await pull_client_settings(ls)


def _warm_tokenizer() -> None:
    from ai_lsp.prompting.tokens import warm_up

    warm_up()


async def _watch_files(ls: AiLanguageServer) -> None:
    """Ask the client for file events: config files (reload) and workspace files (index).

    A client may refuse (eglot 1.9 answers an error when it cannot list the project's files or
    add a watch): saves still reload the config and update the index (`did_save`).
    """
    relative = _supports(ls, "workspace.did_change_watched_files.relative_pattern_support")
    config = _config_watchers(ls, relative=relative)
    await _register(ls, CONFIG_WATCH_ID, config, "config files reload when saved in the editor")
    workspace = index.workspace_watchers(ls, relative=relative)
    await _register(ls, index.WATCH_ID, workspace, "the index follows saves only")


def _config_watchers(ls: AiLanguageServer, *, relative: bool) -> list[types.FileSystemWatcher]:
    names = (".ai-lsp.toml", "pyproject.toml")
    user = ls.config.user_path
    patterns: list[types.GlobPattern] = []
    if relative:
        if ls.root is not None:
            base = ls.root.as_uri()
            patterns += [types.RelativePattern(base_uri=base, pattern=name) for name in names]
        if user.parent.is_dir():  # clients may refuse to watch a folder that does not exist
            base = user.parent.as_uri()
            patterns.append(types.RelativePattern(base_uri=base, pattern=user.name))
    else:
        patterns += [f"**/{name}" for name in names]
        if not _GLOB_SPECIAL & set(user.as_posix()):  # such a path is no glob of itself
            patterns.append(user.as_posix())
    return [types.FileSystemWatcher(glob_pattern=pattern) for pattern in patterns]


async def _register(
    ls: AiLanguageServer,
    registration_id: str,
    watchers: list[types.FileSystemWatcher],
    fallback: str,
) -> None:
    if not watchers:
        return
    registration = types.Registration(
        id=registration_id,
        method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
        register_options=types.DidChangeWatchedFilesRegistrationOptions(watchers=watchers),
    )
    try:
        # Shielded: pygls 2.1 can break its loop if cancelled mid server-to-client request.
        await asyncio.shield(
            ls.client_register_capability_async(
                types.RegistrationParams(registrations=[registration])
            )
        )
    except Exception as exc:  # any refusal: saves are the fallback, nothing to tell the user
        log.debug(
            "the client refused to watch files for %s (%s); %s", registration_id, exc, fallback
        )


async def pull_client_settings(ls: AiLanguageServer) -> None:
    """Ask the client for section `aiLsp` (clients that push nothing answer null)."""
    params = types.ConfigurationParams(items=[types.ConfigurationItem(section="aiLsp")])
    try:
        result = await asyncio.shield(ls.workspace_configuration_async(params))
    except Exception as exc:
        log.info("workspace/configuration failed: %s", exc)
        return
    value = result[0] if result else None
    if isinstance(value, dict) and value:
        ls.config.set_client_settings(value)
        ls.config.reload()


async def did_change_configuration(
    ls: AiLanguageServer, params: types.DidChangeConfigurationParams
) -> None:
    """Apply pushed settings, or pull them when the client only signals a change."""
    settings = params.settings
    if isinstance(settings, dict) and settings:
        ls.config.set_client_settings(settings)
        ls.config.reload()
    elif _supports(ls, "workspace.configuration"):
        await pull_client_settings(ls)
    else:
        ls.config.reload()


def did_change_watched_files(
    ls: AiLanguageServer, params: types.DidChangeWatchedFilesParams
) -> None:
    """Reload the configuration when one of its files changed; update the index."""
    paths = (to_fs_path(change.uri) for change in params.changes)
    if any(p and ls.config.is_config_file(Path(p)) for p in paths):
        ls.config.reload()
    index.files_changed(ls, [change.uri for change in params.changes])


def did_save(ls: AiLanguageServer, params: types.DidSaveTextDocumentParams) -> None:
    """Reload a saved config file (clients without file watching); update the index."""
    path = to_fs_path(params.text_document.uri)
    if path and ls.config.is_config_file(Path(path)):
        ls.config.reload()
    index.files_changed(ls, [params.text_document.uri])


async def shutdown(ls: AiLanguageServer, params: None) -> None:
    """Stop background work and close network clients before exit."""
    await ls.aclose()
