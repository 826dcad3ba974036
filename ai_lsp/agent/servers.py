"""Which upstream servers a tool asks, and the targets it asks them about: a position a model
named in a file, or the definition of a symbol it named alone."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from lsprotocol import types

from ai_lsp.agent.context import ToolContext, ToolError
from ai_lsp.agent.files import WorkspaceFile, read_workspace_file
from ai_lsp.agent.locate import Spot, locate, plain_name
from ai_lsp.completion.guard import path_of
from ai_lsp.index.languages import language_for_path
from ai_lsp.text import Document
from ai_lsp.upstream.client import UpstreamClient
from ai_lsp.upstream.manager import UpstreamUnavailable
from ai_lsp.upstream.snippets import UpstreamSource

__all__ = ["Target", "clients", "named_target", "position_in", "target_at", "upstream_of"]


@dataclass(frozen=True, slots=True)
class Target:
    """A position in a workspace file that a query is about."""

    file: WorkspaceFile
    spot: Spot

    def describe(self) -> str:
        """How an answer names it: "`compute_total` (main.py:4:7)"."""
        where = f"{self.file.rel}:{self.spot.line}:{self.spot.column}"
        if self.spot.note:
            where += f"; {self.spot.note}"
        return f"`{self.spot.symbol}` ({where})" if self.spot.symbol else where


def upstream_of(context: ToolContext) -> UpstreamSource:
    """The upstream servers, or `ToolError` when ai-lsp runs none."""
    if context.upstream is None:
        raise ToolError(
            "no upstream language server runs for this workspace, so code queries cannot be "
            "answered; read_file still works"
        )
    return context.upstream


async def clients(
    context: ToolContext, file: WorkspaceFile | None, method: str, what: str
) -> list[tuple[str, UpstreamClient]]:
    """`(uri, client)` of the servers offering `method`: the one of `file`, else one per
    language of the editor's open files. Raises when none can answer."""
    source = upstream_of(context)
    found: list[tuple[str, UpstreamClient]] = []
    problems: list[Exception] = []
    for uri in _server_uris(context, file):
        try:
            client = await source.client_for(uri)
        except UpstreamUnavailable as error:
            problems.append(error)
            continue
        if client.supports(method):
            found.append((uri, client))
        else:
            problems.append(ToolError(f"the language server `{client.name}` does not offer {what}"))
    if not found:
        raise problems[0]
    return found


async def target_at(context: ToolContext, args: dict[str, Any], *, call: bool = False) -> Target:
    """The position a model's `path`, `line`, `column` and `symbol` name."""
    file = await read_workspace_file(context, args["path"])
    spot = locate(
        file.text,
        file.rel,
        line=args.get("line"),
        column=args.get("column"),
        symbol=args.get("symbol"),
        call=call,
    )
    return Target(file, spot)


async def named_target(context: ToolContext, symbol: str) -> Target:
    """Where the workspace symbol named `symbol` is defined (the first one when several are)."""
    name = plain_name(symbol)
    found: list[Target] = []
    for _, client in await clients(context, None, types.WORKSPACE_SYMBOL, "symbol search"):
        for candidate in await client.workspace_symbols(name):
            location = candidate.location
            if candidate.name == name and isinstance(location, types.Location):
                target = await _definition_site(context, location, name)
                if target is not None and target not in found:
                    found.append(target)
    if not found:
        raise ToolError(
            f"no symbol named `{name}` is defined in the workspace; try workspace_symbols "
            "with part of the name, or give `path` and `line`"
        )
    first = found[0]
    if len(found) > 1:
        note = (
            f"{len(found)} symbols are named `{name}`; this is the one at {first.file.rel}:"
            f"{first.spot.line}, give `path` and `line` to ask about another"
        )
        return Target(first.file, dataclasses.replace(first.spot, note=note))
    return first


def position_in(client: UpstreamClient, target: Target) -> types.Position:
    """The target's position in the encoding `client` speaks."""
    document = Document(target.file.uri, "", 0, target.file.text, encoding=client.encoding)
    return document.position_at(target.spot.offset)


def _server_uris(context: ToolContext, file: WorkspaceFile | None) -> list[str]:
    if file is not None:
        return [file.uri]
    by_language: dict[str, str] = {}
    for uri in context.documents.uris():
        path = path_of(uri)
        language = language_for_path(path) if path is not None else None
        if language is not None and language != "text":
            by_language.setdefault(language, uri)
    if not by_language:
        raise ToolError(
            "no file is open in the editor, so ai-lsp cannot tell which language server to "
            "ask; give `path` (any file of the language)"
        )
    return list(by_language.values())


async def _definition_site(
    context: ToolContext, location: types.Location, name: str
) -> Target | None:
    """The name's position in the definition at `location`, when it is a file shown to models."""
    path = path_of(location.uri)
    if path is None:
        return None
    try:
        file = await read_workspace_file(context, str(path))
    except ToolError:
        return None  # outside the workspace, or a file kept from models
    first, last = location.range.start.line + 1, location.range.end.line + 1
    for line in range(first, max(first, last) + 1):
        try:
            return Target(file, locate(file.text, file.rel, line=line, column=None, symbol=name))
        except ToolError:
            continue
    return None
