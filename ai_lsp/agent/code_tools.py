"""The tools about one symbol: its definition, its type's definition, its hover, the signature
of the call around it and its references, answered by the upstream language server."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from lsprotocol import types

from ai_lsp.agent.context import ToolContext, ToolError
from ai_lsp.agent.files import display_path
from ai_lsp.agent.locate import plain_name
from ai_lsp.agent.render import Answer, fence, fit
from ai_lsp.agent.servers import (
    Target,
    clients,
    named_target,
    position_in,
    target_at,
    upstream_of,
)
from ai_lsp.text import column_of
from ai_lsp.upstream.client import UpstreamClient
from ai_lsp.upstream.queries import definition_of, hover_at
from ai_lsp.upstream.snippets import ContextSnippet, SourceTexts, definition_snippet

__all__ = ["find_definition", "find_references", "find_type_definition", "hover", "signature_help"]

MAX_DEFINITIONS = 10
MAX_REFERENCES = 1000


async def find_definition(context: ToolContext, args: dict[str, Any]) -> Answer:
    """`find_definition`: by position, or by a symbol's name across the workspace."""
    source = upstream_of(context)
    if "path" in args:
        target = await target_at(context, args)
        await clients(context, target.file, types.TEXT_DOCUMENT_DEFINITION, "definitions")
        snippets = await definition_of(
            source, target.file.uri, target.spot.offset, limit=MAX_DEFINITIONS
        )
        return _definitions(context, "Definition", target.describe(), snippets)
    name = plain_name(_symbol(args))
    snippets = []
    for uri, _ in await clients(context, None, types.WORKSPACE_SYMBOL, "symbol search"):
        snippets += await definition_of(source, uri, symbol=name, limit=MAX_DEFINITIONS)
    return _definitions(context, "Definition", f"`{name}` (by name)", snippets)


async def find_type_definition(context: ToolContext, args: dict[str, Any]) -> Answer:
    """`find_type_definition`: the definition of the type of the symbol at a position."""
    target = await target_at(context, args)
    [(uri, client)] = await clients(
        context, target.file, types.TEXT_DOCUMENT_TYPE_DEFINITION, "type definitions"
    )
    texts = SourceTexts(upstream_of(context))
    locations = await client.type_definition(uri, position_in(client, target))
    snippets = []
    for location in locations[:MAX_DEFINITIONS]:
        snippet = await definition_snippet(texts, location, target.spot.symbol)
        if snippet is not None:
            snippets.append(snippet)
    return _definitions(context, "Type definition", target.describe(), snippets)


async def hover(context: ToolContext, args: dict[str, Any]) -> Answer:
    """`hover`: signature, type and documentation."""
    target = await _target(context, args)
    await clients(context, target.file, types.TEXT_DOCUMENT_HOVER, "hovers")
    text = await hover_at(upstream_of(context), target.file.uri, target.spot.offset)
    if not text:
        return Answer(f"No hover information for {target.describe()}.")
    return fit(context, f"Hover for {target.describe()}:", [text], left_out=_more("results"))


async def signature_help(context: ToolContext, args: dict[str, Any]) -> Answer:
    """`signature_help`: the signatures of the call at a position, and its active parameter."""
    target = await target_at(context, args, call=True)
    [(uri, client)] = await clients(
        context, target.file, types.TEXT_DOCUMENT_SIGNATURE_HELP, "signature help"
    )
    found = await client.signature_help(uri, position_in(client, target))
    if found is None or not found.signatures:
        return Answer(
            f"No call at {target.describe()}: give the called function's name as `symbol` "
            "with the line of the call, or a `column` inside its parentheses."
        )
    entries = []
    for index, signature in enumerate(found.signatures):
        active = found.active_signature == index and len(found.signatures) > 1
        parts = [fence(signature.label, target.file.rel) + ("\n(the active one)" if active else "")]
        parameter = _active_parameter(signature, found, index, client.encoding)
        if parameter:
            parts.append(f"Active parameter: `{parameter}`")
        documentation = _text(signature.documentation)
        if documentation:
            parts.append(documentation)
        entries.append("\n".join(parts))
    header = f"Signature help at {target.describe()}:"
    return fit(context, header, entries, separator="\n\n", left_out=_more("signatures"))


