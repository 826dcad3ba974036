"""Documentation text helpers: page titles, reStructuredText titles as markdown headings,
and sections by heading path for retrieval.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from ai_lsp.index.docs_types import DocPage, DocSection

__all__ = ["markdown_title", "rst_to_markdown", "sections_of"]

SECTION_CHARS = 3000
_ATX_RE = re.compile(r" {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT_RE = re.compile(r" {0,3}(=+|-+)[ \t]*$")
_FENCE_RE = re.compile(r" {0,3}(`{3,}|~{3,})")
_LIST_OR_QUOTE_RE = re.compile(r" {0,3}(?:[-*+>]|\d+[.)])(?:\s|$)")
_RST_ADORNMENT_RE = re.compile(r"([!-/:-@\[-`{-~])\1{2,}[ \t]*$")
_FRONT_TITLE_RE = re.compile(r"title:\s*[\"']?(.*?)[\"']?\s*$")


def markdown_title(text: str, fallback: str) -> str:
    """Front matter ``title:``, else the first level-1 heading, else the first heading."""
    lines = text.splitlines()
    for line in lines[1 : max(_front_matter_end(lines) - 1, 1)]:
        if match := _FRONT_TITLE_RE.match(line):
            return match.group(1)
    headings = [(level, title) for level, title, _ in _headings(lines) if title]
    for level, title in headings:
        if level == 1:
            return title
    return headings[0][1] if headings else fallback


def rst_to_markdown(text: str) -> str:
    """reStructuredText with its section titles rewritten as ``#`` headings.

    Levels follow the order in which adornment styles first appear, as in docutils.
    """
    lines = text.splitlines()
    styles: list[tuple[str, bool]] = []
    out: list[str] = []
    row = 0
    while row < len(lines):
        line = lines[row]
        below = lines[row + 1] if row + 1 < len(lines) else ""
        after = lines[row + 2] if row + 2 < len(lines) else ""
        over = _RST_ADORNMENT_RE.match(line)
        if over and below.strip() and after.strip() == line.strip():
            title, style, row = below.strip(), (line.strip()[0], True), row + 3
        elif (
            line.strip()
            and not line[0].isspace()
            and not _RST_ADORNMENT_RE.match(line)
            and (under := _RST_ADORNMENT_RE.match(below))
            and len(below.rstrip()) >= len(line.rstrip())
        ):
            title, style, row = line.strip(), (under.group(1), False), row + 2
        else:
            out.append(line)
            row += 1
            continue
        if style not in styles:
            styles.append(style)
        out.append("#" * min(styles.index(style) + 1, 6) + " " + title)
    return "\n".join(out)


def sections_of(page: DocPage, max_chars: int = SECTION_CHARS) -> list[DocSection]:
    """The page split at headings; long sections split again at blank lines outside code."""
    lines = page.text.splitlines()
    starts = {row: (level, title) for level, title, row in _headings(lines)}
    path: list[tuple[int, str]] = []
    body: list[str] = []
    sections: list[DocSection] = []

    def close() -> None:
        text = "\n".join(body).strip()
        body.clear()
        heading = tuple(title for _, title in path)
        for piece in _pieces(text, max_chars):
            sections.append(DocSection(page.source, page.url, page.title, heading, piece))

    row = _front_matter_end(lines)
    while row < len(lines):
        if row not in starts:
            body.append(lines[row])
            row += 1
            continue
        close()
        level, title = starts[row]
        while path and path[-1][0] >= level:
            path.pop()
        path.append((level, title))
        row += 1 if _ATX_RE.match(lines[row]) else 2
    close()
    return sections


def _headings(lines: list[str]) -> list[tuple[int, str, int]]:
    """(level, text, row) of ATX and setext headings outside fenced code."""
    found: list[tuple[int, str, int]] = []
    fence = ""
    start = _front_matter_end(lines)
    for row in range(start, len(lines)):
        line = lines[row]
        fence_match = _FENCE_RE.match(line)
        if fence:
            if fence_match and fence_match.group(1).startswith(fence):
                fence = ""
        elif fence_match:
            fence = fence_match.group(1)
        elif atx := _ATX_RE.match(line):
            found.append((len(atx.group(1)), (atx.group(2) or "").strip(), row))
        elif (
            row + 1 < len(lines)
            and line.strip()
            and (setext := _SETEXT_RE.match(lines[row + 1]))
            and not _LIST_OR_QUOTE_RE.match(line)
            and (row == start or not lines[row - 1].strip())
        ):
            found.append((1 if setext.group(1)[0] == "=" else 2, line.strip(), row))
    return found


def _front_matter_end(lines: list[str]) -> int:
    """Row after a leading YAML front matter block (``---`` ... ``---``), else 0."""
    if not lines or lines[0].strip() != "---":
        return 0
    for row in range(1, len(lines)):
        if lines[row].strip() in ("---", "..."):
            return row + 1
    return 0


def _pieces(text: str, limit: int) -> list[str]:
    if len(text) <= limit:
        return [text] if text else []
    pieces: list[str] = []
    current: list[str] = []
    size = 0
    for block in _blocks(text):
        if current and size + len(block) > limit:
            pieces.append("\n\n".join(current))
            current, size = [], 0
        while len(block) > limit:
            cut = block.rfind("\n", 0, limit)
            cut = cut if cut > 0 else limit
            pieces.append(block[:cut])
            block = block[cut:].lstrip("\n")
        current.append(block)
        size += len(block) + 2
    if current:
        pieces.append("\n\n".join(current))
    return pieces


def _blocks(text: str) -> Iterator[str]:
    """Paragraphs and whole fenced code blocks (blank lines inside code do not split)."""
    current: list[str] = []
    fence = ""
    for line in text.splitlines():
        fence_match = _FENCE_RE.match(line)
        if fence:
            fence = "" if fence_match and fence_match.group(1).startswith(fence) else fence
        elif fence_match:
            fence = fence_match.group(1)
        elif not line.strip():
            if current:
                yield "\n".join(current)
                current = []
            continue
        current.append(line)
    if current:
        yield "\n".join(current)
