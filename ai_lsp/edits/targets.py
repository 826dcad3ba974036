"""Where an AI edit applies: whole lines, the innermost definition around a line (tree-sitter),
whether a definition has its documentation, and `ai:` instruction comments.

Offsets are `str` indices into the document text; rows are 0-based.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass

from ai_lsp.completion.shape import grammar_for
from ai_lsp.index.definitions import Definition, find_definitions, has_query
from ai_lsp.index.languages import parse

__all__ = [
    "Definition",
    "Instruction",
    "Lines",
    "definition_at",
    "find_instruction",
    "has_documentation",
    "line_span",
]

# `# ai: make this async`, `// AI: ...`, `-- ai: ...`, `/* ai: ... */`, `<!-- ai: ... -->`.
_INSTRUCTION = re.compile(
    r"^[ \t]*(?:#+|//+|--|;+|/\*+|<!--|%+|\*)[ \t]*ai:[ \t]*(?P<text>.*?)[ \t]*(?:\*/|-->)?[ \t]*$",
    re.IGNORECASE,
)
_CACHED_TEXTS = 4
_parsed: OrderedDict[tuple[str, str], list[Definition]] = OrderedDict()
_lock = threading.Lock()
_PY_DOCSTRING = re.compile(r"""^[ \t]*[rRuUbBfF]{0,2}(?:\"\"\"|'''|"|')""")


@dataclass(frozen=True, slots=True)
class Lines:
    """Whole lines `first..last` (inclusive) and their offsets (`end` after the last newline)."""

    first: int
    last: int
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Instruction:
    """An `ai:` comment: its words and its line."""

    text: str
    row: int


def line_starts(text: str) -> list[int]:
    """Offset of the start of every line (a final empty line after a newline included)."""
    starts = [0]
    at = text.find("\n")
    while at != -1:
        starts.append(at + 1)
        at = text.find("\n", at + 1)
    return starts


def row_of(starts: list[int], offset: int) -> int:
    """The row holding `offset`."""
    low, high = 0, len(starts) - 1
    while low < high:
        middle = (low + high + 1) // 2
        if starts[middle] <= offset:
            low = middle
        else:
            high = middle - 1
    return low


def line_span(text: str, first: int, last: int) -> Lines:
    """Rows `first..last`, clamped into the text, as whole lines with their final newline."""
    starts = line_starts(text)
    first = max(0, min(first, len(starts) - 1))
    last = max(first, min(last, len(starts) - 1))
    end = starts[last + 1] if last + 1 < len(starts) else len(text)
    return Lines(first, last, starts[first], end)


def lines_of(text: str, start: int, end: int) -> Lines:
    """The whole lines covering offsets `start..end`; a range ending at the start of a line
    (a selection of whole lines) does not take in that line."""
    starts = line_starts(text)
    first = row_of(starts, start)
    last = row_of(starts, end)
    if end > start and last > first and starts[last] == end:
        last -= 1
    return line_span(text, first, last)


def definition_at(
    text: str, language_id: str, path: str, first: int, last: int
) -> Definition | None:
    """The innermost function, method or class whose lines hold rows `first..last`."""
    found: Definition | None = None
    level = definitions_of(text, language_id, path)
    while level:
        inner = next((d for d in level if d.head <= first and last <= d.end), None)
        if inner is None:
            break
        found, level = inner, inner.members
    return found


def definitions_of(text: str, language_id: str, path: str) -> list[Definition]:
    """The top-level definitions of `text` (members nested), parsed once per text: code
    actions are asked for on every cursor move in some editors."""
    language = grammar_for(language_id, path)
    if language is None or not has_query(language):
        return []
    key = (language, text)
    with _lock:
        cached = _parsed.get(key)
        if cached is not None:
            _parsed.move_to_end(key)
            return cached
    tree = parse(text, language)
    found = (
        find_definitions(tree, language, text.encode("utf-8", "surrogatepass"))
        if tree is not None
        else []
    )
    with _lock:
        _parsed[key] = found
        while len(_parsed) > _CACHED_TEXTS:
            _parsed.popitem(last=False)
    return found


def has_documentation(text: str, language_id: str, path: str, definition: Definition) -> bool:
    """Whether `definition` already has its docstring (Python) or doc comment above it."""
    if definition.start < definition.head:
        return True  # comments directly above it
    if grammar_for(language_id, path) != "python":
        return False
    lines = text.split("\n")
    for row in range(definition.signature_end + 1, min(definition.end + 1, len(lines))):
        if lines[row].strip():
            return _PY_DOCSTRING.match(lines[row]) is not None
    return False


def find_instruction(text: str, first: int, last: int) -> Instruction | None:
    """The first `ai:` comment on rows `first..last`."""
    lines = text.split("\n")
    for row in range(max(first, 0), min(last, len(lines) - 1) + 1):
        match = _INSTRUCTION.match(lines[row])
        if match is not None and match.group("text"):
            return Instruction(match.group("text"), row)
    return None