async def find_references(context: ToolContext, args: dict[str, Any]) -> Answer:
    """`find_references`: every line referring to a symbol, as `path:line: code`."""
    target = await _target(context, args)
    [(uri, client)] = await clients(
        context, target.file, types.TEXT_DOCUMENT_REFERENCES, "references"
    )
    position = position_in(client, target)
    include = args.get("include_declaration", True)
    locations = await client.references(uri, position, include_declaration=include)
    declared = set() if include else await _declarations(client, uri, position)
    texts = SourceTexts(upstream_of(context))
    found: dict[tuple[str, int], str] = {}
    hidden = 0
    for location in locations[:MAX_REFERENCES]:
        line = location.range.start.line
        if (location.uri, line) in declared:
            continue
        lines = await texts.lines(location.uri)
        if lines is None or line >= len(lines):
            hidden += 1
            continue
        found[(display_path(location.uri, context.root), line + 1)] = lines[line].strip()
    if not found:
        return Answer(f"No references to {target.describe()} found.")
    files = len({path for path, _ in found})
    header = (
        f"References to {target.describe()}: {len(found)} in {files} file{'s' if files > 1 else ''}"
    )
    if hidden:
        header += f", and {hidden} in files not shown to models"
    entries = [f"{path}:{line}: {text}" for (path, line), text in sorted(found.items())]
    return fit(context, header + ":", entries, left_out=_more("references"))


async def _declarations(
    client: UpstreamClient, uri: str, position: types.Position
) -> set[tuple[str, int]]:
    """The lines defining the symbol at `position` (some servers, jedi-language-server among
    them, list the declaration among the references even when asked not to)."""
    if not client.supports(types.TEXT_DOCUMENT_DEFINITION):
        return set()
    declared = set()
    for target in await client.definition(uri, position):
        if isinstance(target, types.LocationLink):
            declared.add((target.target_uri, target.target_selection_range.start.line))
        else:
            declared.add((target.uri, target.range.start.line))
    return declared


async def _target(context: ToolContext, args: dict[str, Any]) -> Target:
    """A position by `path`, or the definition of `symbol` when only a name is given."""
    if "path" in args:
        return await target_at(context, args)
    return await named_target(context, _symbol(args))


def _symbol(args: dict[str, Any]) -> str:
    symbol = args.get("symbol")
    if symbol is None:
        raise ToolError("give `symbol`, or `path` and `line` (with `symbol` or `column`)")
    return str(symbol)


def _definitions(
    context: ToolContext, title: str, what: str, snippets: Sequence[ContextSnippet]
) -> Answer:
    unique = {(s.uri, s.start_line, s.end_line): s for s in snippets}
    if not unique:
        return Answer(
            f"No {title.lower()} found for {what} (a builtin, a dynamic attribute, a file kept "
            "from models, or a name the server cannot resolve)."
        )
    entries = []
    for snippet in unique.values():
        path = display_path(snippet.uri, context.root)
        lines = (
            f"{snippet.start_line}"
            if snippet.start_line == snippet.end_line
            else f"{snippet.start_line}-{snippet.end_line}"
        )
        entries.append(f"{path}:{lines}\n{fence(snippet.text, path)}")
    header = f"{title} of {what}:"
    return fit(context, header, entries, separator="\n\n", left_out=_more("definitions"))


def _active_parameter(
    signature: types.SignatureInformation,
    found: types.SignatureHelp,
    index: int,
    encoding: types.PositionEncodingKind,
) -> str:
    active = signature.active_parameter
    if active is None and found.active_signature in (None, index):
        active = found.active_parameter
    parameters = signature.parameters or []
    if active is None or not 0 <= active < len(parameters):
        return ""
    label = parameters[active].label
    if isinstance(label, str):
        return label
    start, end = (column_of(signature.label, units, encoding) for units in label)
    return signature.label[start:end]


def _text(documentation: str | types.MarkupContent | None) -> str:
    if isinstance(documentation, types.MarkupContent):
        return documentation.value.strip()
    return (documentation or "").strip()


def _more(what: str) -> Callable[[int, int], str]:
    def note(kept: int, missing: int) -> str:
        return (
            f"{missing} more {what} left out (over the token limit of a tool answer); "
            "ask a narrower question to see them."
        )

    return note
