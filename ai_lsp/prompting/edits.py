"""The edit formats models answer with (fenced code, search/replace blocks, drafts elided
with `... existing code ...`) and the apply step that merges them into a file."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

from ai_lsp.prompting.anchoring import (
    Anchoring,
    Edit,
    Line,
    Span,
    TextLines,
    content_lines,
    find_block,
    fit_indent,
    indent_width,
    shift_indent,
)
from ai_lsp.prompting.postprocess import extract_fenced

WHOLE_FILE_RATIO = 0.6
"""Least line similarity for a draft without elisions to be taken as the whole file."""

_SEARCH = re.compile(r"[ \t]*<{5,9}[ \t]*(?:SEARCH|ORIGINAL)\b.*", re.IGNORECASE)
_DIVIDER = re.compile(r"[ \t]*={5,9}[ \t]*")
_REPLACE = re.compile(r"[ \t]*>{5,9}[ \t]*(?:REPLACE|UPDATED)\b.*", re.IGNORECASE)
_COMMENT = re.compile(r"\s*(?:#+|//+|--+|;+|%+|/\*+|<!--|\{/\*+)(?P<body>.*?)(?:\*+/\}?|-->)?\s*")
_FENCE = re.compile(r"^[ \t]*(?:`{3,}|~{3,})", re.MULTILINE)
_DOTS = ("...", "…", "⋮")
_ELISION_VOCABULARY = """
    above and as before below body class code content earlier etc existing file function
    functions here imports implementation is it keep kept lines logic method methods more of
    omitted original other previous remain remaining remains rest same skipped stay stays the
    unchanged unmodified untouched
