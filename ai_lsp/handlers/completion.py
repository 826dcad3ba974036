"""textDocument/completion: AI suggestions as completion items, each complete without
`completionItem/resolve` and carrying a `textEdit` (Neovim 0.11 cuts `insertText`-only
items at the first space)."""

from __future__ import annotations

import re
import weakref

from lsprotocol import types

from ai_lsp.completion.results import Completions, Trigger
from ai_lsp.completion.service import CompletionService
from ai_lsp.documents import Document, DocumentSnapshot
from ai_lsp.server import AiLanguageServer

LABEL_CHARS = 60
_WORD = re.compile(r"\w+$")
_services: weakref.WeakKeyDictionary[AiLanguageServer, CompletionService] = (
    weakref.WeakKeyDictionary()
)


def completions(ls: AiLanguageServer) -> CompletionService:
    """The server's completion service (created on first use)."""
    service = _services.get(ls)
    if service is None:
        service = CompletionService(
            ls.documents,
            settings=lambda: ls.config.settings,
            endpoints=lambda: ls.providers,
            root=lambda: ls.root,
        )
        _services[ls] = service
    return service


def options(ls: AiLanguageServer) -> types.CompletionOptions:
    """Completion options whose trigger characters follow `completion.trigger_characters`
    (read when `initialize` builds the capabilities, after the configuration is loaded)."""
    found = types.CompletionOptions(resolve_provider=False)

    def follow(settings: object) -> None:
        found.trigger_characters = list(ls.config.settings.completion.trigger_characters)

    ls.config.subscribe(follow)
    follow(None)
    return found


async def completion(
    ls: AiLanguageServer, params: types.CompletionParams
) -> types.CompletionList | None:
    """AI items at the cursor; `isIncomplete` so that typing asks again (cheap: cached)."""
    snapshot = ls.documents.snapshot(params.text_document.uri, params.position)
    if snapshot is None:
        return None
    invoked = (
        params.context is not None
        and params.context.trigger_kind == types.CompletionTriggerKind.Invoked
    )
    trigger: Trigger = "invoked" if invoked else "automatic"
    answer = await completions(ls).suggest(snapshot, trigger=trigger, channel="completion")
    document = ls.documents.get(snapshot.uri)
    if document is None or not ls.documents.is_current(snapshot):
        return types.CompletionList(is_incomplete=True, items=[])  # stale: nothing old shown
    return types.CompletionList(is_incomplete=True, items=to_items(document, snapshot, answer))


def to_items(
    document: Document, snapshot: DocumentSnapshot, answer: Completions
) -> list[types.CompletionItem]:
    """One item per suggestion, replacing the word typed so far and what it supersedes."""
    line_start = snapshot.text.rfind("\n", 0, snapshot.offset) + 1
    word = _WORD.search(snapshot.text, line_start, snapshot.offset)
    typed = word.group() if word is not None else ""
    start = document.position_at(snapshot.offset - len(typed))
    items = []
    for index, suggestion in enumerate(answer.suggestions):
        new_text = typed + suggestion.text
        end = document.position_at(snapshot.offset + suggestion.replace_chars)
        label = _label(new_text)
        first_line = new_text.split("\n", 1)[0]
        items.append(
            types.CompletionItem(
                label=label,
                kind=types.CompletionItemKind.Snippet
                if "\n" in suggestion.text
                else types.CompletionItemKind.Text,
                detail=f"ai-lsp · {answer.model}",
                documentation=types.MarkupContent(
                    kind=types.MarkupKind.Markdown,
                    value=_code_block(new_text, snapshot.language_id),
                ),
                sort_text=f"!{index:02d}",
                filter_text=first_line or label,
                preselect=index == 0,
                insert_text_format=types.InsertTextFormat.PlainText,
                text_edit=types.TextEdit(range=types.Range(start, end), new_text=new_text),
            )
        )
    return items


def _label(text: str) -> str:
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    first = lines[0] if lines else text.strip()
    if len(first) > LABEL_CHARS or len(lines) > 1:
        return first[: LABEL_CHARS - 1].rstrip() + "…"
    return first


def _code_block(text: str, language_id: str) -> str:
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language_id}\n{text}\n{fence}"
