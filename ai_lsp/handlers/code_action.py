"""textDocument/codeAction and codeAction/resolve: `AI:` edits listed cheaply, drafted by the
edit model at resolve; clients without resolve (eglot) get the `ai-lsp.edit` command instead."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcContentModified, JsonRpcInternalError, JsonRpcInvalidParams

from ai_lsp.completion.guard import path_of
from ai_lsp.edits.offers import EditRequest, Problem, offers
from ai_lsp.edits.service import EditError
from ai_lsp.handlers.edit import KINDS, as_workspace_edit, edits, for_client, request_from
from ai_lsp.server import AiLanguageServer

OPTIONS = types.CodeActionOptions(
    code_action_kinds=[types.CodeActionKind.QuickFix, types.CodeActionKind.RefactorRewrite],
    resolve_provider=True,
)


async def code_action(
    ls: AiLanguageServer, params: types.CodeActionParams
) -> list[types.Command | types.CodeAction] | None:
    """The `AI:` actions at the range; none when no edit model is configured."""
    document = ls.documents.get(params.text_document.uri)
    if document is None or not edits(ls).available(document.uri, document.text):
        return None
    only = params.context.only
    if only is not None and not any(_wanted(kind, only) for kind in set(KINDS.values())):
        return None
    start, end = document.range_to_offsets(params.range)
    problems = [_problem(d) for d in params.context.diagnostics]
    if not problems and ls.upstream is not None:
        # Neovim sends only its own client's diagnostics: the sidecar server's are known here.
        first, last = params.range.start.line, params.range.end.line
        problems = [
            _problem(d)
            for d in ls.upstream.published_diagnostics(document.uri)
            if d.range.start.line <= last
            and d.range.end.line >= first
            and d.severity
            in (None, types.DiagnosticSeverity.Error, types.DiagnosticSeverity.Warning)
        ]
    path = str(path_of(document.uri) or document.uri)
    found = await asyncio.to_thread(
        offers, document.text, document.language_id, path, start, end, problems
    )
    resolvable = _can_resolve(ls)
    actions: list[types.Command | types.CodeAction] = []
    for request in found:
        kind = KINDS[request.kind]
        if only is not None and not _wanted(kind, only):
            continue
        data = {
            "uri": document.uri,
            "version": document.version,
            "kind": request.kind,
            "range": _range_of(document, request),
            "instruction": request.instruction,
            "problems": [asdict(p) for p in request.problems],
        }
        action = types.CodeAction(
            title=request.title,
            kind=kind,
            diagnostics=[d for d in params.context.diagnostics if _mentions(request, d)] or None,
        )
        if resolvable:
            action.data = data
        else:
            action.command = types.Command(
                title=request.title,
                command="ai-lsp.edit",
                arguments=[{**data, "title": request.title, "background": True}],
            )
        actions.append(action)
    return actions


async def resolve(ls: AiLanguageServer, action: types.CodeAction) -> types.CodeAction:
    """Draft the edit of one of ai-lsp's actions (the document must not have changed)."""
    data = action.data if isinstance(action.data, dict) else {}
    uri, version = str(data.get("uri")), data.get("version")
    document = ls.documents.get(uri)
    if document is None or document.version != version:
        raise JsonRpcContentModified("the document changed since the action was offered")
    request = request_from(document, data, action.title)
    if not request.instruction.strip() or request.end <= request.start:
        raise JsonRpcInvalidParams("not an ai-lsp code action: no instruction or no region")
    try:
        draft = await edits(ls).draft(uri, document.text, document.language_id, request)
    except EditError as error:
        raise JsonRpcInternalError(error.message) from None
    current = ls.documents.get(uri)
    if current is None or current.version != version:
        raise JsonRpcContentModified("the document changed while the edit was drafted")
    if not draft.changes:
        ls.show("info", f"{action.title}: {draft.model} proposed no change")
    action.edit = for_client(ls, as_workspace_edit(current, draft.changes))
    return action


def _problem(diagnostic: types.Diagnostic) -> Problem:
    code = diagnostic.code
    return Problem(
        diagnostic.message,
        diagnostic.range.start.line,
        diagnostic.range.end.line,
        diagnostic.source,
        str(code) if code is not None else None,
    )


def _can_resolve(ls: AiLanguageServer) -> bool:
    code_action_caps = getattr(ls.client_capabilities.text_document, "code_action", None)
    support = getattr(code_action_caps, "resolve_support", None)
    return support is not None and "edit" in (support.properties or [])


def _wanted(kind: str, only: Sequence[str]) -> bool:
    return any(kind == asked or kind.startswith(f"{asked}.") for asked in only)


def _range_of(document: Any, request: EditRequest) -> dict[str, dict[str, int]]:
    start, end = document.position_at(request.start), document.position_at(request.end)
    return {
        "start": {"line": start.line, "character": start.character},
        "end": {"line": end.line, "character": end.character},
    }


def _mentions(request: EditRequest, diagnostic: types.Diagnostic) -> bool:
    return any(
        p.message == diagnostic.message and p.first_row == diagnostic.range.start.line
        for p in request.problems
    )
