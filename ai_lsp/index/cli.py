"""The `ai-lsp index` and `ai-lsp search` verbs (wired into `ai_lsp.cli` by `add_arguments`).

Progress and notices go to stderr; stdout carries only results (JSON with ``--json``).
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ai_lsp.config import Settings
    from ai_lsp.index.code_index import CodeIndex
    from ai_lsp.index.embedding import Embedder
    from ai_lsp.index.indexer import IndexReport
    from ai_lsp.index.search import Hit

__all__ = ["add_arguments", "find_workspace", "run_index", "run_search"]

WORKSPACE_MARKERS = (".git", ".hg", ".ai-lsp.toml")


def add_arguments(verbs: Any) -> None:
    """Add the ``index`` and ``search`` sub-commands to ``parser.add_subparsers()``."""
    index = verbs.add_parser("index", help="index the workspace (incremental; progress on stderr)")
    index.add_argument(
        "path", nargs="?", type=Path, help="folder or file to index (default: the workspace)"
    )
    index.add_argument("--workspace", type=Path, help="workspace root (default: found from PATH)")
    index.add_argument("--rebuild", action="store_true", help="forget the index and rebuild it")
    _full_text_option(index)
    search = verbs.add_parser("search", help="search the workspace index")
    search.add_argument("query", nargs="*", help="words, identifiers or code to search for")
    search.add_argument("--json", action="store_true", help="print a JSON list of hits")
    search.add_argument("--top-k", type=int, default=10, metavar="N", help="results (default 10)")
    search.add_argument("--exclude-file", metavar="F", help="leave this file out of the results")
    search.add_argument("--glob", metavar="GLOB", help="only paths matching this glob")
    search.add_argument("--language", help="only chunks of this language id (e.g. python)")
    search.add_argument(
        "--mode",
        choices=["auto", "text", "cursor"],
        default="auto",
        help="text: plain search; cursor: the query is code before a cursor (retrieval for "
        "completions); auto: cursor when the query has several lines",
    )
    search.add_argument("--workspace", type=Path, help="workspace root (default: the cwd's)")
    search.add_argument(
        "--queries", type=Path, metavar="FILE.jsonl", help="batch mode: one JSON query per line"
    )
    search.add_argument(
        "--output", type=Path, metavar="OUT.jsonl", help="batch mode output (default: stdout)"
    )
    _full_text_option(search)


def _full_text_option(parser: Any) -> None:
    parser.add_argument(
        "--full-text",
        action="store_true",
        help="use neither `index.embeddings` nor `index.rerank` even when they are configured",
    )


def find_workspace(given: Path | None, start: Path | None = None) -> Path:
    """``given``, else the nearest folder from ``start`` (or the cwd) up with a VCS or
    ai-lsp marker, else ``start`` itself."""
    if given is not None:
        return given.resolve()
    here = (start or Path.cwd()).resolve()
    if not here.is_dir():
        here = here.parent
    for folder in (here, *here.parents):
        if any((folder / marker).exists() for marker in WORKSPACE_MARKERS):
            return folder
    return here


def run_index(args: argparse.Namespace) -> int:
    """``ai-lsp index [PATH] [--workspace DIR] [--rebuild]``."""
    root = find_workspace(args.workspace, args.path)
    under = ""
    if args.path is not None and args.path.resolve() != root:
        under = args.path.resolve().relative_to(root).as_posix()
        under += "/" if args.path.is_dir() else ""
    index = _open(root, _settings(args, root), full_text=args.full_text)
    if index is None:
        return 1
    try:
        if index.indexer is None:
            _note(f"process {index.lock.holder()} is the writer of this index and keeps it current")
            return 1
        report = _with_progress(index, rebuild=args.rebuild, under=under)
        files, chunks = index.store.counts()
    finally:
        index.close()
    print(
        f"{root}: {report.files_indexed} files indexed, {report.chunks_written} chunks written, "
        f"{report.files_removed} removed, {report.files_skipped} skipped in {report.seconds:.1f} s; "
        f"the index holds {files} files and {chunks} chunks"
        + (" (cancelled)" if report.cancelled else "")
    )
    return 130 if report.cancelled else 0


def run_search(args: argparse.Namespace) -> int:
    """``ai-lsp search [--json] [--top-k N] QUERY`` and ``--queries FILE.jsonl``."""
    if args.queries is None and not args.query:
        _note("give a QUERY or --queries FILE.jsonl")
        return 2
    root = find_workspace(args.workspace)
    index = _open(root, _settings(args, root), full_text=args.full_text)
    if index is None:
        return 1
    try:
        if index.indexer is not None:
            if index.store.counts()[0] == 0:
                kind = "with embeddings" if index.searcher.embedder else "full-text only"
                _note(f"no index for {root} yet: building it ({kind})")
            _with_progress(index, rebuild=False, under="", quiet=True)
        else:
            _note(f"process {index.lock.holder()} is updating this index; results may lag")
        if args.queries is not None:
            return _batch(index, args)
        hits = _query(index, " ".join(args.query), args.top_k, args.exclude_file, args)
    finally:
        index.close()
    if args.json:
        print(json.dumps([hit.to_json() for hit in hits], ensure_ascii=False))
    else:
        for hit in hits:
            name = f"  {hit.symbol} ({hit.kind})" if hit.symbol else f"  ({hit.kind})"
            print(f"{hit.path}:{hit.start_line}-{hit.end_line}{name}  {hit.score:.3f}")
            for line in hit.text.splitlines()[:3]:
                print(f"    {line}")
    return 0


def _batch(index: CodeIndex, args: argparse.Namespace) -> int:
    bad = 0
    with ExitStack() as stack:
        out = (
            stack.enter_context(open(args.output, "w", encoding="utf-8"))
            if args.output
            else sys.stdout
        )
        for number, line in _lines(args.queries):
            try:
                item = json.loads(line)
                query, top_k = str(item["query"]), int(item.get("top_k") or args.top_k)
                exclude = item.get("file") or None
            except (ValueError, KeyError, TypeError, AttributeError) as error:
                _note(f"{args.queries}:{number}: skipped ({error})")
                bad += 1
                continue
            hits = _query(index, query, top_k, exclude, args)
            result = {"id": item.get("id"), "results": [hit.to_json() for hit in hits]}
            out.write(json.dumps(result, ensure_ascii=False) + "\n")
    return 1 if bad else 0


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                yield number, line


def _query(
    index: CodeIndex, query: str, top_k: int, exclude: str | None, args: argparse.Namespace
) -> list[Hit]:
    cursor = args.mode == "cursor" or (args.mode == "auto" and "\n" in query.strip())
    if cursor:
        return index.searcher.retrieve_for_cursor(
            query, current_path=exclude, top_k=top_k, budget_ms=float("inf")
        )
    return index.searcher.search(
        query, top_k=top_k, exclude_path=exclude, path_glob=args.glob, language=args.language
    )


def _open(root: Path, settings: Settings, *, full_text: bool) -> CodeIndex | None:
    """The workspace's index, or None (with a note) when it cannot be opened; with the
    configured embedding model and reranker unless `full_text`."""
    from ai_lsp.index.code_index import CodeIndex
    from ai_lsp.index.lock import WriterLock
    from ai_lsp.index.rerank import endpoint_reranker
    from ai_lsp.index.store import IndexCorrupt, index_folder

    embedder = None if full_text else _embedder(settings)
    rerank = None if full_text else endpoint_reranker(settings, _notices())
    try:
        return CodeIndex.open(root, settings.index, embedder=embedder, rerank=rerank)
    except IndexCorrupt as error:
        if embedder is not None:
            embedder.close()
        holder = WriterLock(index_folder(root)).holder()
        _note(f"{error}; process {holder} is writing it: try again when it is done")
        return None


def _embedder(settings: Settings) -> Embedder | None:
    """The `index.embeddings` model behind the same registry, budget and ledger the server
    uses, on a private event loop (the CLI has none)."""
    if settings.index.embeddings is None:
        return None
    from ai_lsp import paths
    from ai_lsp.index.embedding import Embedder
    from ai_lsp.prompting.tokens import count_for_model
    from ai_lsp.providers.ledger import Ledger
    from ai_lsp.providers.registry import ProviderRegistry

    notices = _notices()
    ledger = Ledger(paths.state_dir() / "ledger.sqlite3", settings.budget, notices=notices)
    registry = ProviderRegistry(
        settings, ledger=ledger, notices=notices, token_counter=count_for_model
    )
    if not registry.configured("embeddings"):
        _note(f"index.embeddings = {settings.index.embeddings!r} names no configured model")
        return None
    return Embedder(registry.embed, settings.index.embeddings, closing=registry.aclose)


def _settings(args: argparse.Namespace, root: Path) -> Settings:
    from ai_lsp.config_manager import ConfigManager

    manager = ConfigManager(_notices(), getattr(args, "config", None))
    manager.set_root(root)
    return manager.reload().settings


def _notices() -> Any:
    from ai_lsp.notices import Notices

    return Notices(lambda level, message: _note(message))


def _with_progress(
    index: CodeIndex, *, rebuild: bool, under: str, quiet: bool = False
) -> IndexReport:
    """Run the indexer in a thread with a progress bar on stderr; Ctrl-C cancels cleanly."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    indexer = index.indexer
    assert indexer is not None
    cancel = threading.Event()
    results: list[IndexReport] = []
    errors: list[BaseException] = []
    progress = Progress(
        TextColumn("indexing"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.description}", style="dim"),
        console=Console(stderr=True),
        transient=True,
        disable=quiet and not sys.stderr.isatty(),
    )
    task = progress.add_task("", total=None)

    def update(done: int, total: int, message: str) -> None:
        progress.update(task, completed=done, total=total, description=message[-60:])

    def work() -> None:
        try:
            run = indexer.rebuild if rebuild else indexer.reconcile
            kwargs: dict[str, Any] = {} if rebuild else {"under": under}
            results.append(run(on_progress=update, cancel=cancel, **kwargs))
        except BaseException as error:  # re-raised in the main thread
            errors.append(error)

    thread = threading.Thread(target=work, name="ai-lsp-index", daemon=True)
    with progress:
        thread.start()
        while thread.is_alive():
            try:
                thread.join(0.2)
            except KeyboardInterrupt:
                _note("cancelling: finishing the current batch")
                cancel.set()
    if errors:
        raise errors[0]
    return results[0]


def _note(message: str) -> None:
    print(f"ai-lsp: {message}", file=sys.stderr)
