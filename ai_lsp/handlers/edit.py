"""ai-lsp.edit and ai-lsp.apply: an AI edit drafted by the edit model, or a code block merged
into the file, sent to the editor with `workspace/applyEdit` for the version it was made for."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Sequence
from typing import Any, TypeVar

from lsprotocol import types

from ai_lsp.completion.guard import path_of
from ai_lsp.documents import Document
from ai_lsp.edits.offers import EditKind, EditRequest, Problem, region_for
from ai_lsp.edits.references import UpstreamReferences
from ai_lsp.edits.service import Draft, EditError, EditService
from ai_lsp.handlers.arguments import command_argument
from ai_lsp.handlers.progress import shows_progress, work_done
from ai_lsp.prompting.edits import TextChange
from ai_lsp.server import AiLanguageServer

T = TypeVar("T")
KINDS: dict[EditKind, types.CodeActionKind] = {
    "fix": types.CodeActionKind.QuickFix,
    "instruction": types.CodeActionKind.RefactorRewrite,
    "docstring": types.CodeActionKind.RefactorRewrite,
    "edit": types.CodeActionKind.RefactorRewrite,
}
_CANCEL_POLL_S = 0.1
_services: weakref.WeakKeyDictionary[AiLanguageServer, EditService] = weakref.WeakKeyDictionary()


def edits(ls: AiLanguageServer) -> EditService:
    """The server's edit service (created on first use)."""
    service = _services.get(ls)
    if service is None:
        service = _services[ls] = EditService(
            settings=lambda: ls.config.settings,
            endpoints=lambda: ls.providers,
            root=lambda: ls.root,
            references=UpstreamReferences(lambda: ls.upstream),
        )
    return service


async def edit(ls: AiLanguageServer, *args: Any) -> dict[str, Any]:
    """`{uri, range, instruction, background?}`: rewrite the range (the selected lines; for an
    empty range the definition around it) by the instruction, and apply the result; with
    `background`, answer `{started: true}` at once and apply the edit when it is drafted."""
    argument = command_argument(args)
    document = ls.documents.get(str(argument.get("uri")))
    if document is None:
        return _failed(ls, "ai-lsp.edit needs {uri, range, instruction} for an open document")
    version = document.version
    if argument.get("version", version) != version:
        return _failed(ls, "the document changed since the action was offered; ask again")
    request = request_from(document, argument, str(argument.get("title") or "AI: Edit"))
    if not request.instruction.strip():
        return _failed(ls, "ai-lsp.edit needs an instruction")
    if request.kind == "edit":
        path = str(path_of(document.uri) or document.uri)
        lines = region_for(document.text, document.language_id, path, request.start, request.end)
        request = EditRequest(
            "edit", request.title, request.instruction, lines.start, lines.end, request.problems
        )
    # The request's offsets are into this version's text: both are taken now.
    drafting = _draft_and_apply(
        ls, document.uri, version, document.text, document.language_id, request
    )
    if argument.get("background"):
        # Clients that block while they wait for the answer (eglot gives up after 10 s, and
        # Emacs is frozen until then) get it at once; the edit follows by applyEdit.
        ls.spawn(drafting, f"ai-lsp.edit {document.uri}")
        if not shows_progress(ls):
            ls.show("info", f"{request.title}: drafting the edit…")
        return {"started": True}
    return await drafting


async def _draft_and_apply(
    ls: AiLanguageServer, uri: str, version: int, text: str, language_id: str, request: EditRequest
) -> dict[str, Any]:
    try:
        draft = await _with_progress(
            ls, request.title, edits(ls).draft(uri, text, language_id, request)
        )
    except EditError as error:
        return _failed(ls, error.message)
    return await _apply(ls, uri, version, draft, request.title)


async def apply(ls: AiLanguageServer, *args: Any) -> dict[str, Any]:
    """`{uri, code, range?}`: merge a code block (which may elide unchanged code with
    `... existing code ...` comments) into the file, inside `range` when given."""
    argument = command_argument(args)
    document = ls.documents.get(str(argument.get("uri")))
    code = argument.get("code")
    if document is None or not isinstance(code, str) or not code.strip():
        return _failed(ls, "ai-lsp.apply needs {uri, code} for an open document")
    version = document.version
    region = None
    if isinstance(argument.get("range"), dict):
        request = request_from(document, argument, "AI: Apply")
        region = (request.start, request.end)
    try:
        draft = await _with_progress(
            ls,
            "AI: Apply",
            edits(ls).merge(document.uri, document.text, document.language_id, code, region),
        )
    except EditError as error:
        return _failed(ls, error.message)
    return await _apply(ls, document.uri, version, draft, "AI: Apply")


