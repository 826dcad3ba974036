"""Documentation sources (a website or a local folder): add, list and remove them.

The same coroutines serve the CLI (`ai-lsp docs ...`) and the `ai-lsp.docs.*` commands.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from ai_lsp.index.docs_fetch import FetchProblem, SafeFetcher
from ai_lsp.index.docs_site import Site, directory_of
from ai_lsp.index.docs_store import DocHit, SqliteDocsStore, docs_store_path
from ai_lsp.index.docs_text import markdown_title, rst_to_markdown, sections_of
from ai_lsp.index.docs_types import (
    DocPage,
    DocSection,
    DocsLimits,
    Harvest,
    Progress,
    ProgressCallback,
    SourceError,
    SourceStatus,
)
from ai_lsp.index.docs_web import ingest_site
from ai_lsp.index.ignore import BINARY, TOO_LARGE, FileRejected, WorkspaceFilter

__all__ = [
    "DEFAULT_LIMITS",
    "FOLDER_SUFFIXES",
    "DocHit",
    "DocPage",
    "DocSection",
    "DocsError",
    "DocsLimits",
    "DocsSink",
    "Progress",
    "SourceError",
    "SourceStatus",
    "SqliteDocsStore",
    "add_source",
    "default_name",
    "docs_store_path",
    "list_sources",
    "remove_source",
    "sections_of",
]

FOLDER_SUFFIXES = frozenset({".md", ".mdx", ".markdown", ".rst", ".txt"})
DEFAULT_LIMITS = DocsLimits()
MAX_NAME = 100
UNREADABLE = frozenset({BINARY, "not utf-8"})


class DocsSink(Protocol):
    """Where ingested sources go (the SQLite store now, the LanceDB ``docs`` table later)."""

    def replace_source(
        self, source: str, pages: Sequence[DocPage], status: SourceStatus
    ) -> None: ...

    def remove_source(self, source: str) -> bool: ...

    def list_sources(self) -> list[SourceStatus]: ...


class DocsError(Exception):
    """A source that cannot be added as given; the message says what to do."""


def default_name(spec: str) -> str:
    """``docs.example.com/guide`` for a URL (host and directory), the folder name for a path."""
    if "://" in spec:
        parts = urlsplit(spec)
        host = (parts.hostname or "").removeprefix("www.")
        return (host + directory_of(parts.path)).rstrip("/")
    return Path(spec).expanduser().resolve().name


async def add_source(
    spec: str,
    *,
    name: str | None = None,
    allow_hosts: Iterable[str] = (),
    sink: DocsSink,
    on_progress: ProgressCallback | None = None,
    limits: DocsLimits = DEFAULT_LIMITS,
) -> SourceStatus:
    """Ingest ``spec`` (an http(s) URL or a folder) as source ``name`` and store its pages.

    Problems with single pages end up in the returned status; a source that cannot be
    used at all (bad name, missing folder, refused address) raises `DocsError`.
    """
    name = _checked_name(name or default_name(spec))
    if "://" in spec or spec.startswith("file:"):
        harvest = Harvest(name, "crawl", limits, on_progress)
        await _ingest_url(spec, harvest, allow_hosts)
        location = spec
    else:
        harvest = Harvest(name, "folder", limits, on_progress)
        location = await asyncio.to_thread(_read_folder, spec, harvest)
    status = harvest.status(location)
    await asyncio.to_thread(sink.replace_source, name, harvest.pages, status)
    return status


async def list_sources(sink: DocsSink) -> list[SourceStatus]:
    """Status of every source, by name."""
    return await asyncio.to_thread(sink.list_sources)


async def remove_source(sink: DocsSink, name: str) -> bool:
    """Forget a source and its pages; False when no source has that name."""
    return await asyncio.to_thread(sink.remove_source, name)


def _checked_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > MAX_NAME or re.search(r"[\x00-\x1f\x7f]", name):
        raise DocsError(f"invalid source name {name!r}: use 1 to {MAX_NAME} printable characters")
    return name


async def _ingest_url(url: str, harvest: Harvest, allow_hosts: Iterable[str]) -> None:
    limits = harvest.limits
    async with SafeFetcher(
        allow_hosts=allow_hosts,
        connect_timeout=limits.connect_timeout,
        read_timeout=limits.read_timeout,
    ) as fetcher:
        try:
            await fetcher.check_url(url)
        except FetchProblem as problem:
            raise DocsError(f"{url}: {problem.reason}") from None
        try:
            async with asyncio.timeout(harvest.seconds_left()):
                await ingest_site(Site(fetcher, harvest), url)
        except TimeoutError:
            harvest.stopped_by = "time limit"


def _read_folder(spec: str, harvest: Harvest) -> str:
    """Read markdown, reStructuredText and text files under the folder ``spec`` within the
    limits, honouring ignore files, the secret denylist, hidden and dependency folders.
    Returns the folder's absolute path.
    """
    folder = Path(spec).expanduser().resolve()
    if not folder.is_dir():
        raise DocsError(f"{spec}: no such folder (for a website give its http(s) URL)")
    rules = WorkspaceFilter(folder, max_file_bytes=harvest.limits.max_bytes)
    for scanned in rules.scan():
        suffix = scanned.path.suffix.lower()
        if suffix not in FOLDER_SUFFIXES or any(p.startswith(".") for p in scanned.rel.split("/")):
            continue
        if not harvest.has_room():
            break
        if scanned.size > harvest.limits.max_page_bytes:
            harvest.skipped["size"] += 1
            continue
        try:
            text = rules.read_text(scanned.path)
        except FileRejected as rejected:
            reason = rejected.reason
            kind = "size" if reason == TOO_LARGE else "type" if reason in UNREADABLE else "error"
            harvest.skip(scanned.rel, kind, reason)
            continue
        if suffix == ".rst":
            text = rst_to_markdown(text)
        title = markdown_title(text, scanned.path.stem)
        harvest.add(scanned.path.as_uri(), title, text, scanned.size)
    return str(folder)
