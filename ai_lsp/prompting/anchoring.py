"""Where drafted code belongs in a file: lines kept with their endings, indentation, and the
matching behind search/replace blocks and elided drafts (used by `ai_lsp.prompting.edits`).
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from itertools import pairwise

TAB_SIZE = 4
"""Columns a tab counts for when indentations are compared."""
BLOCK_FUZZY = 0.92
"""Least similarity between a search block and a window of the file of the same line count."""
RIVAL_DISTANCE = 2.0
"""The best fuzzy window must be clearly ahead: every other window not overlapping it must
differ from the search at least this many times as much (1 - ratio) as it does."""
RESEMBLANCE = 0.6
"""Least similarity for an edited line ("timeout = 30") to stand for its old version
("timeout = 10"); both must also be about the same thing (see `Line.topic`)."""
MAX_HEADERS = 3
"""Lines at a block's indentation before its body (decorators, a signature)."""
TAIL_REACH = 10
"""Beyond twice its own length, how many lines past its head a segment's last line may
anchor (whole blocks aside): a far-away "return None" must not swallow the code between."""
MAX_CANDIDATES = 64
"""Positions tried for a segment's first or last line (lines such as "}" occur often)."""

NOT_FOUND = "the searched text was not found"
_CLOSER = re.compile(r"[)\]}]|end\b")
_TOPIC_END = re.compile(r"=|\(|\{|\[|<|(?<!:):(?!:)")
_TRIVIAL_VOCABULARY = """
    begin break continue default do done else end esac fi finally pass return then try
"""
_TRIVIAL_WORDS = frozenset(_TRIVIAL_VOCABULARY.split())

Edit = tuple[int, int, Sequence[str]]
"""Lines `start:stop` of a text replaced by new lines."""


@dataclass(frozen=True, slots=True)
class TextLines:
    """A text as lines without their endings plus each line's ending ("" for a last line
    without one), so that lines left alone are written back byte for byte."""

    texts: list[str]
    ends: list[str]
    newline: str
    """The ending for new lines: CRLF when most lines end so, else LF."""

    @classmethod
    def of(cls, text: str) -> TextLines:
        parts = text.split("\n")
        texts = [part.removesuffix("\r") for part in parts[:-1]]
        ends = ["\r\n" if part.endswith("\r") else "\n" for part in parts[:-1]]
        if parts[-1]:
            texts.append(parts[-1])
            ends.append("")
        crlf = ends.count("\r\n")
        return cls(texts, ends, "\r\n" if crlf > ends.count("\n") else "\n")

    def splice(self, edits: Iterable[Edit]) -> str:
        """The text with each edit applied (ascending, not overlapping); new lines get the
        text's newline, and the result ends with a newline exactly when the text did."""
        out: list[list[str]] = []
        position = 0
        for start, stop, new in edits:
            out.extend(
                [text, end]
                for text, end in zip(
                    self.texts[position:start], self.ends[position:start], strict=True
                )
            )
            out.extend([line, self.newline] for line in new)
            position = stop
        out.extend(
            [text, end]
            for text, end in zip(self.texts[position:], self.ends[position:], strict=True)
        )
        for item in out:
            item[1] = item[1] or self.newline  # a last line that is no longer last
        if out and self.ends and not self.ends[-1]:
            out[-1][1] = ""
        return "".join(text + end for text, end in out)


@dataclass(frozen=True, slots=True)
class Line:
    """A non-blank line as anchoring sees it."""

    index: int
    text: str
    key: str
    """The text with whitespace normalised: lines are equal when their keys are."""
    width: int
    """Indentation in columns."""
    topic: str
    """What the line is about: the key before its first `=`, bracket or single colon, so
    "timeout = 30" can stand for "timeout = 10" but "self.b = b" never for "self.c = c"."""
    trivial: bool
    """Lines such as "}", ");" or "else:" occur everywhere and prove nothing on their own."""


def content_lines(texts: Sequence[str], start: int = 0, stop: int | None = None) -> list[Line]:
    """The non-blank lines among `texts[start:stop]`."""
    lines = []
    for index in range(start, len(texts) if stop is None else stop):
        key = " ".join(texts[index].split())
        if key:
            topic = _TOPIC_END.split(key, maxsplit=1)[0].strip()
            trivial = not any(c.isalnum() for c in key) or key.strip(":;,{}()[] ") in _TRIVIAL_WORDS
            lines.append(Line(index, texts[index], key, indent_width(texts[index]), topic, trivial))
    return lines


