"""textDocument/inlineCompletion (LSP 3.18): ghost text, candidates in order, each with a
range that covers what it supersedes after the cursor (auto-closed brackets)."""

from __future__ import annotations

from lsprotocol import types

from ai_lsp.completion.results import Completions, Trigger
from ai_lsp.documents import Document, DocumentSnapshot
from ai_lsp.handlers.completion import completions
from ai_lsp.server import AiLanguageServer


async def inline_completion(
    ls: AiLanguageServer, params: types.InlineCompletionParams
) -> types.InlineCompletionList | None:
    """Ghost text at the cursor; an empty list when superseded, stale or nothing to say."""
    snapshot = ls.documents.snapshot(params.text_document.uri, params.position)
    if snapshot is None:
        return None
    invoked = params.context.trigger_kind == types.InlineCompletionTriggerKind.Invoked
    trigger: Trigger = "invoked" if invoked else "automatic"
    answer = await completions(ls).suggest(snapshot, trigger=trigger, channel="inline")
    document = ls.documents.get(snapshot.uri)
    if document is None or not ls.documents.is_current(snapshot):
        return types.InlineCompletionList(items=[])  # stale: never show text for an old buffer
    return types.InlineCompletionList(items=to_inline_items(document, snapshot, answer))


def to_inline_items(
    document: Document, snapshot: DocumentSnapshot, answer: Completions
) -> list[types.InlineCompletionItem]:
    """Items whose range starts at the cursor and ends after the text they supersede."""
    start = document.position_at(snapshot.offset)
    return [
        types.InlineCompletionItem(
            insert_text=suggestion.text,
            range=types.Range(
                start, document.position_at(snapshot.offset + suggestion.replace_chars)
            ),
        )
        for suggestion in answer.suggestions
    ]
