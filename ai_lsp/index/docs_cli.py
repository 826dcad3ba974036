"""`ai-lsp docs add|list|remove`: manage the documentation sources of a workspace."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ai_lsp.index.docs_types import DocsLimits

if TYPE_CHECKING:
    from ai_lsp.index.docs import Progress, SourceStatus, SqliteDocsStore

__all__ = ["add_arguments", "run_docs"]

_DEFAULTS = DocsLimits()


def add_arguments(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``docs`` verb and its ``add``, ``list`` and ``remove`` sub-verbs."""
    docs = subparsers.add_parser("docs", help="manage documentation sources (websites, folders)")
    verbs = docs.add_subparsers(dest="docs_verb", required=True, metavar="add|list|remove")
    add = verbs.add_parser(
        "add",
        help="fetch a website (llms.txt, sitemap or crawl) or read a folder of docs",
    )
    add.add_argument("source", metavar="URL|PATH", help="an http(s) URL or a local folder")
    add.add_argument("--name", help="source name (default: host and path, or folder name)")
    add.add_argument(
        "--allow-host",
        dest="allow_hosts",
        action="append",
        default=[],
        metavar="HOST",
        help="allow this host even if it is loopback, private or link-local (repeatable)",
    )
    add.add_argument(
        "--max-pages",
        type=int,
        default=_DEFAULTS.max_pages,
        metavar="N",
        help=f"stop after N pages (default {_DEFAULTS.max_pages})",
    )
    add.add_argument(
        "--max-depth",
        type=int,
        default=_DEFAULTS.max_depth,
        metavar="N",
        help=f"crawl at most N links away from the URL (default {_DEFAULTS.max_depth})",
    )
    add.add_argument(
        "--max-seconds",
        type=float,
        default=_DEFAULTS.max_seconds,
        metavar="S",
        help=f"stop fetching after S seconds (default {_DEFAULTS.max_seconds:g})",
    )
    add.add_argument("--json", action="store_true", help="print the status as JSON")
    listing = verbs.add_parser("list", help="each source with its pages, skips and errors")
    listing.add_argument("--json", action="store_true", help="print JSON")
    remove = verbs.add_parser("remove", help="forget a source and its pages")
    remove.add_argument("name", metavar="NAME")
    for parser in (add, listing, remove):
        parser.add_argument(
            "--workspace",
            type=Path,
            metavar="DIR",
            help="workspace root (default: the current directory's)",
        )


def run_docs(args: argparse.Namespace, *, workspace: Path, state_dir: Path) -> int:
    """Run ``ai-lsp docs <verb>`` on the store of ``workspace`` under ``state_dir``."""
    from ai_lsp.index.docs import SqliteDocsStore, docs_store_path, list_sources, remove_source

    store = SqliteDocsStore(docs_store_path(workspace, state_dir))
    if args.docs_verb == "add":
        return asyncio.run(_add(args, store))
    if args.docs_verb == "list":
        statuses = asyncio.run(list_sources(store))
        if args.json:
            print(json.dumps([status.to_json() for status in statuses], indent=2))
            return 0
        if not statuses:
            print("no documentation sources; add one with: ai-lsp docs add URL|PATH")
        for status in statuses:
            _print_status(status)
        return 0
    if asyncio.run(remove_source(store, args.name)):
        print(f"removed {args.name}")
        return 0
    print(f"no documentation source named {args.name!r} (see: ai-lsp docs list)", file=sys.stderr)
    return 1


async def _add(args: argparse.Namespace, store: SqliteDocsStore) -> int:
    from ai_lsp.index.docs import DocsError, add_source

    limits = DocsLimits(
        max_pages=args.max_pages, max_depth=args.max_depth, max_seconds=args.max_seconds
    )
    interactive = sys.stderr.isatty()

    def show(progress: Progress) -> None:
        line = f"[{progress.pages}/{progress.max_pages}] {progress.message}"
        if interactive:
            print(f"\r\x1b[K{line[:120]}", end="", file=sys.stderr, flush=True)

    try:
        status = await add_source(
            args.source,
            name=args.name,
            allow_hosts=args.allow_hosts,
            sink=store,
            on_progress=show,
            limits=limits,
        )
    except DocsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        if interactive:
            print("\r\x1b[K", end="", file=sys.stderr, flush=True)
    if args.json:
        print(json.dumps(status.to_json(), indent=2))
    else:
        _print_status(status)
    return 0 if status.pages else 1


def _print_status(status: SourceStatus) -> None:
    print(f"{status.name}  {status.location}")
    print(f"  fetched {status.fetched_at}: {status.summary()}")
    for error in status.errors:
        print(f"  error {error.url}: {error.reason}")
    if status.error_count > len(status.errors):
        print(f"  ... and {status.error_count - len(status.errors)} more errors")
