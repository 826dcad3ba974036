"""The AI edits worth offering at a range (cheap: no model involved), and the region of the
file each one rewrites: fix a reported problem, carry out an `ai:` comment, add a docstring.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from ai_lsp.completion.shape import grammar_for
from ai_lsp.edits.targets import (
    Definition,
    Lines,
    definition_at,
    find_instruction,
    has_documentation,
    line_span,
    lines_of,
)

__all__ = ["EditKind", "EditRequest", "Problem", "offers", "region_for"]

EditKind = Literal["fix", "instruction", "docstring", "edit"]

MAX_DEFINITION_ROWS = 150
"""A definition longer than this is not rewritten whole (the answer would be long and slow)."""
FIX_CONTEXT_ROWS = 8
"""Rows around a problem rewritten when its definition is too long (or there is none)."""
MAX_FIXES = 3
"""Problems offered a fix each at one range (the closest to the range come first)."""
TITLE_CHARS = 70
_DOCUMENTED_KINDS = frozenset(
    {"function", "method", "class", "struct", "interface", "trait", "enum"}
)


@dataclass(frozen=True, slots=True)
class Problem:
    """A diagnostic as the prompt shows it (rows 0-based)."""

    message: str
    first_row: int
    last_row: int
    source: str | None = None
    code: str | None = None

    def describe(self) -> str:
        """`line 12: [pyright reportUndefinedVariable] "x" is not defined`."""
        origin = " ".join(part for part in (self.source, self.code) if part)
        return f"line {self.first_row + 1}: " + (f"[{origin}] " if origin else "") + self.message


@dataclass(frozen=True, slots=True)
class EditRequest:
    """One AI edit: rewrite `start..end` (whole lines) by `instruction`."""

    kind: EditKind
    title: str
    instruction: str
    start: int
    end: int
    problems: tuple[Problem, ...] = ()


def offers(
    text: str,
    language_id: str,
    path: str,
    start: int,
    end: int,
    problems: Sequence[Problem] = (),
) -> list[EditRequest]:
    """The AI edits for the range `start..end` of `text`, most specific first."""
    selected = lines_of(text, start, end)
    # The same problem can come twice (two namespaces in Neovim, two tools): one fix each.
    distinct = list({(p.message, p.first_row): p for p in problems}.values())
    found = [_fix(text, language_id, path, problem) for problem in distinct[:MAX_FIXES]]
    instruction = find_instruction(text, selected.first, selected.last)
    if instruction is not None:
        region = (
            selected
            if end > start and selected.last > selected.first
            else _block_for(text, language_id, path, instruction.row)
        )
        found.append(
            EditRequest(
                "instruction",
                _title(f"AI: {instruction.text}"),
                f"{instruction.text}\n(This instruction comes from the `ai:` comment on line "
                f"{instruction.row + 1}; remove that comment once it is carried out.)",
                region.start,
                region.end,
                _inside(problems, region),
            )
        )
    definition = definition_at(text, language_id, path, selected.first, selected.first)
    if (
        definition is not None
        and definition.kind in _DOCUMENTED_KINDS
        and definition.head <= selected.first <= definition.signature_end + 1
        and not has_documentation(text, language_id, path, definition)
    ):
        found.append(_docstring(text, language_id, path, definition))
    return found


def region_for(text: str, language_id: str, path: str, start: int, end: int) -> Lines:
    """The lines an edit of the range `start..end` rewrites: the selected lines, or for an
    empty range the definition around it (when short enough), else its line."""
    selected = lines_of(text, start, end)
    if end > start:
        return selected
    return _block_for(text, language_id, path, selected.first)


def _fix(text: str, language_id: str, path: str, problem: Problem) -> EditRequest:
    definition = definition_at(text, language_id, path, problem.first_row, problem.last_row)
    if definition is not None and definition.end - definition.start < MAX_DEFINITION_ROWS:
        region = line_span(text, definition.start, definition.end)
    else:
        region = line_span(
            text, problem.first_row - FIX_CONTEXT_ROWS, problem.last_row + FIX_CONTEXT_ROWS
        )
    first_line = problem.message.strip().split("\n", 1)[0]
    return EditRequest(
        "fix",
        _title(f'AI: Fix "{first_line}"'),
        f"Fix this problem: {problem.describe()}",
        region.start,
        region.end,
        (problem,),
    )


def _docstring(text: str, language_id: str, path: str, definition: Definition) -> EditRequest:
    name = definition.symbol.rsplit(".", 1)[-1]
    python = grammar_for(language_id, path) == "python"
    what = "a docstring" if python else "a documentation comment"
    instruction = (
        f"Add {what} to `{name}` in the usual style of this language and of this file: what it "
        "does, its parameters, what it returns and what it raises when that is not obvious. "
        "Change nothing else."
    )
    if definition.end - definition.start < MAX_DEFINITION_ROWS:
        region = line_span(text, definition.start, definition.end)
    else:
        region = line_span(text, definition.start, definition.signature_end)
        instruction += " Only its signature is shown for rewriting: answer with the signature and the documentation."
    return EditRequest(
        "docstring",
        _title(f"AI: Add {'docstring' if python else 'doc comment'} to {name}"),
        instruction,
        region.start,
        region.end,
    )


def _block_for(text: str, language_id: str, path: str, row: int) -> Lines:
    definition = definition_at(text, language_id, path, row, row)
    if definition is not None and definition.end - definition.start < MAX_DEFINITION_ROWS:
        return line_span(text, definition.start, definition.end)
    return _paragraph(text, row)


def _paragraph(text: str, row: int) -> Lines:
    """`row` and the lines after it up to the next blank line (at most FIX_CONTEXT_ROWS * 2)."""
    lines = text.split("\n")
    last = row
    while last + 1 < len(lines) and lines[last + 1].strip() and last - row < FIX_CONTEXT_ROWS * 2:
        last += 1
    return line_span(text, row, last)


def _inside(problems: Sequence[Problem], region: Lines) -> tuple[Problem, ...]:
    return tuple(p for p in problems if region.first <= p.first_row <= region.last)


def _title(title: str) -> str:
    return title if len(title) <= TITLE_CHARS else title[: TITLE_CHARS - 1].rstrip() + "…"