def request_from(document: Document, data: dict[str, Any], title: str) -> EditRequest:
    """The edit that a code action's data, or a command's argument, stands for."""
    raw = data.get("range")
    start = end = 0
    if isinstance(raw, dict):
        start = _offset(document, raw.get("start"))
        end = max(start, _offset(document, raw.get("end"), start))
    problems = tuple(
        Problem(
            str(p.get("message", "")),
            _int(p.get("first_row")),
            _int(p.get("last_row")),
            _text(p.get("source")),
            _text(p.get("code")),
        )
        for p in data.get("problems") or []
        if isinstance(p, dict)
    )
    kind = data.get("kind")
    known: EditKind = kind if isinstance(kind, str) and kind in KINDS else "edit"
    return EditRequest(known, title, str(data.get("instruction") or ""), start, end, problems)


def as_workspace_edit(document: Document, changes: Sequence[TextChange]) -> types.WorkspaceEdit:
    """`changes` (offsets into `document`'s text) as an edit of that version of the document."""
    edits_ = [
        types.TextEdit(
            range=types.Range(document.position_at(c.start), document.position_at(c.end)),
            new_text=c.text,
        )
        for c in changes
    ]
    identifier = types.OptionalVersionedTextDocumentIdentifier(document.uri, document.version)
    return types.WorkspaceEdit(
        document_changes=[types.TextDocumentEdit(text_document=identifier, edits=list(edits_))]
    )


async def _apply(
    ls: AiLanguageServer, uri: str, version: int, draft: Draft, label: str
) -> dict[str, Any]:
    current = ls.documents.get(uri)
    if current is None or current.version != version:
        return _failed(ls, "the document changed while the edit was drafted; nothing was applied")
    if not draft.changes:
        ls.show("info", f"{label}: no change to make")
        return {"applied": False, "changes": 0, "model": draft.model, "reason": "no change"}
    params = types.ApplyWorkspaceEditParams(
        edit=for_client(ls, as_workspace_edit(current, draft.changes)), label=label
    )
    # Shielded: pygls 2.1 can break its loop if cancelled mid server-to-client request.
    result = await asyncio.shield(ls.workspace_apply_edit_async(params))
    return {
        "applied": result.applied,
        "changes": len(draft.changes),
        "model": draft.model,
        "reason": result.failure_reason,
    }


def for_client(ls: AiLanguageServer, edit: types.WorkspaceEdit) -> types.WorkspaceEdit:
    """The plain `changes` form for clients without `documentChanges` support."""
    workspace = getattr(ls.client_capabilities, "workspace", None)
    caps = getattr(workspace, "workspace_edit", None)
    if getattr(caps, "document_changes", False):
        return edit
    changes: dict[str, list[types.TextEdit]] = {}
    for change in edit.document_changes or []:
        if isinstance(change, types.TextDocumentEdit):
            changes.setdefault(change.text_document.uri, []).extend(
                e for e in change.edits if isinstance(e, types.TextEdit)
            )
    return types.WorkspaceEdit(changes=changes)


async def _with_progress(ls: AiLanguageServer, title: str, work: Awaitable[T]) -> T:
    """`work`'s result, with work-done progress the user can cancel (where supported)."""
    task = asyncio.ensure_future(work)
    try:
        async with work_done(ls, title) as (_, cancel):
            while not task.done():
                await asyncio.wait({task}, timeout=_CANCEL_POLL_S)
                if cancel.is_set():
                    task.cancel()
                    raise EditError(f"{title}: cancelled")
        return task.result()
    finally:
        task.cancel()


def _failed(ls: AiLanguageServer, message: str) -> dict[str, Any]:
    ls.notices.say("error", message)
    return {"applied": False, "changes": 0, "error": message}


def _offset(document: Document, raw: Any, default: int = 0) -> int:
    if not isinstance(raw, dict):
        return default
    position = types.Position(_int(raw.get("line")), _int(raw.get("character")))
    return document.offset_at(position)


def _int(value: Any) -> int:
    return value if isinstance(value, int) and value >= 0 else 0


def _text(value: Any) -> str | None:
    return str(value) if value is not None else None
