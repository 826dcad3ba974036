"""Where in a file a model means: a 1-based line and column, or a symbol's name on a line
(models miscount columns), turned into a code-point offset of the text."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ai_lsp.agent.context import ToolError
from ai_lsp.text import content_length, split_lines

__all__ = ["Spot", "line_count", "locate", "plain_name"]

_NAME = re.compile(r"[^\W\d]\w*")
_CALL_OPEN = re.compile(r"\s*\(")
_SHOWN_LINES = 8


@dataclass(frozen=True, slots=True)
class Spot:
    """A position in a file."""

    offset: int
    """Code points from the start of the text."""
    line: int
    """1-based."""
    column: int
    """1-based, in characters."""
    symbol: str
    """The name at the position ("" when there is none)."""
    note: str = ""
    """How the position differs from the one asked for, to tell the model."""


def line_count(lines: list[str]) -> int:
    """Lines of a text split by `split_lines`, not counting the empty one after a final newline."""
    return len(lines) - 1 if len(lines) > 1 and lines[-1] == "" else len(lines)


def plain_name(symbol: str) -> str:
    """The identifier a model's `symbol` names (`util.compute_total()` -> `compute_total`)."""
    name = re.split(r"\.|::|->", symbol.strip().strip("`").removesuffix("()"))[-1].strip()
    if _NAME.fullmatch(name) is None:
        raise ToolError(f"`symbol` must be a name such as `compute_total`, not {symbol!r}")
    return name


def locate(
    text: str,
    rel: str,
    *,
    line: int | None,
    column: int | None,
    symbol: str | None,
    call: bool = False,
) -> Spot:
    """The spot the arguments mean; raises `ToolError` when they do not fit the text.

    With `symbol`, its occurrence on `line` nearest to `column` (or its first one in the file
    when `line` is None). Else `line` and `column`, moved onto the nearest name on that line
    when it misses one. `call`: just inside the parentheses of the call of `symbol`.
    """
    lines = split_lines(text)
    if symbol is not None:
        return _by_name(lines, rel, plain_name(symbol), line, column, call)
    if line is None:
        raise ToolError("give `path` and `line` (with `symbol` or `column`), or `symbol`")
    content = _line(lines, line, rel)
    if column is None:
        raise ToolError(
            f"give `symbol` (or `column`) with `line`; line {line} of {rel} is `{_short(content)}`"
        )
    at = min(column - 1, len(content))
    note = f"column {column} is past the end of line {line}" if column - 1 > len(content) else ""
    names = list(_NAME.finditer(content))
    hit = next((m for m in names if m.start() <= at < m.end()), None)
    if hit is None and not call and names:
        hit = min(names, key=lambda m: min(abs(m.start() - at), abs(m.end() - at)))
        at = hit.start()
        note = (
            f"column {column} of line {line} is not on a name; used `{hit[0]}` at column {at + 1}"
        )
    return Spot(_offset(lines, line) + at, line, at + 1, hit[0] if hit else "", note)


def _by_name(
    lines: list[str], rel: str, name: str, line: int | None, column: int | None, call: bool
) -> Spot:
    word = re.compile(rf"(?<!\w){re.escape(name)}(?!\w)")
    if line is None:
        for index, text in enumerate(lines):
            if (match := word.search(text)) is not None:
                return _spot(lines, index + 1, match.start(), name, call)
        raise ToolError(f"`{name}` does not occur in {rel}")
    content = _line(lines, line, rel)
    starts = [match.start() for match in word.finditer(content)]
    if not starts:
        elsewhere = [n + 1 for n, text in enumerate(lines) if word.search(text)]
        where = (
            f"it occurs on line{'s' if len(elsewhere) > 1 else ''} {_numbers(elsewhere)}"
            if elsewhere
            else f"it does not occur in {rel} at all"
        )
        raise ToolError(f"`{name}` is not on line {line} of {rel} (`{_short(content)}`); {where}")
    wanted = starts[0] if column is None else column - 1
    return _spot(lines, line, min(starts, key=lambda start: abs(start - wanted)), name, call)


def _spot(lines: list[str], line: int, start: int, name: str, call: bool) -> Spot:
    at = start
    if call:
        content = lines[line - 1][: content_length(lines[line - 1])]
        opening = _CALL_OPEN.match(content, start + len(name))
        if opening is None:
            raise ToolError(
                f"`{name}` on line {line} is not called there (no `(` after it); "
                "signature_help needs the line of a call"
            )
        at = opening.end()
    return Spot(_offset(lines, line) + at, line, at + 1, name)


def _line(lines: list[str], line: int, rel: str) -> str:
    count = line_count(lines)
    if line > count:
        raise ToolError(f"{rel} has {count} lines; there is no line {line}")
    return lines[line - 1][: content_length(lines[line - 1])]


def _offset(lines: list[str], line: int) -> int:
    return sum(len(text) for text in lines[: line - 1])


def _short(content: str) -> str:
    text = content.strip()
    return text if len(text) <= 120 else text[:117] + "..."


def _numbers(numbers: list[int]) -> str:
    shown = ", ".join(map(str, numbers[:_SHOWN_LINES]))
    extra = len(numbers) - _SHOWN_LINES
    return shown + (f" and {extra} more" if extra > 0 else "")
