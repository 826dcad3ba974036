"""The workspace index over LSP: background indexing, file events, `ai-lsp.index.*` and
`ai-lsp.docs.*` commands."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.uris import to_fs_path

from ai_lsp.handlers.arguments import command_argument
from ai_lsp.handlers.completion import completions
from ai_lsp.handlers.progress import work_done
from ai_lsp.index.context_provider import IndexContextProvider
from ai_lsp.server import AiLanguageServer

WATCH_ID = "ai-lsp.workspace-files"


async def start_indexing(ls: AiLanguageServer) -> None:
    """Open the index and bring it up to date, with progress; called after `initialized`."""
    from ai_lsp.index.service import IndexService

    if ls.root is None or not ls.config.settings.index.enabled:
        return
    embed = ls.providers.embed if ls.providers.configured("embeddings") else None
    ls.index = IndexService(ls.root, lambda: ls.config.settings, ls.notices, embed=embed)
    service = ls.index
    completions(ls).add_context_provider(IndexContextProvider(lambda: service.searcher))
    async with work_done(ls, "ai-lsp: indexing") as (report, cancel):
        await ls.index.start(report, cancel)


def workspace_watchers(ls: AiLanguageServer, *, relative: bool) -> list[types.FileSystemWatcher]:
    """What the index needs to hear about: every file of the workspace root (nothing without
    an index). `relative`: the client takes patterns relative to a folder, so only the root
    is watched; otherwise the glob applies to every workspace folder."""
    if ls.root is None or not ls.config.settings.index.enabled:
        return []
    pattern: types.GlobPattern = "**/*"
    if relative:
        pattern = types.RelativePattern(base_uri=ls.root.as_uri(), pattern="**/*")
    return [types.FileSystemWatcher(glob_pattern=pattern)]


def files_changed(ls: AiLanguageServer, uris: list[str]) -> None:
    """Queue index updates for changed files (saves and watched-file events)."""
    if ls.index is None:
        return
    paths = [Path(p) for p in (to_fs_path(uri) for uri in uris) if p]
    ls.index.changed(paths)


async def index_status(ls: AiLanguageServer, *args: Any) -> dict[str, Any]:
    """`ai-lsp.index.status`: state, location, backend, files and chunks."""
    if ls.index is None:
        return {
            "root": str(ls.root) if ls.root else None,
            "state": "off (no workspace or index.enabled = false)",
        }
    return await ls.index.status()


async def index_rebuild(ls: AiLanguageServer, *args: Any) -> dict[str, Any]:
    """`ai-lsp.index.rebuild`: index every file again, with cancellable progress."""
    if ls.index is None:
        return {"error": "no index: open a workspace folder and keep index.enabled = true"}
    async with work_done(ls, "ai-lsp: rebuilding the index") as (report, cancel):
        try:
            return await ls.index.rebuild(report, cancel)
        except RuntimeError as exc:
            return {"error": str(exc)}


async def docs_add(ls: AiLanguageServer, *args: Any) -> dict[str, Any]:
    """`ai-lsp.docs.add {source, name?, allowHosts?}`: fetch a site or read a folder."""
    from ai_lsp.index.docs import DocsError, add_source

    arg = command_argument(args)
    source = arg.get("source")
    if not isinstance(source, str) or not source:
        return {"error": "ai-lsp.docs.add needs {source: URL or folder}"}
    hosts = arg.get("allowHosts") or arg.get("allow_hosts") or []
    async with work_done(ls, f"ai-lsp: adding docs {source}") as (report, _cancel):

        def progress(p: Any) -> None:
            report(p.pages, p.max_pages, p.message)

        try:
            status = await add_source(
                source,
                name=arg.get("name"),
                allow_hosts=hosts,
                sink=_docs_store(ls),
                on_progress=progress,
            )
        except DocsError as exc:
            return {"error": str(exc)}
    return status.to_json()


async def docs_list(ls: AiLanguageServer, *args: Any) -> list[dict[str, Any]]:
    """`ai-lsp.docs.list`: every documentation source with its status."""
    from ai_lsp.index.docs import list_sources

    return [s.to_json() for s in await list_sources(_docs_store(ls))]


async def docs_remove(ls: AiLanguageServer, *args: Any) -> dict[str, Any]:
    """`ai-lsp.docs.remove {name}`."""
    from ai_lsp.index.docs import remove_source

    arg = command_argument(args)
    name = arg.get("name") or arg.get("source")
    if not isinstance(name, str):
        return {"error": "ai-lsp.docs.remove needs {name}"}
    return {"removed": await remove_source(_docs_store(ls), name)}


def _docs_store(ls: AiLanguageServer) -> Any:
    from ai_lsp import paths
    from ai_lsp.index.docs import SqliteDocsStore, docs_store_path

    return SqliteDocsStore(docs_store_path(ls.root or Path.cwd(), paths.state_dir()))
