"""AI edits: draft a rewrite of a region with the edit model, and merge a drafted code block
(which may elide unchanged code) into a file; both end as minimal line changes.

No pygls here: the handlers snapshot the document, call this, and apply the changes.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ai_lsp.completion.guard import PromptGuard, relative_name
from ai_lsp.completion.rules import RulesProvider
from ai_lsp.config import Settings
from ai_lsp.edits.offers import EditRequest
from ai_lsp.edits.prompt import RegionTooLarge, build_edit_prompt
from ai_lsp.edits.targets import lines_of
from ai_lsp.prompting.anchoring import fit_indent
from ai_lsp.prompting.edits import TextChange, extract_code, line_changes, merge_draft
from ai_lsp.prompting.tokens import counter_for
from ai_lsp.providers.errors import ProviderError
from ai_lsp.providers.stream import ModelStream

__all__ = ["Draft", "EditError", "EditService", "Endpoints", "References"]

log = logging.getLogger(__name__)
_WORDS = re.compile(r"\w{3}")
_ECHO_LINES = 6
"""Lines of the code around a region checked for being repeated by the model."""

NOT_CONFIGURED = (
    "ai-lsp: AI edits need a chat model. Set `edit.model` (or `chat.model`) to an entry of "
    '`models`, e.g. [models.smart] provider = "openai" name = "gpt-4.1" and [edit] model = "smart".'
)


class Endpoints(Protocol):
    """The provider registry as edits use it."""

    def configured(self, feature: str) -> bool:
        """Whether `feature` has a model on a known provider."""
        ...

    def chat(
        self,
        feature: str,
        messages: list[dict[str, str]],
        *,
        max_tokens: int | None = None,
        temperature: float | None = None,
    ) -> ModelStream:
        """Stream a chat answer; `ProviderError` surfaces while iterating."""
        ...


References = Callable[[str, str, str, EditRequest], Awaitable[list[str]]]
"""`(uri, text, language_id, request)` → reference texts for the prompt (definitions the
language server resolved for names in the region); may return nothing, never raises."""


class EditError(Exception):
    """An edit that cannot be made; the message says why and what to do."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class Draft:
    """Changes to the text the edit was drafted against, and what made them."""

    changes: list[TextChange]
    model: str
    tokens: dict[str, int]


