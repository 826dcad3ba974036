"""The tools about files and the workspace: a file's outline and diagnostics, symbols by name,
and a file's lines."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from lsprotocol import types

from ai_lsp.agent.context import ToolContext, ToolError
from ai_lsp.agent.files import display_path, read_workspace_file
from ai_lsp.agent.locate import line_count
from ai_lsp.agent.render import Answer, fence_marks, fit
from ai_lsp.agent.servers import clients, upstream_of
from ai_lsp.text import column_of, content_length, split_lines
from ai_lsp.upstream.queries import diagnostics_for

__all__ = ["diagnostics", "document_symbols", "read_file", "workspace_symbols"]

_INDENT = "  "


async def document_symbols(context: ToolContext, args: dict[str, Any]) -> Answer:
    """`document_symbols`: the file's symbols, nested, with their lines."""
    file = await read_workspace_file(context, args["path"])
    [(uri, client)] = await clients(
        context, file, types.TEXT_DOCUMENT_DOCUMENT_SYMBOL, "document outlines"
    )
    entries: list[str] = []
    for symbol in await client.document_symbols(uri):
        if isinstance(symbol, types.DocumentSymbol):
            entries.extend(_outline(symbol, 0))
        else:
            container = f" (in {symbol.container_name})" if symbol.container_name else ""
            entries.append(
                f"{_kind(symbol.kind)} {symbol.name}{container}, {_lines(symbol.location.range)}"
            )
    if not entries:
        return Answer(f"{file.rel} defines no symbols.")
    return fit(
        context,
        f"Outline of {file.rel} ({len(entries)} symbols):",
        entries,
        left_out=lambda kept, missing: (
            f"{missing} more symbols left out (over the token limit of a tool answer); "
            f"read_file shows the rest of {file.rel}."
        ),
    )


async def workspace_symbols(context: ToolContext, args: dict[str, Any]) -> Answer:
    """`workspace_symbols`: symbols whose names match a query, best matches first."""
    query = args["query"].strip()
    if not query:
        raise ToolError("`query` is empty; give a name or part of one, e.g. `Order`")
    file = await read_workspace_file(context, args["path"]) if "path" in args else None
    found: list[types.SymbolInformation | types.WorkspaceSymbol] = []
    for _, client in await clients(context, file, types.WORKSPACE_SYMBOL, "symbol search"):
        found.extend(await client.workspace_symbols(query))
    entries: dict[str, None] = {}
    hidden = 0
    for symbol in sorted(found, key=lambda symbol: _rank(symbol.name, query)):
        location = symbol.location
        if context.guard.refusal(location.uri, "") is not None:
            hidden += 1
            continue
        line = f":{location.range.start.line + 1}" if isinstance(location, types.Location) else ""
        where = display_path(location.uri, context.root) + line
        entries[f"{_kind(symbol.kind)} {_full_name(symbol)}: {where}"] = None
    hidden_note = f" ({hidden} more in files not shown to models)" if hidden else ""
    if not entries:
        return Answer(f"No symbol matches `{query}`{hidden_note}.")
    return fit(
        context,
        f"Symbols matching `{query}`{hidden_note}:",
        list(entries),
        left_out=lambda kept, missing: (
            f"{missing} more symbols left out (over the token limit of a tool answer); "
            "give a longer query."
        ),
    )


