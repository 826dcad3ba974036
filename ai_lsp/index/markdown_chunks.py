"""Markdown sections by heading (ATX ``#`` and setext underlines), outside fenced code blocks."""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import pairwise

__all__ = ["markdown_sections"]

_ATX_RE = re.compile(r" {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT_RE = re.compile(r" {0,3}(?:=+|-+)[ \t]*$")
_FENCE_RE = re.compile(r" {0,3}(`{3,}|~{3,})")
_LIST_OR_QUOTE_RE = re.compile(r" {0,3}(?:[-*+>]|\d+[.)])(?:\s|$)")


def markdown_sections(lines: Sequence[str]) -> list[tuple[str, int, int]]:
    """(heading text, first row, last row) per section; rows are 0-based and inclusive.

    Text before the first heading is a section with an empty heading; a heading followed
    only by blank lines is folded into the next section, so no chunk is a bare title.
    """
    headings = _headings(lines)
    sections: list[tuple[str, int, int]] = []
    bounds = [*headings, ("", len(lines))]
    if bounds[0][1] > 0:
        sections.append(("", 0, bounds[0][1] - 1))
    pending_start: int | None = None
    for (title, start), (_, following) in pairwise(bounds):
        first = start if pending_start is None else pending_start
        body = lines[start + 1 : following]
        if following < len(lines) and not any(line.strip() for line in body):
            pending_start = first
            continue
        sections.append((title, first, following - 1))
        pending_start = None
    return [section for section in sections if _has_text(lines, section)]


def _headings(lines: Sequence[str]) -> list[tuple[str, int]]:
    """(text, row) of each heading; a setext heading's row is its text line."""
    found: list[tuple[str, int]] = []
    fence: str | None = None
    row = _front_matter_end(lines)
    while row < len(lines):
        line = lines[row]
        fence_match = _FENCE_RE.match(line)
        if fence is not None:
            if (
                fence_match
                and fence_match.group(1)[0] == fence[0]
                and len(fence_match.group(1)) >= len(fence)
            ):
                fence = None
        elif fence_match:
            fence = fence_match.group(1)
        elif (atx := _ATX_RE.match(line)) is not None:
            found.append(((atx.group(2) or "").strip(), row))
        elif (
            row + 1 < len(lines)
            and line.strip()
            and _SETEXT_RE.match(lines[row + 1])
            and not _LIST_OR_QUOTE_RE.match(line)
            and (row == 0 or not lines[row - 1].strip())
        ):
            found.append((line.strip(), row))
            row += 1
        row += 1
    return found


def _front_matter_end(lines: Sequence[str]) -> int:
    """Row after a leading YAML front matter block (``---`` ... ``---``), else 0."""
    if not lines or lines[0].strip() != "---":
        return 0
    for row in range(1, len(lines)):
        if lines[row].strip() in {"---", "..."}:
            return row + 1
    return 0


def _has_text(lines: Sequence[str], section: tuple[str, int, int]) -> bool:
    return any(line.strip() for line in lines[section[1] : section[2] + 1])