"""
_ELISION_WORDS = frozenset(_ELISION_VOCABULARY.split())
_PROSE_LINE = re.compile(r"(?:[^\W_]|[\s,.;:!?'’\"()`*/-])+")
_MIN_PROSE_WORDS = 3


@dataclass(frozen=True, slots=True)
class SearchReplace:
    """One search/replace block: the text `search` in the file becomes `replace`."""

    search: str
    replace: str


@dataclass(frozen=True, slots=True)
class Failure:
    """A block that could not be applied: its index among the blocks and why, for the user."""

    block_index: int
    reason: str


@dataclass(frozen=True, slots=True)
class ApplyResult:
    """The text after the blocks that could be applied, and those that could not."""

    text: str
    applied: int
    failed: list[Failure]


@dataclass(frozen=True, slots=True)
class MergeResult:
    """The merged text, or None and a reason the user can act on."""

    text: str | None
    reason: str | None


@dataclass(frozen=True, slots=True)
class TextChange:
    """Characters `start:end` of the old text (code points) replaced by `text`."""

    start: int
    end: int
    text: str


def extract_code(answer: str) -> str | None:
    """The code a model answered with, or None when the answer holds none.

    The first fenced block wins (``` or ~~~, any info string; an unclosed fence runs to the
    end). Without one, the answer is code unless it reads as prose: its opening and closing
    paragraphs are dropped when they read as sentences (a capital first letter, a final
    `.`, `:`, `!` or `?`, and only words and punctuation in between), and so is a first line
    such as "Here is the fix:"; nothing left means None. Line breaks come back as "\\n",
    leading blank lines and trailing whitespace are dropped, and the code ends with one "\\n".
    """
    text = answer.replace("\r\n", "\n")
    code = extract_fenced(text)
    if code is not None and not code.strip():
        fence = _FENCE.search(text)  # only a closing fence: the code is what comes before it
        code = _without_prose(text[: fence.start()]) if fence else None
    elif code is None:
        code = _without_prose(text)
    if code is None or not code.strip():
        return None
    lines = code.split("\n")
    while not lines[0].strip():
        lines.pop(0)
    return "\n".join(lines).rstrip() + "\n"


def _without_prose(text: str) -> str | None:
    lines = text.split("\n")
    paragraphs: list[tuple[int, int]] = []
    for index, line in enumerate(lines):
        if line.strip() and (not paragraphs or paragraphs[-1][1] < index):
            paragraphs.append((index, index + 1))
        elif line.strip():
            paragraphs[-1] = (paragraphs[-1][0], index + 1)
    while paragraphs and _reads_as_prose(lines[slice(*paragraphs[0])]):
        paragraphs.pop(0)
    while paragraphs and _reads_as_prose(lines[slice(*paragraphs[-1])]):
        paragraphs.pop()
    if not paragraphs:
        return None
    start, stop = paragraphs[0][0], paragraphs[-1][1]
    if (
        stop - start > 1
        and lines[start].rstrip().endswith(":")
        and _reads_as_prose(lines[start : start + 1])
    ):
        start += 1  # "Here is the fix:" right above the code
    return "\n".join(lines[start:stop])


def _reads_as_prose(paragraph: Sequence[str]) -> bool:
    text = " ".join(line.strip() for line in paragraph)
    return (
        text[:1].isupper()
        and text[-1:] in {".", ":", "!", "?"}
        and len(text.split()) >= _MIN_PROSE_WORDS
        and all(_PROSE_LINE.fullmatch(line.strip()) for line in paragraph)
    )


def parse_search_replace(answer: str) -> list[SearchReplace]:
    """The complete search/replace blocks in `answer`, in order.

    A block is `<<<<<<< SEARCH`, the lines to find, `=======`, their replacement and
    `>>>>>>> REPLACE` (5 to 9 marker characters; ORIGINAL/UPDATED are accepted too). Fences
    and file-name lines around blocks are ignored, CRLF is read as LF, and a block cut off
    before its closing marker is dropped. Both texts are whole lines, each ending in "\\n".
    """
    blocks: list[SearchReplace] = []
    search: list[str] = []
    replace: list[str] = []
    state = ""
    for line in answer.replace("\r\n", "\n").split("\n"):
        if _SEARCH.fullmatch(line):
            state, search = "search", []
        elif state == "search" and _DIVIDER.fullmatch(line):
            state, replace = "replace", []
        elif state == "search" and _REPLACE.fullmatch(line):
            state = ""  # no divider: not a block
        elif state == "replace" and _REPLACE.fullmatch(line):
            blocks.append(SearchReplace(_joined(search), _joined(replace)))
            state = ""
        elif state:
            (search if state == "search" else replace).append(line)
    return blocks


def apply_search_replace(text: str, blocks: Sequence[SearchReplace]) -> ApplyResult:
    """`text` with the blocks applied in order, each to the text the previous ones left.

    A block's search text is found exactly (a unique occurrence, or the only one spanning
    whole lines), else line by line ignoring trailing whitespace, else up to a uniform
    indentation difference (the replacement is re-indented by it), else fuzzily. An empty
    search text only applies to an empty file. New text takes the file's line endings.
    """
    failed: list[Failure] = []
    for index, block in enumerate(blocks):
        text, reason = _apply_block(text, block)
        if reason is not None:
            failed.append(Failure(index, reason))
    return ApplyResult(text, len(blocks) - len(failed), failed)


def _apply_block(text: str, block: SearchReplace) -> tuple[str, str | None]:
    """The text with the block applied, or the text as it was and why not."""
    lines = TextLines.of(text)
    replace = _with_newline(block.replace, lines.newline)
    if not block.search:
        if text.strip():
            return text, "the search text is empty but the file is not"
        return replace, None
    for search in dict.fromkeys((block.search, _with_newline(block.search, lines.newline))):
        starts = _occurrences(text, search)
        if len(starts) > 1:
            whole = [start for start in starts if _whole_lines(text, start, start + len(search))]
            starts = whole if len(whole) == 1 else starts
        if len(starts) == 1:
            return text[: starts[0]] + replace + text[starts[0] + len(search) :], None
        if starts:
            return text, f"the searched text occurs {len(starts)} times"
    search_lines = _lines_of(block.search)
    found = find_block(lines.texts, search_lines)
    if isinstance(found, str):
        return text, found
    new = shift_indent(_lines_of(block.replace), found.have, found.want)
    return lines.splice([(found.start, found.start + len(search_lines), new)]), None


def _occurrences(text: str, search: str) -> list[int]:
    starts, start = [], text.find(search)
    while start != -1:
        starts.append(start)
        start = text.find(search, start + 1)
    return starts


def _whole_lines(text: str, start: int, end: int) -> bool:
    return (start == 0 or text[start - 1] == "\n") and (
        end == len(text) or text[end - 1] == "\n" or text[end] in "\r\n"
    )


def merge_draft(text: str, draft: str, region: tuple[int, int] | None = None) -> MergeResult:
    """`text` with `draft`, code a chat model wrote, merged in.

    The draft is cut into segments at elision lines: a comment holding `...` (or `…`) such
    as `// ... existing code ...` or `# ... rest unchanged ...`; a bare `...` is code (an
    Ellipsis in Python). Each segment replaces the span of the file between the lines its
    first and last lines anchor on (equal up to whitespace, else edited in place), in
    order, inside `region` when given; text outside the spans is kept, so a missing leading
    or trailing elision is implied. A draft without elisions replaces `region` when given,
    else the span its first and last lines anchor uniquely, else the whole file when it
    looks like the whole file. `region` (offsets into `text`) is widened to whole lines;
    an empty one counts as none. Kept lines stay byte for byte; new ones take the file's
    line endings and, when the draft is dedented, the indentation of what they replace.
    """
    if region is not None and not 0 <= region[0] <= region[1] <= len(text):
        raise ValueError(f"region {region} is outside the text (length {len(text)})")
    lines = TextLines.of(text)
    draft_lines = _lines_of(draft)
    segments, elided = _segments(draft_lines)
    if not segments:
        return MergeResult(None, "the draft holds no code to apply")
    window = None
    if region is not None and region[0] < region[1]:
        window = _region_lines(text, region)
    if not elided:
        code = _trimmed(draft_lines)
        edits = _place_in_region(lines, window, code) if window else _place_whole(lines, code)
    else:
        edits = _place_segments(lines, window or (0, len(lines.texts)), segments)
    if isinstance(edits, str):
        return MergeResult(None, edits)
    return MergeResult(lines.splice(edits), None)


@dataclass(frozen=True, slots=True)
class _Segment:
    lines: list[str]
    """Draft lines between elisions, blank lines at the edges included."""
    elided_before: bool
    elided_after: bool
    elision_width: int
    """Indentation of the elision after the segment (0 when there is none)."""


def _segments(draft_lines: Sequence[str]) -> tuple[list[_Segment], bool]:
    """The draft cut at elision lines (only segments with code), and whether it had any."""
    segments: list[_Segment] = []
    current: list[str] = []
    elided = False
    for line in draft_lines:
        if not _is_elision(line):
            current.append(line)
            continue
        if any(part.strip() for part in current):
            segments.append(_Segment(current, elided, True, indent_width(line)))
        current, elided = [], True
    if any(part.strip() for part in current):
        segments.append(_Segment(current, elided, False, 0))
    return segments, elided


def _is_elision(line: str) -> bool:
    """Whether `line` is a comment standing for omitted code: `...` (or `…`, `⋮`) at both
    ends of the comment, or at one end with only words such as "existing code" or
    "rest unchanged" besides."""
    comment = _COMMENT.fullmatch(line)
    if comment is None:
        return False
    body = comment["body"].strip(" \t[](){}")
    opens, closes = body.startswith(_DOTS), body.endswith(_DOTS)
    if opens and closes:
        return True
    words = re.findall(r"[A-Za-z]+", body)
    return (opens or closes) and all(word.lower() in _ELISION_WORDS for word in words)


def _place_in_region(lines: TextLines, window: tuple[int, int], code: list[str]) -> list[Edit]:
    start, stop = window
    content = content_lines(lines.texts, start, stop)
    if content:  # blank lines around the selection stay where they are
        start, stop = content[0].index, content[-1].index + 1
    return [(start, stop, fit_indent(code, lines.texts[start:stop]))]


def _place_whole(lines: TextLines, code: list[str]) -> list[Edit] | str:
    content = content_lines(lines.texts)
    body = content_lines(code)
    everything: list[Edit] = [(0, len(lines.texts), code)]
    if not content or (content[0].key, content[-1].key) == (body[0].key, body[-1].key):
        return everything
    spans = Anchoring(content).anchor(body, 0, len(content), None, closed=True)
    if spans:
        tied = [span for span in spans if span.rank == spans[0].rank]
        if len(tied) > 1:
            return _ambiguous(body[tied[0].head], len(tied))
        if spans[0].head == 0 or 2 * spans[0].matched >= len(body):
            return [_replacement(lines, content, spans[0], code)]
    keys = ([line.key for line in content], [line.key for line in body])
    if SequenceMatcher(None, *keys, autojunk=False).ratio() >= WHOLE_FILE_RATIO and (
        content[0].key == body[0].key or content[-1].key == body[-1].key
    ):
        return everything
    return (
        f"could not find where the draft goes: its first line {_quote(body[0])} is not in the "
        "file; select the code it replaces and apply again"
    )


def _place_segments(
    lines: TextLines, window: tuple[int, int], segments: Sequence[_Segment]
) -> list[Edit] | str:
    content = content_lines(lines.texts, *window)
    anchoring = Anchoring(content)
    edits: list[Edit] = []
    lo, delta = 0, None
    for number, segment in enumerate(segments):
        body = content_lines(segment.lines)
        closed = not segment.elided_after or segment.elision_width <= body[0].width
        at_end = number == len(segments) - 1 and not segment.elided_after
        spans = anchoring.anchor(body, lo, len(content), delta, closed, latest=at_end)
        if not spans:
            edit = _insertion(lines, anchoring, window, segments, number, lo)
            if isinstance(edit, str):
                return edit
            edits.append(edit)
            continue
        tied = [span for span in spans if span.rank == spans[0].rank]
        if number == 0 and segment.elided_before and not at_end and len(tied) > 1:
            return _ambiguous(body[tied[0].head], len(tied))
        edits.append(_replacement(lines, content, spans[0], segment.lines))
        lo, delta = spans[0].last + 1, spans[0].delta
    return edits


def _insertion(
    lines: TextLines,
    anchoring: Anchoring,
    window: tuple[int, int],
    segments: Sequence[_Segment],
    number: int,
    lo: int,
) -> Edit | str:
    """Where a segment that quotes nothing from the file goes: only at the end of the file
    (region) after an elision, or at its start before one; anywhere else is a guess."""
    segment = segments[number]
    body = content_lines(segment.lines)
    content = anchoring.lines
    quoted = any(not line.trivial and anchoring.exact(line.key, lo, len(content)) for line in body)
    if not quoted and number == len(segments) - 1 and not segment.elided_after:
        at = content[-1].index + 1 if content else window[0]
        new = segment.lines[: _last_content(segment.lines) + 1]
        return (at, at, new)
    if not quoted and number == 0 and not segment.elided_before:
        at = content[0].index if content else window[0]
        return (at, at, segment.lines[_first_content(segment.lines) :])
    return (
        f"could not find where the draft's lines from {_quote(body[0])} go; include an unchanged "
        "line from the file before and after the change"
    )


def _replacement(lines: TextLines, content: Sequence[Line], span: Span, draft: list[str]) -> Edit:
    """The edit putting a draft segment in place of its span. Blank lines at the segment's
    edges are dropped, except next to new lines where the file has no blank line."""
    start, stop = content[span.first].index, content[span.last].index + 1
    first, last = _first_content(draft), _last_content(draft)
    if span.head > 0 and start > 0 and lines.texts[start - 1].strip():
        first = 0
    if (
        span.tail < sum(1 for line in draft if line.strip()) - 1
        and stop < len(lines.texts)
        and lines.texts[stop].strip()
    ):
        last = len(draft) - 1
    return (start, stop, fit_indent(draft[first : last + 1], lines.texts[start:stop]))


def line_changes(old: str, new: str) -> list[TextChange]:
    """The line-granular changes turning `old` into `new`, ascending and not overlapping,
    so that unchanged lines stay untouched in the editor (marks, folds, cursor). Applied in
    reverse order to `old` they give `new` exactly."""
    before, after = _lines_with_ends(old), _lines_with_ends(new)
    # Lines shared at both ends are matched up front: the same changes, far less work.
    head = 0
    while head < min(len(before), len(after)) and before[head] == after[head]:
        head += 1
    tail = 0
    while tail < min(len(before), len(after)) - head and before[-1 - tail] == after[-1 - tail]:
        tail += 1
    offsets = [0]
    for line in before:
        offsets.append(offsets[-1] + len(line))
    middle = (before[head : len(before) - tail], after[head : len(after) - tail])
    matcher = SequenceMatcher(None, *middle, autojunk=False)
    return [
        TextChange(offsets[head + i1], offsets[head + i2], "".join(middle[1][j1:j2]))
        for tag, i1, i2, j1, j2 in matcher.get_opcodes()
        if tag != "equal"
    ]


def _lines_with_ends(text: str) -> list[str]:
    parts = text.split("\n")
    return [part + "\n" for part in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def _lines_of(text: str) -> list[str]:
    """`text` as lines without endings; a final newline does not start another line."""
    parts = text.replace("\r\n", "\n").split("\n")
    return parts[:-1] if parts[-1] == "" else parts


def _joined(lines: Sequence[str]) -> str:
    return "".join(line + "\n" for line in lines)


def _with_newline(text: str, newline: str) -> str:
    return text.replace("\r\n", "\n").replace("\n", newline)


def _trimmed(lines: list[str]) -> list[str]:
    return lines[_first_content(lines) : _last_content(lines) + 1]


def _first_content(lines: Sequence[str]) -> int:
    return next(index for index, line in enumerate(lines) if line.strip())


def _last_content(lines: Sequence[str]) -> int:
    return max(index for index, line in enumerate(lines) if line.strip())


def _region_lines(text: str, region: tuple[int, int]) -> tuple[int, int]:
    start, end = region
    last = text.count("\n", 0, end) - (text[end - 1] == "\n")
    return text.count("\n", 0, start), last + 1


def _ambiguous(line: Line, count: int) -> str:
    return (
        f"the draft's line {_quote(line)} fits {count} places in the file equally well; "
        "select the code to change and apply again"
    )


def _quote(line: Line) -> str:
    text = line.text.strip()
    return repr(text if len(text) <= 60 else text[:57] + "...")
