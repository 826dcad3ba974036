"""Text documents with exact LSP positions in every encoding, and the conversions behind them.

Only `\\n`, `\\r\\n` and `\\r` end a line, unlike `str.splitlines` (form feed, U+2028, ...).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from itertools import accumulate

from lsprotocol import types

Encoding = types.PositionEncodingKind
_TERMINATOR = re.compile(r"\r\n|\r|\n")
_CHUNK = 4096
_STARTS_STEP = 512
"""Line starts computed at a time when looking up an offset needs more of them."""


def as_encoding(value: str) -> Encoding:
    """`value` ("utf-8", "utf-16", "utf-32" or a `PositionEncodingKind`) as the enum."""
    try:
        return Encoding(value)
    except ValueError:
        expected = ", ".join(kind.value for kind in Encoding)
        raise ValueError(
            f"unknown position encoding {value!r}; expected one of {expected}"
        ) from None


def split_lines(text: str) -> list[str]:
    """Lines of `text` with their terminators; the last one has none and may be empty."""
    ends = [match.end() for match in _TERMINATOR.finditer(text)]
    return [text[begin:end] for begin, end in zip([0, *ends], [*ends, len(text)], strict=True)]


def content_length(line: str) -> int:
    """Length of a line from `split_lines` without its terminator."""
    if line.endswith("\r\n"):
        return len(line) - 2
    return len(line) - 1 if line.endswith(("\r", "\n")) else len(line)


def column_of(segment: str, units: int, encoding: Encoding) -> int:
    """Code points of `segment` (a line or its beginning) spanned by `units` code units.

    Clamped to `segment`; a unit count that ends inside a character (the middle of a
    surrogate pair or of a UTF-8 sequence) snaps back to the start of that character.
    """
    prefix = segment[: max(units, 0)]  # never more code points than code units
    if encoding == Encoding.Utf32 or prefix.isascii():
        return len(prefix)
    if encoding == Encoding.Utf16:
        data = prefix.encode("utf-16-le", "surrogatepass")
        cut = 2 * units
        if cut >= len(data):
            return len(prefix)
        if _is_low_surrogate(data, cut) and _is_high_surrogate(data, cut - 2):
            cut -= 2
        return len(data[:cut].decode("utf-16-le", "surrogatepass"))
    data = prefix.encode("utf-8", "surrogatepass")
    cut = units
    if cut >= len(data):
        return len(prefix)
    while data[cut] & 0xC0 == 0x80:  # a continuation byte: back up to the lead byte
        cut -= 1
    return len(data[:cut].decode("utf-8", "surrogatepass"))


def units_of(prefix: str, encoding: Encoding) -> int:
    """Length of `prefix` in code units of `encoding`."""
    if encoding == Encoding.Utf32 or prefix.isascii():
        return len(prefix)
    if encoding == Encoding.Utf16:
        return len(prefix.encode("utf-16-le", "surrogatepass")) // 2
    return len(prefix.encode("utf-8", "surrogatepass"))


def common_affixes(old: str, new: str) -> tuple[int, int]:
    """Lengths of the longest common prefix and then suffix of `old` and `new`, not overlapping."""
    limit = min(len(old), len(new))
    prefix = _agreement(lambda i, j: old[i:j] == new[i:j], limit)
    n_old, n_new = len(old), len(new)
    suffix = _agreement(
        lambda i, j: old[n_old - j : n_old - i] == new[n_new - j : n_new - i], limit - prefix
    )
    return prefix, suffix


def _agreement(same: Callable[[int, int], bool], limit: int) -> int:
    """Largest `n <= limit` with `same(0, n)`: chunked comparisons, then a binary search."""
    done = 0
    while done < limit:
        step = min(_CHUNK, limit - done)
        if not same(done, done + step):
            low, high = 0, step - 1  # the agreeing length within this chunk lies in [low, high]
            while low < high:
                middle = (low + high + 1) // 2
                if same(done, done + middle):
                    low = middle
                else:
                    high = middle - 1
            return done + low
        done += step
    return limit


def _is_high_surrogate(data: bytes, at: int) -> bool:
    return at >= 0 and 0xD8 <= data[at + 1] <= 0xDB


def _is_low_surrogate(data: bytes, at: int) -> bool:
    return 0xDC <= data[at + 1] <= 0xDF


@dataclass(frozen=True, slots=True)
class Replacement:
    """What a change did, trimmed to the span that differs.

    At code point `start` of the text before the change (on `start_line` of the text after
    it), `old_text` became `new_text`.
    """

    start: int
    start_line: int
    old_text: str
    new_text: str


class Document:
    """An open text document: its URI, language, version and text, with LSP positions.

    Positions use `encoding`. Out-of-range positions clamp as the LSP says: a character past
    the end of a line means the end of that line (before its terminator), a line past the
    end means the end of the document. A character inside a surrogate pair (UTF-16) or a
    UTF-8 sequence snaps to the start of that character.

    Lines are kept as a list, so an edit costs about the length of the lines it touches;
    line start offsets are recomputed lazily from the first edited line, and `text` is
    joined on first read after a change. Change it from one thread only (the event loop);
    give other threads a `DocumentSnapshot`.
    """

    def __init__(
        self,
        uri: str,
        language_id: str,
        version: int,
        text: str,
        *,
        encoding: str = Encoding.Utf16,
    ) -> None:
        self.uri = uri
        self.language_id = language_id
        self.version = version
        self.encoding = as_encoding(encoding)
        self._lines = split_lines(text)
        self._starts = [0] * len(self._lines)  # offsets of line starts, known up to `_valid`
        self._valid = 0
        self._text: str | None = text

    @property
    def text(self) -> str:
        """The whole text."""
        if self._text is None:
            self._text = "".join(self._lines)
        return self._text

    @property
    def line_count(self) -> int:
        """Number of lines; a text ending in a terminator has an empty last line."""
        return len(self._lines)

    def line_text(self, line: int) -> str:
        """Text of `line` without its terminator; empty for a line outside the document."""
        if not 0 <= line < len(self._lines):
            return ""
        text = self._lines[line]
        return text[: content_length(text)]

    def offset_at(self, position: types.Position) -> int:
        """Code-point offset into `text` of `position`, clamped as described on the class."""
        line, column = self._locate(position)
        return self._start(line) + column

    def position_at(self, offset: int) -> types.Position:
        """Position of a code-point offset (clamped to the text; inside a `\\r\\n`, the line end)."""
        offset = max(offset, 0)
        line = self._line_of(offset)
        text = self._lines[line]
        column = min(offset - self._starts[line], content_length(text))
        return types.Position(line, units_of(text[:column], self.encoding))

    def range_to_offsets(self, range_: types.Range) -> tuple[int, int]:
        """Code-point offsets of a range's ends, in order even if the range is reversed."""
        start, end = self.offset_at(range_.start), self.offset_at(range_.end)
        return (start, end) if start <= end else (end, start)

    def prefix_suffix(self, position: types.Position) -> tuple[str, str]:
        """Text before and after `position`."""
        offset = self.offset_at(position)
        text = self.text
        return text[:offset], text[offset:]

    def apply_change(self, change: types.TextDocumentContentChangeEvent) -> Replacement:
        """Apply one `didChange` content change (a reversed range is put in order).

        A whole-document change is reduced to the span that differs, so it costs no more
        line bookkeeping than the equivalent incremental change.
        """
        if isinstance(change, types.TextDocumentContentChangePartial):
            first, last = sorted((self._locate(change.range.start), self._locate(change.range.end)))
            start = self._start(first[0]) + first[1]
            old = self._between(*first, *last)
            self._splice(*first, *last, change.text)
            prefix, suffix = common_affixes(old, change.text)
            start += prefix
            old, new = (
                old[prefix : len(old) - suffix],
                change.text[prefix : len(change.text) - suffix],
            )
        else:
            text = self.text
            start, suffix = common_affixes(text, change.text)
            old, new = (
                text[start : len(text) - suffix],
                change.text[start : len(change.text) - suffix],
            )
            first_line, last_line = self._line_of(start), self._line_of(start + len(old))
            self._splice(
                first_line,
                start - self._starts[first_line],
                last_line,
                start + len(old) - self._starts[last_line],
                new,
            )
            self._text = change.text
        return Replacement(start, self._line_of(start), old, new)

    def _locate(self, position: types.Position) -> tuple[int, int]:
        """Line and code-point column of `position`, clamped into the document."""
        if position.line >= len(self._lines):
            line = len(self._lines) - 1
            return line, len(self._lines[line])
        text = self._lines[position.line]
        segment = text[: min(content_length(text), position.character)]
        return position.line, column_of(segment, position.character, self.encoding)

    def _start(self, line: int) -> int:
        """Offset where `line` begins, computing the unknown starts up to it."""
        if line > self._valid:
            valid = self._valid
            lengths = map(len, self._lines[valid:line])
            self._starts[valid : line + 1] = accumulate(lengths, initial=self._starts[valid])
            self._valid = line
        return self._starts[line]

    def _line_of(self, offset: int) -> int:
        """Line holding `offset`; a line's end and terminator belong to it."""
        last = len(self._lines) - 1
        while self._valid < last and self._start(self._valid + 1) <= offset:
            self._start(min(self._valid + _STARTS_STEP, last))
        return bisect_right(self._starts, offset, 0, self._valid + 1) - 1

    def _between(self, first: int, start: int, last: int, end: int) -> str:
        """Text from column `start` of line `first` to column `end` of line `last`."""
        if first == last:
            return self._lines[first][start:end]
        middle = "".join(self._lines[first + 1 : last])
        return self._lines[first][start:] + middle + self._lines[last][:end]

    def _splice(self, first: int, start: int, last: int, end: int, new: str) -> None:
        """Replace from column `start` of line `first` to column `end` of line `last`.

        Columns count code points and may point into a terminator; only the touched lines
        are split again.
        """
        lines = self._lines
        joined = lines[first][:start] + new + lines[last][end:]
        if first > 0 and joined.startswith("\n") and lines[first - 1].endswith("\r"):
            first -= 1  # a lone `\r` and this `\n` now make one `\r\n`
            joined = lines[first] + joined
        pieces = split_lines(joined)
        if last + 1 < len(lines):
            pieces.pop()  # `joined` ends with the terminator of `last`: nothing follows it
        lines[first : last + 1] = pieces
        self._starts[first + 1 : last + 1] = [0] * (len(pieces) - 1)
        self._valid = min(self._valid, first)
        self._text = None