async def diagnostics(context: ToolContext, args: dict[str, Any]) -> Answer:
    """`diagnostics`: the file's errors and warnings, with the lines they are on."""
    file = await read_workspace_file(context, args["path"])
    source = upstream_of(context)
    client = await source.client_for(file.uri)
    found = await diagnostics_for(source, file.uri)
    if not found:
        if not file.is_open and not client.supports(types.TEXT_DOCUMENT_DIAGNOSTIC):
            return Answer(
                f"No diagnostics known for {file.rel}: `{client.name}` reports problems only "
                "for files open in the editor, and this one is not open."
            )
        return Answer(f"No diagnostics for {file.rel}: the language server reports no problems.")
    lines = split_lines(file.text)
    entries = []
    for diagnostic in sorted(found, key=lambda d: (d.range.start.line, d.range.start.character)):
        start = diagnostic.range.start
        content = lines[start.line] if start.line < len(lines) else ""
        content = content[: content_length(content)]
        column = column_of(content, start.character, client.encoding) + 1
        severity = types.DiagnosticSeverity(diagnostic.severity or 1).name.lower()
        origin = " ".join(str(part) for part in (diagnostic.source, diagnostic.code) if part)
        message = " ".join(diagnostic.message.split())
        entries.append(
            f"{file.rel}:{start.line + 1}:{column}: {severity}: {message}"
            + (f" [{origin}]" if origin else "")
            + (f"\n    {content.strip()}" if content.strip() else "")
        )
    return fit(
        context,
        f"Diagnostics of {file.rel} ({len(entries)}):",
        entries,
        left_out=lambda kept, missing: (
            f"{missing} more diagnostics left out (over the token limit of a tool answer)."
        ),
    )


async def read_file(context: ToolContext, args: dict[str, Any]) -> Answer:
    """`read_file`: numbered lines of a file, the editor's buffer when it is open."""
    file = await read_workspace_file(context, args["path"])
    if not file.text:
        return Answer(f"{file.rel} is empty.")
    lines = split_lines(file.text)
    total = line_count(lines)
    start = args.get("start_line", 1)
    end = min(args.get("end_line", total), total)
    if start > total:
        raise ToolError(f"{file.rel} has {total} lines; start_line {start} is past its end")
    if end < start:
        raise ToolError(f"end_line {end} is before start_line {start}")
    width = len(str(end))
    entries = [
        f"{number:>{width}}  {lines[number - 1][: content_length(lines[number - 1])]}".rstrip()
        for number in range(start, end + 1)
    ]
    opening, closing = fence_marks("\n".join(entries), file.rel)
    buffer = ", as open in the editor" if file.is_open else ""
    return fit(
        context,
        f"{file.rel}, lines {start}-{end} of {total}{buffer}:\n{opening}",
        entries,
        footer=closing,
        left_out=lambda kept, missing: (
            f"Lines {start + kept}-{end} left out (over the token limit of a tool answer); "
            f"call read_file with start_line={start + kept} to read on."
        ),
    )


def _outline(symbol: types.DocumentSymbol, depth: int) -> Iterable[str]:
    name, detail = symbol.name, symbol.detail or ""
    if detail.startswith(name):  # `price: float = 0.0`
        name = detail
    elif detail and not detail.endswith(name):  # not a mere `def compute_total`
        name = f"{name}: {detail}"
    yield f"{_INDENT * depth}{_kind(symbol.kind)} {name}, {_lines(symbol.range)}"
    for child in symbol.children or []:
        yield from _outline(child, depth + 1)


def _full_name(symbol: types.SymbolInformation | types.WorkspaceSymbol) -> str:
    """`util.Order` when the container is the qualified name, else `name (in container)`."""
    container = symbol.container_name
    if not container:
        return symbol.name
    if container.endswith(f".{symbol.name}"):
        return container
    return f"{symbol.name} (in {container})"


def _kind(kind: types.SymbolKind) -> str:
    return types.SymbolKind(kind).name.lower()


def _lines(range_: types.Range) -> str:
    first, last = range_.start.line + 1, range_.end.line + 1
    if range_.end.character == 0 and last > first:
        last -= 1  # the range ends at the start of the next line
    return f"line {first}" if last <= first else f"lines {first}-{last}"


def _rank(name: str, query: str) -> int:
    """Exact matches first, then by case, prefixes, substrings, the rest."""
    lowered, wanted = name.lower(), query.lower()
    if name == query:
        return 0
    if lowered == wanted:
        return 1
    if lowered.startswith(wanted):
        return 2
    return 3 if wanted in lowered else 4