def indent_of(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def indent_width(line: str) -> int:
    return len(indent_of(line).expandtabs(TAB_SIZE))


def common_indent(lines: Iterable[str]) -> str:
    """The shallowest indentation of the non-blank `lines`."""
    indents = [indent_of(line) for line in lines if line.strip()]
    return min(indents, key=lambda indent: len(indent.expandtabs(TAB_SIZE)), default="")


def shift_indent(lines: Iterable[str], have: str, want: str) -> list[str]:
    """`lines` with the leading `have` of each non-blank line replaced by `want` (lines
    that do not start with `have` are left as they are)."""
    return [
        want + line[len(have) :] if line.strip() and line.startswith(have) else line
        for line in lines
    ]


def fit_indent(new: Sequence[str], old: Sequence[str]) -> list[str]:
    """`new` in `old`'s tabs when `old` indents with tabs and `new` with spaces, and shifted
    right to `old`'s indentation when it is shallower (a method quoted without its class)."""
    lines = list(new)
    old_indents = [indent_of(line) for line in old if line.strip() and indent_of(line)]
    if old_indents and all(indent.startswith("\t") for indent in old_indents):
        lines = _spaces_to_tabs(lines)
    have, want = common_indent(lines), common_indent(old)
    if len(have.expandtabs(TAB_SIZE)) < len(want.expandtabs(TAB_SIZE)):
        return shift_indent(lines, have, want)
    return lines


def _spaces_to_tabs(lines: list[str]) -> list[str]:
    indents = [indent_of(line) for line in lines if line.strip() and indent_of(line)]
    if not indents or any("\t" in indent for indent in indents):
        return lines
    unit = min(len(indent) for indent in indents)
    return [
        "\t" * (len(indent_of(line)) // unit)
        + " " * (len(indent_of(line)) % unit)
        + line.lstrip(" ")
        if line.strip()
        else line
        for line in lines
    ]


def resemblance(old: Line, new: Line) -> float:
    """How well `new` can stand for an edited `old`: 0 unless both are about the same thing."""
    if old.trivial or new.trivial or old.topic != new.topic:
        return 0.0
    return SequenceMatcher(None, old.key, new.key, autojunk=False).ratio()


@dataclass(frozen=True, slots=True)
class BlockMatch:
    """Where a search block's lines are, and the indentation to swap in its replacement."""

    start: int
    have: str
    want: str


def find_block(texts: Sequence[str], search: Sequence[str]) -> BlockMatch | str:
    """Where the lines `search` are in `texts`, or why they cannot be placed: equal after
    trailing whitespace is dropped, then up to a uniform indentation difference, then
    fuzzily over windows of the same line count (a unique best, clearly ahead)."""
    for strategy in (_trailing_whitespace_hits, _indentation_hits):
        hits = strategy(texts, search)
        if len(hits) == 1:
            return hits[0]
        if hits:
            return f"the searched text occurs {len(hits)} times"
    return _fuzzy_hit(texts, search)


def _trailing_whitespace_hits(texts: Sequence[str], search: Sequence[str]) -> list[BlockMatch]:
    want = [line.rstrip() for line in search]
    size = len(want)
    return [
        BlockMatch(start, "", "")
        for start in range(len(texts) - size + 1)
        if texts[start].rstrip() == want[0]
        and [line.rstrip() for line in texts[start : start + size]] == want
    ]


def _indentation_hits(texts: Sequence[str], search: Sequence[str]) -> list[BlockMatch]:
    have = common_indent(search)
    target = _dedented(search, have)
    first = next((i for i, line in enumerate(search) if line.strip()), None)
    if target is None or first is None:
        return []
    hits = []
    for start in range(len(texts) - len(search) + 1):
        if texts[start + first].strip() != search[first].strip():
            continue
        window = texts[start : start + len(search)]
        want = common_indent(window)
        if _dedented(window, want) == target:
            hits.append(BlockMatch(start, have, want))
    return hits


def _dedented(lines: Sequence[str], indent: str) -> list[str] | None:
    if any(line.strip() and not line.startswith(indent) for line in lines):
        return None  # tabs in some lines, spaces in others: not a uniform difference
    return [line.rstrip()[len(indent) :] if line.strip() else "" for line in lines]


def _fuzzy_hit(texts: Sequence[str], search: Sequence[str]) -> BlockMatch | str:
    size = len(search)
    if not size or size > len(texts):
        return NOT_FOUND
    stripped = [line.strip() for line in texts]
    matcher = SequenceMatcher(None, autojunk=False)
    matcher.set_seq2("\n".join(line.strip() for line in search))
    floor = 1 - RIVAL_DISTANCE * (1 - BLOCK_FUZZY)  # the least ratio a rival can have
    scored: list[tuple[float, int]] = []
    for start in range(len(texts) - size + 1):
        matcher.set_seq1("\n".join(stripped[start : start + size]))
        if matcher.real_quick_ratio() >= floor and matcher.quick_ratio() >= floor:
            ratio = matcher.ratio()
            if ratio >= floor:
                scored.append((ratio, start))
    if not scored:
        return NOT_FOUND
    best, at = max(scored, key=lambda item: (item[0], -item[1]))
    if best < BLOCK_FUZZY:
        return NOT_FOUND
    # Windows shifted by a line or two overlap the best one and are naturally close to it.
    rivals, end = 0, -1
    for ratio, start in scored:
        rival = 1 - ratio <= RIVAL_DISTANCE * (1 - best)
        if rival and abs(start - at) >= size and start > end:
            rivals, end = rivals + 1, start + size - 1
    if rivals:
        return f"the searched text matches {rivals + 1} places about equally well"
    return BlockMatch(at, common_indent(search), common_indent(texts[at : at + size]))


@dataclass(frozen=True, slots=True)
class Span:
    """Content lines `first..last` (inclusive) of the file that a draft segment replaces;
    `head` and `tail` are the segment lines anchored on them (lines before `head` and
    after `tail` are new)."""

    first: int
    last: int
    head: int
    tail: int
    matched: int
    """Segment lines found among the span's lines."""
    rank: tuple[int, int]
    """(indentation agreement 0-2, matched minus unmatched lines): higher is better."""
    delta: int
    """File indentation minus draft indentation at the head."""


class Anchoring:
    """The content lines of a file (or of a region of it), indexed to anchor draft segments."""

    def __init__(self, lines: Sequence[Line]) -> None:
        self.lines = list(lines)
        self._at: defaultdict[str, list[int]] = defaultdict(list)
        for position, line in enumerate(self.lines):
            self._at[line.key].append(position)

    def exact(self, key: str, lo: int, hi: int) -> list[int]:
        found = self._at.get(key, [])
        return found[bisect_left(found, lo) : bisect_left(found, hi)]

    def find(self, line: Line, lo: int, hi: int) -> list[int]:
        """Positions in `lo:hi` of `line`, else of the lines it resembles best."""
        found = self.exact(line.key, lo, hi)
        if found:
            return found[:MAX_CANDIDATES]
        scored = [(resemblance(self.lines[p], line), p) for p in range(lo, hi)]
        best = max((score for score, _ in scored), default=0.0)
        if best < RESEMBLANCE:
            return []
        return [p for score, p in scored if score == best][:MAX_CANDIDATES]

    def anchor(
        self,
        segment: Sequence[Line],
        lo: int,
        hi: int,
        delta: int | None,
        closed: bool,
        latest: bool = False,
    ) -> list[Span]:
        """Candidate spans in `lo:hi` for `segment`, best first; among equals the earliest,
        or the latest when `latest` (the draft ends with this segment, like the file).

        `delta` is the indentation difference found for the previous segment; `closed`
        says nothing of the segment's last block is elided, so a segment made of whole
        blocks (headers with indented bodies) replaces whole blocks of the file.
        """
        spans = []
        heads = self.find(segment[0], lo, hi)
        for first in heads:
            last, tail = self._tail(segment, first, hi, closed)
            spans.append(self._span(segment, first, last, 0, tail, delta))
        if not heads and len(segment) > 1:
            for last in self.find(segment[-1], lo, hi):
                first, head = self._walk(segment, last, len(segment) - 1, -1, lo, hi)
                spans.append(self._span(segment, first, last, head, len(segment) - 1, delta))
        order = 1 if latest else -1
        return sorted(spans, key=lambda span: (span.rank, order * span.first), reverse=True)

    def _tail(self, segment: Sequence[Line], first: int, hi: int, closed: bool) -> tuple[int, int]:
        if len(segment) == 1:
            return first, 0
        end = self._block_end(segment, first, hi) if closed else None
        if end is not None:
            return end, len(segment) - 1
        reach = min(hi, first + 2 * len(segment) + TAIL_REACH)
        tails = self.find(segment[-1], first + 1, reach)
        if tails:
            return self._best_tail(segment, first, tails), len(segment) - 1
        return self._walk(segment, first, 0, 1, first, hi)

    def _best_tail(self, segment: Sequence[Line], first: int, tails: list[int]) -> int:
        """The tail with the same indentation relative to the head as in the segment,
        then the one leaving the fewest lines unexplained (not simply the nearest "}")."""
        wanted = Counter(line.key for line in segment)
        delta = self.lines[first].width - segment[0].width
        candidates = set(tails)
        scored: list[tuple[bool, int, int]] = []
        matched = 0
        for position in range(first, tails[-1] + 1):
            key = self.lines[position].key
            if wanted[key] > 0:
                wanted[key] -= 1
                matched += 1
            if position in candidates:
                agrees = self.lines[position].width - segment[-1].width == delta
                scored.append((agrees, 2 * matched - (position - first + 1), -position))
        return -max(scored)[2]

    def _walk(
        self, segment: Sequence[Line], at: int, index: int, step: int, lo: int, hi: int
    ) -> tuple[int, int]:
        """From `segment[index]` anchored at `at`, follow the lines that stay equal or
        were edited in place; returns the last solid (position, index) reached."""
        delta = self.lines[at].width - segment[index].width
        solid = (at, index)
        position = at
        while 0 <= index + step < len(segment) and lo <= position + step < hi:
            old, new = self.lines[position + step], segment[index + step]
            if old.key == new.key:
                position, index = position + step, index + step
                if not new.trivial:
                    solid = (position, index)
            elif (
                solid == (position, index)  # an edit right after "}" is as likely a new block
                and old.width - new.width == delta
                and resemblance(old, new) >= RESEMBLANCE
            ):
                position, index = position + step, index + step
                solid = (position, index)
            else:
                break
        return solid

    def _block_end(self, segment: Sequence[Line], first: int, hi: int) -> int | None:
        """When `segment` is whole blocks (headers with indented bodies, such as methods),
        the end of the last block among the siblings of the one at `first` whose header the
        segment has; blocks it does not have after that one stay (they may be new)."""
        shape = _block_shape(segment)
        if shape is None:
            return None
        headers, closes = shape
        base = self.lines[first].width
        end, position = None, first
        while position < hi and self.lines[position].width >= base:
            line = self.lines[position]
            if line.width == base and (position == first or line.key in headers):
                position = end = self._end_of_block(position, hi)
            position += 1
        if end is None or end == first or (self.lines[end].width == base) != closes:
            return None
        # A class quoted with some of its methods is not the whole class, whatever the
        # indentation of the elision after it says: never drop the methods it left out.
        nested = self._nested_headers(first, end)
        keys = {line.key for line in segment}
        if nested & keys and nested - keys:
            return None
        return end

    def _nested_headers(self, first: int, end: int) -> set[str]:
        """The headers of the blocks one level inside the block `first..end`."""
        body = self.lines[first + 1 : end + 1]
        level = min(
            (line.width for line in body if line.width > self.lines[first].width), default=0
        )
        return {
            line.key
            for line, following in pairwise(body)
            if line.width == level and following.width > level
        }

    def _end_of_block(self, position: int, hi: int) -> int:
        base = self.lines[position].width
        while position + 1 < hi and (
            self.lines[position + 1].width > base
            or (
                self.lines[position + 1].width == base
                and _CLOSER.match(self.lines[position + 1].key)
            )
        ):
            position += 1
        return position

    def _span(
        self,
        segment: Sequence[Line],
        first: int,
        last: int,
        head: int,
        tail: int,
        delta: int | None,
    ) -> Span:
        head_delta = self.lines[first].width - segment[head].width
        tail_delta = self.lines[last].width - segment[tail].width
        agreement = (head_delta == tail_delta) + (delta is None or head_delta == delta)
        wanted = Counter(line.key for line in segment)
        present = Counter(line.key for line in self.lines[first : last + 1])
        matched = sum((wanted & present).values())
        rank = (agreement, 2 * matched - (last - first + 1))
        return Span(first, last, head, tail, matched, rank, head_delta)


def _block_shape(segment: Sequence[Line]) -> tuple[frozenset[str], bool] | None:
    """(the header lines, whether a closing line ends it) when `segment` is whole blocks:
    runs of at most `MAX_HEADERS` lines at the first line's indentation (a signature and its
    decorators), each followed by deeper lines, with only closing lines (`}`, `)`, `end`)
    back at that indentation and nothing shallower; else None."""
    base = segment[0].width
    headers: set[str] = set()
    run = 0
    for line in segment:
        if line.width < base:
            return None
        if line.width > base:
            if run > MAX_HEADERS:
                return None
            run = 0
        elif not _CLOSER.match(line.key):
            headers.add(line.key)
            run += 1
    if run or not any(line.width > base for line in segment):
        return None  # ends with a statement, not a block
    return frozenset(headers), segment[-1].width == base
