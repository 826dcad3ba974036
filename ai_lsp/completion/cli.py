"""`ai-lsp complete FILE:LINE:COL [--json] [--workspace DIR]`: the server's completion pipeline
run once, with the workspace's configuration. LINE and COL are 1-based; COL counts characters.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ai_lsp.config import Settings
    from ai_lsp.index.code_index import CodeIndex

__all__ = ["add_arguments", "parse_location", "run_complete"]


def add_arguments(verbs: Any) -> None:
    """Add the `complete` sub-command to `parser.add_subparsers()`."""
    complete = verbs.add_parser(
        "complete", help="complete at FILE:LINE:COL once, as the server would, and print it"
    )
    complete.add_argument("location", metavar="FILE:LINE:COL", help="1-based line and column")
    complete.add_argument(
        "--json",
        action="store_true",
        help="print {suggestions, context: [{section, tokens}], timings_ms}",
    )
    complete.add_argument("--workspace", type=Path, help="workspace root (default: the file's)")


def parse_location(value: str) -> tuple[Path, int, int]:
    """`(file, line, column)`, 1-based, from `FILE:LINE:COL`."""
    parts = value.rsplit(":", 2)
    if len(parts) != 3 or not parts[0] or not parts[1].isdigit() or not parts[2].isdigit():
        raise argparse.ArgumentTypeError(f"expected FILE:LINE:COL, got {value!r}")
    line, column = int(parts[1]), int(parts[2])
    if line < 1 or column < 1:
        raise argparse.ArgumentTypeError(f"LINE and COL start at 1, got {value!r}")
    return Path(parts[0]), line, column


def run_complete(args: argparse.Namespace) -> int:
    """The `complete` verb; 0 when the pipeline ran (with or without a suggestion)."""
    try:
        file, line, column = parse_location(args.location)
        with open(file, encoding="utf-8", newline="") as handle:  # keep CRLF as the editor would
            text = handle.read()
    except (argparse.ArgumentTypeError, OSError, UnicodeDecodeError) as exc:
        print(f"ai-lsp complete: {exc}", file=sys.stderr)
        return 2
    from ai_lsp.index.cli import find_workspace

    file = file.resolve()
    root = find_workspace(args.workspace, file.parent)
    result = asyncio.run(_complete(file, text, line, column, root, getattr(args, "config", None)))
    reason = result.pop("reason")
    if args.json:
        print(json.dumps(result))
        return 0
    for index, suggestion in enumerate(result["suggestions"]):
        if index:
            print(f"--- candidate {index + 1}", file=sys.stderr)
        print(suggestion)
    if not result["suggestions"]:
        print(f"ai-lsp complete: no suggestion ({reason})", file=sys.stderr)
    sections = ", ".join(f"{c['section']} {c['tokens']}" for c in result["context"])
    timings = ", ".join(f"{k} {v:g}" for k, v in result["timings_ms"].items())
    print(f"context (tokens): {sections or 'none'}\ntimings (ms): {timings}", file=sys.stderr)
    return 0


async def _complete(
    file: Path, text: str, line: int, column: int, root: Path, user_config: Path | None
) -> dict[str, Any]:
    from lsprotocol import types

    from ai_lsp import paths
    from ai_lsp.completion.guard import workspace_key
    from ai_lsp.completion.service import CompletionService, route_for
    from ai_lsp.config_manager import ConfigManager
    from ai_lsp.documents import DocumentStore
    from ai_lsp.index.languages import language_for_path
    from ai_lsp.notices import Level, Notices
    from ai_lsp.prompting.tokens import count_for_model
    from ai_lsp.providers.ledger import Ledger
    from ai_lsp.providers.registry import ProviderRegistry

    def tell(level: Level, message: str) -> None:
        print(message, file=sys.stderr)

    notices = Notices(tell)
    manager = ConfigManager(notices, user_config)
    manager.set_root(root)
    settings = manager.reload().settings
    registries: list[ProviderRegistry] = []

    def endpoints() -> ProviderRegistry:
        if not registries:
            ledger = Ledger(paths.state_dir() / "ledger.sqlite3", settings.budget, notices=notices)
            registries.append(
                ProviderRegistry(
                    settings, ledger=ledger, notices=notices, token_counter=count_for_model
                )
            )
        return registries[0]

    documents = DocumentStore(types.PositionEncodingKind.Utf32)
    uri = file.as_uri()
    language = language_for_path(file, text.split("\n", 1)[0]) or "plaintext"
    documents.open(uri, language, 1, text)
    snapshot = documents.snapshot(uri, types.Position(line - 1, column - 1))
    assert snapshot is not None
    service = CompletionService(
        documents, settings=lambda: settings, endpoints=endpoints, root=lambda: root
    )
    index = (
        await asyncio.to_thread(_open_index, root, settings) if route_for(settings).model else None
    )
    if index is not None:  # the same cross-file definitions the server would add
        from ai_lsp.index.context_provider import IndexContextProvider

        searcher = index.searcher
        service.add_context_provider(IndexContextProvider(lambda: searcher))
    if route_for(settings).model is None:
        key = workspace_key(uri, root) or file.name
        await asyncio.to_thread(
            service.local.train_now,
            root,
            max_file_bytes=settings.index.max_file_bytes,
            editing=(key, text),
        )
    try:
        answer = await service.suggest(snapshot, trigger="invoked", channel="cli")
    finally:
        for registry in registries:
            await registry.aclose()
        if index is not None:
            await asyncio.to_thread(index.close)
    record = answer.record
    return {
        "suggestions": [s.text for s in answer.suggestions],
        "context": [{"section": s.section, "tokens": s.tokens} for s in record.sections]
        if record is not None
        else [],
        "timings_ms": {**(record.timings_ms if record is not None else {}), **answer.timings_ms},
        "reason": answer.reason,
    }


def _open_index(root: Path, settings: Settings) -> CodeIndex | None:
    """The workspace's index when one was built (`ai-lsp index`), read-only; else None."""
    from ai_lsp.index.code_index import CodeIndex
    from ai_lsp.index.store import IndexCorrupt, index_folder

    if not settings.index.enabled or not index_folder(root).exists():
        return None
    try:
        return CodeIndex.open(root, settings.index, read_only=True)
    except (IndexCorrupt, OSError) as exc:
        print(
            f"ai-lsp: the index of {root} is not usable ({exc}); completing without it",
            file=sys.stderr,
        )
        return None