class EditService:
    """Drafts and merges edits; safe to share between the requests of one event loop."""

    def __init__(
        self,
        *,
        settings: Callable[[], Settings],
        endpoints: Callable[[], Endpoints],
        root: Callable[[], Path | None],
        references: References | None = None,
    ) -> None:
        self._settings = settings
        self._endpoints = endpoints
        self._root = root
        self._references = references
        self._rules = RulesProvider("edit")
        self._guard: PromptGuard | None = None

    def available(self, uri: str, text: str) -> bool:
        """Whether edits of this document can be drafted: a model is configured for edits and
        the file may be shown to it (code actions are offered only then)."""
        if not self._endpoints().configured("edit"):
            return False
        try:
            self._check_allowed(uri, text)
        except EditError:
            return False
        return True

    async def draft(self, uri: str, text: str, language_id: str, request: EditRequest) -> Draft:
        """Ask the edit model to rewrite `request`'s region; raises `EditError`."""
        return await self._rewrite("edit", uri, text, language_id, request)

    async def merge(
        self, uri: str, text: str, language_id: str, code: str, region: tuple[int, int] | None
    ) -> Draft:
        """Merge `code` (a drafted block, perhaps with `... existing code ...` elisions) into
        `text`, inside `region` when given: by anchoring its lines, else with the apply model
        when one is configured. Raises `EditError`."""
        self._check_allowed(uri, text)
        merged = merge_draft(text, code, region)
        if merged.text is not None:
            return Draft(line_changes(text, merged.text), "merge", {})
        if not self._endpoints().configured("apply"):
            raise EditError(f"ai-lsp could not place the code in the file: {merged.reason}")
        start, end = region if region is not None else (0, len(text))
        lines = lines_of(text, start, end)
        fence = "`" * 4
        request = EditRequest(
            "edit",
            "AI: Apply",
            "Apply the change drafted below to the region. The draft may leave out unchanged "
            "code with comments such as `... existing code ...`: keep that code as it is in the "
            f"region.\n{fence}\n{code}\n{fence}",
            lines.start,
            lines.end,
        )
        log.info("placing the code by anchors failed (%s); asking the apply model", merged.reason)
        return await self._rewrite("apply", uri, text, language_id, request)

    async def _rewrite(
        self, feature: str, uri: str, text: str, language_id: str, request: EditRequest
    ) -> Draft:
        self._check_allowed(uri, text)
        settings = self._settings()
        found = settings.model_for(feature)
        if found is None or not self._endpoints().configured(feature):
            raise EditError(NOT_CONFIGURED)
        name, model = found
        root = self._root()
        reserve = min(settings.edit.max_tokens, model.max_output_tokens)
        references = await self._gather_references(uri, text, language_id, request)
        try:
            prompt = build_edit_prompt(
                text,
                request,
                path=relative_name(uri, root),
                language_id=language_id,
                rules=[snippet.text for snippet in self._rules.read(root)],
                references=references,
                window=model.context_window,
                reserve_output=reserve,
                counter=counter_for(model),
            )
        except RegionTooLarge as error:
            raise EditError(f"ai-lsp: {error}") from None
        stream = self._endpoints().chat(feature, prompt.messages, temperature=0.0)
        try:
            async with contextlib.aclosing(stream):
                async for _ in stream:
                    pass
        except ProviderError as error:
            raise EditError(error.user_message) from None
        answer = stream.text()
        code = extract_code(answer)
        if code is None:
            raise EditError(f"ai-lsp: the answer of {name} held no code to put in the file")
        old = text[request.start : request.end]
        answer_region = _without_echo(
            prompt.region.unmask(code), text[: request.start], text[request.end :]
        )
        new = _fitted(old, answer_region)
        changes = [
            TextChange(change.start + request.start, change.end + request.start, change.text)
            for change in line_changes(old, new)
        ]
        return Draft(changes, name, prompt.tokens)

    async def _gather_references(
        self, uri: str, text: str, language_id: str, request: EditRequest
    ) -> list[str]:
        if self._references is None:
            return []
        try:
            return await self._references(uri, text, language_id, request)
        except Exception:  # context is a bonus: the edit goes ahead without it
            log.warning("references for an edit of %s failed", uri, exc_info=True)
            return []

    def _check_allowed(self, uri: str, text: str) -> None:
        root = self._root()
        if self._guard is None or self._guard.root != root:
            self._guard = PromptGuard(root, self._settings().index.max_file_bytes)
        reason = self._guard.refusal(uri, text)
        if reason is not None:
            raise EditError(
                f"ai-lsp does not send {relative_name(uri, root)} to a model ({reason}); "
                "see .gitignore, .ai-lspignore and the built-in denylist"
            )


def _without_echo(new: str, before: str, after: str) -> str:
    """`new` without the lines of code around the region that the model repeated at its start
    or end (when one of them is more than punctuation), which would be doubled."""
    lines = new.split("\n")
    tail = new.endswith("\n")
    if tail:
        lines.pop()
    head_lines = before.split("\n")[:-1] if before.endswith("\n") else before.split("\n")
    after_lines = after.split("\n")
    start = _echoed(lines, head_lines[-_ECHO_LINES:], at_start=True)
    end = len(lines) - _echoed(lines[start:], after_lines[:_ECHO_LINES], at_start=False)
    if start == 0 and end == len(lines):
        return new
    kept = lines[start:end]
    return "\n".join(kept) + ("\n" if tail and kept else "")


def _echoed(lines: list[str], context: list[str], *, at_start: bool) -> int:
    """How many lines at the start (or end) of `lines` repeat the end (or start) of
    `context`, counted only when one of them is more than punctuation."""
    for size in range(min(len(lines) - 1, len(context)), 0, -1):
        ours = lines[:size] if at_start else lines[-size:]
        theirs = context[-size:] if at_start else context[:size]
        if [line.strip() for line in ours] == [line.strip() for line in theirs] and any(
            _WORDS.search(line) is not None for line in ours
        ):
            return size
    return 0


def _fitted(old: str, new: str) -> str:
    """The model's region made to fit where the old one was: the same final newline, and the
    old indentation when the model dropped it (models often quote a method unindented)."""
    if old.endswith("\n") and not new.endswith("\n"):
        new += "\n"
    elif not old.endswith("\n") and new.endswith("\n"):
        new = new[:-1]
    return "\n".join(fit_indent(new.split("\n"), old.split("\n")))
